#!/usr/bin/env python3
"""Fuzz the emulator as a server: generated requests against every route of a real loopback
emulator (the stream, evaluate, login, the management API, the fault switches), most of them
almost right and wrong in one place: a field of the wrong type, a lone surrogate, NaN or
Infinity, a number past the float range, nesting deeper than the parser's stack, a body that is
not UTF-8 or is larger than the limit, a fault argument out of range.

    .venv/bin/python scripts/fuzz_emulator.py                    # 100,000 requests, seed 0
    .venv/bin/python scripts/fuzz_emulator.py --requests 5000 --seed 3

What it reports: requests sent, HTTP 500 answers (the fuzzer never asks a fault switch for a
500, so every one is a bug), requests slower than 1 s (hangs), transport errors, and whether the
emulator still answers a normal flag listing at the end. Exit status 1 when any of them is off.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from togul_monitor.emulator.harness import EmulatorHandle, running_emulator  # noqa: E402

SLOW = 1.0
FAULTS = (
    "cut-streams",
    "cut-after",
    "stall",
    "emit-malformed",
    "forget-replay",
    "fail-next",
    "fail-evaluate",
    "evaluate-quota",
    "revoke-key",
    "explode",
)
FIELDS = (
    "environment_id",
    "key",
    "name",
    "description",
    "enabled",
    "value_type",
    "default_value",
    "flag_id",
    "priority",
    "rule_type",
    "return_value",
    "attribute",
    "operator",
    "value_json",
    "rollout_percentage",
    "bucket_by",
    "is_active",
    "flag_key",
    "environment_key",
    "context",
    "username",
    "password",
    "refresh_token",
    "k",
    "n",
    "status",
    "retry_after",
    "seconds",
    "data",
    "secret",
    "clean",
    "mid_event",
)
_RAW = object()  # marks a body already encoded (bytes that json.dumps cannot make)


class Fuzzer:
    def __init__(self, emu: EmulatorHandle, seed: int) -> None:
        self.emu = emu
        self.rng = random.Random(seed)
        creds = emu.credentials
        self.token = creds.org_token
        self.project = creds.project_id
        self.env_ids = list(creds.environment_ids.values())
        self.env_keys = list(creds.environment_ids)
        self.keys = [secret for scopes in creds.keys.values() for secret in scopes.values()]
        self.flag_ids = [flag.id for flag in emu.world.list_flags()]
        self.rule_ids = [rule.id for flag in emu.world.list_flags() for rule in flag.rules]
        self.flag_keys = sorted({flag.key for flag in emu.world.list_flags()})
        self.wrong = 0.35
        self.created: collections.Counter[str] = collections.Counter()

    # -- values ----------------------------------------------------------------------------------
    def text(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.5:
            return rng.choice(["a", "flag", "new-dashboard", "x" * rng.randint(1, 40), "", " "])
        if roll < 0.6:
            return "\ud800" if rng.random() < 0.5 else "ok\udfff"
        if roll < 0.7:
            return "\x1b[31m" + chr(rng.randint(0, 0x1F)) + "\u202e\x00"
        if roll < 0.8:
            return rng.choice(self.flag_keys + self.env_keys + self.env_ids + self.keys)
        return "".join(chr(rng.randint(32, 0x2FFF)) for _ in range(rng.randint(1, 12)))

    def scalar(self) -> Any:
        rng = self.rng
        return rng.choice(
            [
                None,
                True,
                False,
                0,
                -1,
                rng.randint(-(10**6), 10**6),
                10**30,
                rng.random() * 200 - 50,
                self.text(),
                float("nan"),
                float("inf"),
            ]
        )

    def value(self, depth: int = 0) -> Any:
        rng = self.rng
        roll = rng.random()
        if depth > 3 or roll < 0.6:
            return self.scalar()
        if roll < 0.8:
            return [self.value(depth + 1) for _ in range(rng.randint(0, 3))]
        return {self.text(): self.value(depth + 1) for _ in range(rng.randint(0, 3))}

    def field(self, name: str) -> Any:
        """A plausible value for `name`, or (often) a wrong one."""
        rng = self.rng
        if rng.random() < self.wrong:
            return self.value()
        good: dict[str, Any] = {
            "environment_id": rng.choice(self.env_ids + self.env_keys),
            "key": f"fz-{rng.randint(0, 400)}",
            "name": "Fuzz",
            "description": rng.choice([None, "d", "\u00e9t\u00e9"]),
            "enabled": rng.random() < 0.5,
            "value_type": rng.choice(["boolean", "string", "number", "json"]),
            "default_value": rng.choice([True, "s", 3, {"a": [1]}]),
            "flag_id": rng.choice(self.flag_ids) if self.flag_ids else "none",
            "priority": rng.randint(-3, 10),
            "rule_type": rng.choice(["boolean", "attribute", "percentage"]),
            "return_value": rng.choice([True, "s", 3, {"a": 1}]),
            "attribute": rng.choice(["plan", "country", "user_id"]),
            "operator": rng.choice(["eq", "neq", "in", "not_in", "contains", "starts_with"]),
            "value_json": rng.choice(['"premium"', '["TR", "DE"]', "[" * 3000, "nope"]),
            "rollout_percentage": rng.randint(-5, 120),
            "bucket_by": rng.choice(["user_id", "account_id"]),
            "is_active": rng.random() < 0.8,
            "flag_key": rng.choice(self.flag_keys),
            "environment_key": rng.choice(self.env_keys),
            "context": {"user_id": f"u{rng.randint(0, 99)}", "plan": "premium"},
            "username": self.emu.credentials.username,
            "password": self.emu.credentials.password,
            "refresh_token": self.emu.credentials.org_refresh_token,
            "k": rng.choice([0, 1, 2, 10, 10**9, 10**30, -1]),
            "n": rng.choice([0, 1, 3, 10**12, -2]),
            "status": rng.choice([429, 503, 502, 404, 200, 0, 99, 1000, 600]),
            "retry_after": rng.choice([None, 0, 0.5, 2, 10**9, -1]),
            "seconds": rng.choice([0, 0.01, 0.05, 10**12, -1]),
            "data": rng.choice(["not json", "{oops", "line\nline", ""]),
            "secret": "tgl_sdk_not_a_real_key",
            "clean": rng.random() < 0.5,
            "mid_event": rng.random() < 0.5,
        }
        return good.get(name, self.value())

    def body(self, names: tuple[str, ...]) -> Any:
        """A body for a route taking `names`, usually an object with some of them."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.04:
            return _RAW, b"[" * rng.choice([500, 994, 5000, 100_000]) + b"]" * 3
        if roll < 0.06:
            return _RAW, rng.choice([b"\xff\xfe\xfa", b'{"key": "\xed\xa0\x80"}', b"", b"{"])
        if roll < 0.07:
            return _RAW, b'{"k": 1' + b"1" * 5000 + b"}"
        if roll < 0.075:
            return _RAW, b'{"data": "' + b"x" * 300_000 + b'"}'
        if roll < 0.1:
            return self.value()
        self.wrong = rng.choice([0.02, 0.1, 0.35])  # how many fields are wrong in this body
        body = {name: self.field(name) for name in names if rng.random() < 0.9}
        if rng.random() < 0.1:
            body[rng.choice(FIELDS)] = self.value()
        if rng.random() < 0.05:
            deep: Any = "bottom"
            for _ in range(rng.choice([63, 64, 200, 900])):
                deep = [deep]
            body[rng.choice(names)] = deep
        return body

    def segment(self) -> str:
        """Generated text as one URL path segment (percent-encoded: the URL must be valid)."""
        return quote(self.text(), safe="", errors="surrogatepass")

    def header(self) -> bytes:
        """Generated text a header can carry: no control characters, Latin-1 bytes."""
        text = "".join(c for c in self.text() if 0x20 <= ord(c) < 0x7F or 0xA0 <= ord(c) < 0x100)
        return (text.strip() or "x").encode("latin-1")

    # -- requests --------------------------------------------------------------------------------
    def request(self) -> tuple[str, str, dict[str, Any], bytes | None, bool]:
        """method, path, headers, body, is_stream"""
        rng = self.rng
        project = f"/api/v1/projects/{self.project if rng.random() < 0.95 else self.segment()}"
        bearer = {"Authorization": f"Bearer {self.token}"}
        if rng.random() < 0.05:
            bearer = rng.choice([{}, {"Authorization": "Bearer nope"}, {"Authorization": "x"}])
        key: dict[str, Any] = {
            "X-API-Key": rng.choice(self.keys) if rng.random() < 0.9 else self.header()
        }
        route = rng.randrange(16)
        flag_id = rng.choice(self.flag_ids) if self.flag_ids and rng.random() < 0.8 else "zz"
        rule_id = rng.choice(self.rule_ids) if self.rule_ids and rng.random() < 0.8 else "zz"
        if rng.random() < 0.05:
            flag_id, rule_id = self.segment() or "zz", self.segment() or "zz"
        body: Any = None
        method, path = "GET", "/healthz"
        headers: dict[str, Any] = {}
        if route == 0:
            path = rng.choice(["/healthz", "/readyz", "/nowhere", "/api/v1/stream/x"])
            method = rng.choice(["GET", "POST", "DELETE"])
        elif route == 1:
            method, path = "POST", "/api/v1/login"
            body = self.body(("username", "password"))
        elif route == 2:
            method, path = "POST", "/api/v1/refresh-token"
            body = self.body(("refresh_token",))
        elif route == 3:
            path, headers = "/api/v1/projects", bearer
        elif route == 4:
            path, headers = f"{project}/environments", bearer
        elif route == 5:
            env = rng.choice(self.env_ids + self.env_keys + ["", "nope", "%ED%A0%80"])
            path, headers = f"{project}/flags?environment_id={env}", bearer
        elif route == 6:
            path, headers = f"{project}/flags/{flag_id}", bearer
        elif route == 7:
            method, path, headers = "POST", f"{project}/flags", bearer
            body = self.body(("environment_id", "key", "name", "description", "enabled",
                              "value_type", "default_value"))  # fmt: skip
            typed = {"boolean": True, "string": "s", "number": 3.5, "json": {"a": [None]}}
            kind = body.get("value_type") if isinstance(body, dict) else None
            if isinstance(kind, str) and kind in typed and rng.random() < 0.8:
                body["default_value"] = typed[kind]  # most creates succeed
        elif route == 8:
            method, path, headers = "PATCH", f"{project}/flags/{flag_id}", bearer
            body = self.body(("name", "description", "enabled", "default_value"))
        elif route == 9:
            method, path, headers = "DELETE", f"{project}/flags/{flag_id}", bearer
            if rng.random() < 0.9:  # keep most flags: the other routes need them
                path = f"{project}/flags/zz"
        elif route == 10:
            method, path, headers = "POST", f"{project}/rules", bearer
            body = self.body(("flag_id", "priority", "rule_type", "return_value", "attribute",
                              "operator", "value_json", "rollout_percentage", "bucket_by",
                              "is_active"))  # fmt: skip
        elif route == 11:
            method, path, headers = "PATCH", f"{project}/rules/{rule_id}", bearer
            body = self.body(("priority", "return_value", "attribute", "operator", "value_json",
                              "rollout_percentage", "bucket_by", "is_active", "rule_type"))  # fmt: skip
        elif route == 12:
            method, path, headers = "DELETE", f"{project}/rules/{rule_id}", bearer
        elif route in (13, 14):
            method, path, headers = "POST", "/api/v1/evaluate", key
            body = self.body(("flag_key", "environment_key", "context"))
        else:
            name = rng.choice(FAULTS)
            method, path, headers = "POST", f"/_emulator/faults/{name}", bearer
            body = self.body(("k", "n", "status", "retry_after", "seconds", "data", "secret",
                              "clean", "mid_event"))  # fmt: skip
            if rng.random() < 0.1:
                body = None
        if rng.random() < 0.08 and route not in (13, 14):
            stream_headers = dict(rng.choice([key, bearer]))
            if rng.random() < 0.3:
                stream_headers["Last-Event-ID"] = rng.choice(["1", "-5", "9" * 5000, "x"])
            method = "GET" if rng.random() < 0.9 else "POST"
            return method, "/api/v1/stream", stream_headers, None, True
        return method, path, headers, self.encode(body), False

    def encode(self, body: Any) -> bytes | None:
        if body is None:
            return None
        if isinstance(body, tuple) and body and body[0] is _RAW:
            raw: bytes = body[1]
            return raw
        text = json.dumps(body)  # NaN and Infinity come out as JSON's non-standard tokens
        return text.encode("utf-8", "surrogatepass")

    def remember(self, method: str, path: str, response: httpx.Response) -> None:
        """Keep ids of what was created, so later requests can act on it."""
        if method != "POST" or response.status_code != 200:
            return
        try:
            data = response.json()
        except ValueError:
            return
        if path.endswith("/flags") and isinstance(data.get("flag"), dict):
            self.flag_ids.append(data["flag"]["id"])
            self.created["flags"] += 1
        elif path.endswith("/rules") and isinstance(data.get("rule"), dict):
            self.rule_ids.append(data["rule"]["id"])
            self.created["rules"] += 1


def run(requests: int, seed: int, progress: bool = True) -> dict[str, Any]:
    stats: dict[str, Any] = collections.Counter()
    slowest = 0.0
    examples: list[str] = []
    with running_emulator(seed=0, heartbeat=0.5, ids=True, fault_routes=True) as emu:
        fuzzer = Fuzzer(emu, seed)
        started = time.monotonic()
        with httpx.Client(base_url=emu.base_url, timeout=5) as client:
            for i in range(requests):
                method, path, headers, body, is_stream = fuzzer.request()
                t0 = time.monotonic()
                try:
                    if is_stream:
                        with client.stream(method, path, headers=headers) as response:
                            status = response.status_code
                    else:
                        response = client.request(method, path, headers=headers, content=body)
                        status = response.status_code
                        fuzzer.remember(method, path, response)
                except httpx.HTTPError as exc:
                    stats["transport errors"] += 1
                    if len(examples) < 10:
                        examples.append(f"{method} {path}: {exc!r}")
                    continue
                elapsed = time.monotonic() - t0
                slowest = max(slowest, elapsed)
                stats["requests"] += 1
                stats[f"status {status}"] += 1
                if elapsed > SLOW:
                    stats["over 1 s"] += 1
                if status == 500:
                    stats["HTTP 500"] += 1
                    if len(examples) < 10:
                        examples.append(f"{method} {path} {body!r:.200}")
                if progress and (i + 1) % 10_000 == 0:
                    rate = (i + 1) / (time.monotonic() - started)
                    print(f"  {i + 1} requests ({rate:.0f}/s)", file=sys.stderr)
            headers = {"Authorization": f"Bearer {fuzzer.token}"}
            after = client.get(f"/api/v1/projects/{fuzzer.project}/flags", headers=headers)
            stats["listing after"] = after.status_code
            stats["flags after"] = len(after.json()["flags"]) if after.status_code == 200 else 0
        stats["flags created"] = fuzzer.created["flags"]
        stats["rules created"] = fuzzer.created["rules"]
    stats["slowest ms"] = round(slowest * 1000, 1)
    stats["examples"] = examples
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    stats = run(args.requests, args.seed)
    examples = stats.pop("examples")
    for name in ("HTTP 500", "over 1 s", "transport errors"):
        stats.setdefault(name, 0)  # printed even when nothing went wrong
    for name in sorted(stats):
        print(f"{name:>20}: {stats[name]}")
    for example in examples:
        print("  e.g.", example.encode("unicode_escape").decode()[:300])
    bad = stats.get("HTTP 500", 0) + stats.get("over 1 s", 0) + stats.get("transport errors", 0)
    return 0 if bad == 0 and stats["listing after"] == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
