#!/usr/bin/env python3
"""Fuzz the `--state` loader: generated state files, each a valid world changed in a few places
(a node replaced by a value of another type, a lone surrogate, NaN, a number past the float
range, nesting deeper than the parser's stack, a key removed, an id repeated or equal to another
environment's key) and sometimes damaged as bytes (not UTF-8, cut short, a byte changed).

    .venv/bin/python scripts/fuzz_statefile.py                   # 100,000 files, seed 0
    .venv/bin/python scripts/fuzz_statefile.py --files 5000 --seed 3

Every file must either load or be refused with a StateError (what `serve --state` prints before
it exits 2). What it reports: files, loaded, refused, tracebacks (any other exception), files
slower than 1 s, and worlds that loaded but could not be served: an answer that cannot be
encoded, an environment or a flag its id does not reach, a banner line a terminal cannot print.
Exit status 1 when any of those is not 0.
"""

from __future__ import annotations

import argparse
import collections
import copy
import json
import random
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from togul_monitor.emulator.harness import make_world  # noqa: E402
from togul_monitor.emulator.outbox import Outbox  # noqa: E402
from togul_monitor.emulator.statefile import StateError, dump_state, load_world  # noqa: E402
from togul_monitor.emulator.world import World  # noqa: E402

SLOW = 1.0


def base_documents() -> list[dict[str, Any]]:
    """Valid worlds to start from: small ones, so a file loads in about a millisecond."""
    full = dump_state(make_world(seed=1))
    small = copy.deepcopy(full)
    small["flags"] = [f for f in full["flags"] if f["key"] in ("checkout-v2", "welcome-message",
                                                              "pricing-config", "dark-mode")]  # fmt: skip
    bare = {
        "environments": [{"key": "production"}, {"key": "staging", "id": "stg"}],
        "api_keys": [{"environment": "production", "scope": "sdk"}],
        "flags": [{"environment": "staging", "key": "f", "rules": [
            {"rule_type": "boolean", "return_value": True}]}],
    }  # fmt: skip
    return [small, bare]


class Mutator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.bases = base_documents()

    def text(self) -> str:
        rng = self.rng
        return rng.choice(
            ["", "x", "production", "staging", "stg", "\ud800", "a\udfffb", "\x1b[2J\x07",
             "tgl_sdk_same", "line\nbreak", "\u202eevil", "é" * rng.randint(1, 5)]
        )  # fmt: skip

    def value(self, depth: int = 0) -> Any:
        rng = self.rng
        roll = rng.random()
        if roll < 0.05:
            deep: Any = 1
            for _ in range(rng.choice([63, 65, 400, 990, 2000])):
                deep = [deep] if rng.random() < 0.5 else {"d": deep}
            return deep
        if depth > 2 or roll < 0.65:
            return rng.choice(
                [None, True, False, 0, -1, 7, 10**40, 0.5, float("nan"), float("inf"),
                 float("-inf"), self.text(), self.text()]
            )  # fmt: skip
        if roll < 0.8:
            return [self.value(depth + 1) for _ in range(rng.randint(0, 3))]
        return {self.text(): self.value(depth + 1) for _ in range(rng.randint(0, 2))}

    @staticmethod
    def nodes(doc: Any) -> list[tuple[Any, ...]]:
        """Paths to the nodes of `doc`, down to depth 8 (a generated deep value is one node)."""
        found: list[tuple[Any, ...]] = []
        stack: list[tuple[Any, tuple[Any, ...]]] = [(doc, ())]
        while stack:
            node, path = stack.pop()
            found.append(path)
            if len(path) >= 8:
                continue
            if isinstance(node, dict):
                stack.extend((item, (*path, key)) for key, item in node.items())
            elif isinstance(node, list):
                stack.extend((item, (*path, i)) for i, item in enumerate(node))
        return found

    @staticmethod
    def get(doc: Any, path: tuple[Any, ...]) -> Any:
        for step in path:
            doc = doc[step]
        return doc

    def mutate(self, doc: Any) -> Any:
        rng = self.rng
        paths = self.nodes(doc)
        path = rng.choice(paths)
        roll = rng.random()
        if not path:
            return self.value() if roll < 0.1 else doc
        parent = self.get(doc, path[:-1])
        last = path[-1]
        if roll < 0.55:
            parent[last] = self.value()
        elif roll < 0.7 and isinstance(parent, dict):
            del parent[last]
        elif roll < 0.8 and isinstance(parent, dict):
            parent[self.text() or "extra"] = self.value()
        elif roll < 0.9:
            # Repeat a string found elsewhere: duplicate ids, an id that is another's key.
            strings = [p for p in paths if p and isinstance(self.get(doc, p), str)]
            if strings:
                parent[last] = self.get(doc, rng.choice(strings))
        elif isinstance(parent, list):
            parent.append(parent[last])  # shared, not copied: it may be nested very deep
        return doc

    def file(self) -> bytes:
        rng = self.rng
        doc: Any = copy.deepcopy(rng.choice(self.bases))
        for _ in range(rng.choice([0, 1, 1, 1, 2, 3, 5])):
            doc = self.mutate(doc)
        try:
            raw = json.dumps(doc).encode()  # lone surrogates are written as \\ud800 escapes
        except RecursionError:  # deeper than the encoder goes: write the nesting by hand
            raw = b'{"environments": [{"key": "p"}], "x": ' + b"[" * 2000 + b"]" * 2000 + b"}"
        roll = rng.random()
        if roll < 0.03:
            raw = raw[: rng.randrange(len(raw) + 1)]
        elif roll < 0.06:
            at = rng.randrange(len(raw) + 1)
            raw = raw[:at] + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"]) + raw[at:]
        elif roll < 0.08:
            at = rng.randrange(len(raw))
            raw = raw[:at] + bytes([rng.randrange(256)]) + raw[at + 1 :]
        elif roll < 0.09:
            raw = b"\xef\xbb\xbf" + raw
        elif roll < 0.1:
            raw = b"[" * rng.choice([900, 5000, 200_000])
        return raw


def unservable(world: World) -> str | None:
    """Why a loaded world would fail its answers or its banner, or None."""
    try:
        for flag in world.list_flags():
            answer = {"flag": flag.to_api(), "rules": [r.to_api() for r in flag.rules]}
            json.dumps(answer, ensure_ascii=False, allow_nan=False).encode("utf-8")
        for env in world.environments.values():
            if world.environment_of(env.id) is not env:
                return f"environment {env.key!r} is not reached by its id"
            if world.environment_of(env.key) is not env:
                return f"environment {env.key!r} is not reached by its key"
        for flag in world.list_flags():
            if world.get_flag_by_id(flag.id).key != flag.key:
                return f"flag {flag.key!r} is not reached by its id"
        creds = world.credentials
        banner = [creds.project_id, creds.username, creds.password, creds.org_token]
        banner += [*creds.environment_ids, *creds.environment_ids.values()]
        banner += [s for scopes in creds.keys.values() for s in scopes.values()]
        "\n".join(banner).encode("utf-8")
        json.dumps(dump_state(world), allow_nan=False).encode("utf-8")
    except Exception as exc:  # noqa: BLE001 - the point is to report any of them
        return repr(exc)
    return None


def run(files: int, seed: int, progress: bool = True) -> dict[str, Any]:
    stats: dict[str, Any] = collections.Counter()
    examples: list[str] = []
    mutator = Mutator(seed)
    slowest = 0.0
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "world.json"
        started = time.monotonic()
        for i in range(files):
            raw = mutator.file()
            path.write_bytes(raw)
            t0 = time.monotonic()
            try:
                world = load_world(path, outbox=Outbox(replay=10), seed=seed)
            except StateError:
                stats["refused"] += 1
            except BaseException as exc:  # noqa: BLE001
                if isinstance(exc, KeyboardInterrupt):
                    raise
                stats["tracebacks"] += 1
                if len(examples) < 10:
                    examples.append(f"{raw[:160]!r}\n{traceback.format_exc(limit=3)}")
            else:
                stats["loaded"] += 1
                problem = unservable(world)
                if problem is not None:
                    stats["loaded but unservable"] += 1
                    if len(examples) < 10:
                        examples.append(f"{raw[:160]!r}: {problem}")
            elapsed = time.monotonic() - t0
            slowest = max(slowest, elapsed)
            stats["files"] += 1
            if elapsed > SLOW:
                stats["over 1 s"] += 1
            if progress and (i + 1) % 10_000 == 0:
                rate = (i + 1) / (time.monotonic() - started)
                print(f"  {i + 1} files ({rate:.0f}/s)", file=sys.stderr)
    stats["slowest ms"] = round(slowest * 1000, 1)
    stats["examples"] = examples
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    stats = run(args.files, args.seed)
    examples = stats.pop("examples")
    for name in ("tracebacks", "over 1 s", "loaded but unservable"):
        stats.setdefault(name, 0)  # printed even when nothing went wrong
    for name in sorted(stats):
        print(f"{name:>22}: {stats[name]}")
    for example in examples:
        print("  e.g.", example)
    bad = stats["tracebacks"] + stats["over 1 s"] + stats["loaded but unservable"]
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
