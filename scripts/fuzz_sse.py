"""Fuzz the stream's parsing: generated SSE byte streams through the decoder (`client/sse.py`)
and the item builder (validation, duplicates, gaps: `client/items.py`), as the client runs them.

Each input is built from a seeded generator: SSE fields and their misspellings, comments, every
line end, BOMs, invalid UTF-8, NULs, event payloads (valid, lenient, wrong types, huge numbers,
deep nesting, non-objects), lines and events past small caps; then cut into random chunks and
fed to a decoder with random caps. Reported: inputs, tracebacks (target 0), inputs that took
over 1 s (target 0), caps broken (the decoder holding more than its caps between chunks; 0) and
what came out (events, malformed, oversized, comments).

    .venv/bin/python scripts/fuzz_sse.py [--inputs 100000] [--seed 0]

Exits 1 when a target is missed; the first few failing inputs are printed (repr, shortened).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from togul_monitor.client.items import ItemBuilder  # noqa: E402
from togul_monitor.client.sse import Oversized, SSEDecoder  # noqa: E402
from togul_monitor.domain.events import FlagEvent, Malformed, StreamCounters  # noqa: E402

SLOW = 1.0
ENDS = [b"\n", b"\r\n", b"\r", b"\n\n", b"\r\n\r\n", b"\r\r", b"\n\r"]
NAMES = [b"data", b"id", b"event", b"retry", b"Data", b"dat", b"data ", b"\xef\xbb\xbfdata", b""]
TYPES = [
    "flag.updated",
    "flag.created",
    "flag.deleted",
    "rule.created",
    "rule.updated",
    "rule.deleted",
    "",
    "x" * 300,
    "\u2028",
    None,
    7,
]
ODD = [
    None,
    True,
    -1,
    0,
    2**63,
    2**64,
    -(2**63) - 1,
    1e308,
    float("nan"),
    "7",
    "07",
    " 7",
    "1e3",
    "",
    [],
    {},
    "2024-01-01T00:00:00Z",
    "2024-13-01",
    1.7e12,
    -1e20,
    "\ud800",
]


def payload(rng: random.Random) -> str:
    """One event's data: mostly plausible, often wrong in one field, sometimes not JSON."""
    roll = rng.random()
    if roll < 0.4:
        return json.dumps(
            {
                "type": rng.choice(TYPES[:6]),
                "flag_key": rng.choice("abcd"),
                "environment_id": "e1",
                "version": rng.randrange(1, 9),
                "timestamp": 1_700_000_000 + rng.randrange(100),
            }
        )
    if roll < 0.5:
        return rng.choice(
            [
                "not json",
                "{",
                "[]",
                "null",
                "1",
                '"s"',
                "{}",
                '{"a":',
                "\x00",
                "[" * 3000,
                '{"flag_key": "a"' + " " * 5000 + "}",
            ]
        )
    event: dict[str, object] = {
        "type": rng.choice(TYPES),
        "flag_key": rng.choice(["a", "b", "", "k" * 500, "é", "\x1b[31m", 5]),
        "environment_id": rng.choice(["e1", "e2", "", None]),
        "version": rng.choice([rng.randrange(0, 50), rng.choice(ODD)]),
        "timestamp": rng.choice([1_700_000_000 + rng.randrange(1000), rng.choice(ODD)]),
    }
    for _ in range(rng.randrange(3)):
        key = rng.choice(list(event) + ["extra"])
        if rng.random() < 0.5:
            event.pop(key, None)
        else:
            event[key] = rng.choice(ODD)
    text = json.dumps(event, allow_nan=True, ensure_ascii=rng.random() < 0.5)
    if rng.random() < 0.05:
        text = text[: rng.randrange(len(text) + 1)]
    return text


def line(rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.45:
        return b"data: " + payload(rng).encode("utf-8", "surrogatepass")
    if roll < 0.6:
        return b"id: " + rng.choice(
            [
                str(rng.randrange(100)).encode(),
                b"",
                b"a\x00b",
                b"\xff",
                b"99999999999999999999999999999999",
                "é".encode(),
            ]
        )
    if roll < 0.68:
        return b"retry: " + rng.choice([b"1000", b"-1", b"", b"1_0", b"9" * 40, b"\xd9\xa1"])
    if roll < 0.76:
        return b":" + rng.choice([b" heartbeat", b"", b"\xff\xfe", b":" * 10])
    if roll < 0.84:
        name = rng.choice(NAMES)
        sep = rng.choice([b":", b": ", b"", b":  "])
        return name + sep + bytes(rng.randrange(256) for _ in range(rng.randrange(20)))
    if roll < 0.88:
        return b"event: " + rng.choice([b"message", b"", b"x" * 50, b"\xe2\x80\xa8"])
    if roll < 0.93:
        return b"x" * rng.choice([10, 100, 1000, 5000])  # a long line, past small caps
    return bytes(rng.randrange(256) for _ in range(rng.randrange(40)))


def stream(rng: random.Random) -> bytes:
    parts = [b"\xef\xbb\xbf"] if rng.random() < 0.1 else []
    for _ in range(rng.randrange(1, 30)):
        parts.append(line(rng))
        parts.append(rng.choice(ENDS))
    if rng.random() < 0.02:
        parts.append(b"data: " + b"y" * rng.choice([100_000, 300_000]))  # never ends
    return b"".join(parts)


def chunks(rng: random.Random, body: bytes) -> list[bytes]:
    if rng.random() < 0.2:
        return [body]
    if rng.random() < 0.05 and len(body) < 2000:
        return [body[i : i + 1] for i in range(len(body))]
    cuts = sorted(rng.randrange(len(body) + 1) for _ in range(rng.randrange(1, 8)))
    out, start = [], 0
    for cut in cuts:
        out.append(body[start:cut])
        start = cut
    out.append(body[start:])
    return out


def one(rng: random.Random, counters: StreamCounters, tally: dict[str, int]) -> None:
    body = stream(rng)
    max_line = rng.choice([16, 200, 4096, 1 << 20, 1 << 20])
    max_event = rng.choice([16, 200, 4096, 1 << 20, 1 << 20])
    decoder = SSEDecoder(rng.choice(["", "5"]), max_line=max_line, max_event=max_event)
    builder = ItemBuilder(counters)
    for index, piece in enumerate(chunks(rng, body)):
        parsed = decoder.feed(piece)
        tally["oversized"] += sum(isinstance(p, Oversized) for p in parsed)
        for item in builder.build(parsed, now=1_700_000_000.0 + index):
            if isinstance(item, FlagEvent):
                tally["events"] += 1
            elif isinstance(item, Malformed):
                tally["malformed"] += 1
            else:
                tally["other items"] += 1
        held_line = sum(map(len, decoder._partial))
        held_data = sum(map(len, decoder._data)) + len(decoder._data)
        if held_line > max_line or held_data > max_event:
            tally["caps broken"] += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    tally = dict.fromkeys(["events", "malformed", "oversized", "other items", "caps broken"], 0)
    failures: list[str] = []
    slow = 0
    slowest = 0.0
    started = time.perf_counter()
    for n in range(args.inputs):
        rng = random.Random(f"{args.seed}:{n}")  # each input reproducible on its own
        t0 = time.perf_counter()
        try:
            one(rng, StreamCounters(), tally)
        except Exception:
            failures.append(f"input {n}: {traceback.format_exc(limit=3)}")
        spent = time.perf_counter() - t0
        slowest = max(slowest, spent)
        if spent > SLOW:
            slow += 1
            failures.append(f"input {n}: took {spent:.2f} s")
    total = time.perf_counter() - started
    print(f"fuzz_sse: {args.inputs} inputs (seed {args.seed}) in {total:.1f} s")
    print(
        f"  tracebacks {sum('Traceback' in f for f in failures)} (target 0), "
        f"over {SLOW:g} s {slow} (target 0), slowest {slowest * 1000:.1f} ms, "
        f"caps broken {tally['caps broken']} (target 0)"
    )
    print("  out: " + ", ".join(f"{k} {v}" for k, v in tally.items() if k != "caps broken"))
    for failure in failures[:5]:
        print(failure[:2000])
    ok = not failures and tally["caps broken"] == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
