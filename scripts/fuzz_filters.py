"""Fuzz the filter language: generated filter texts, parsed and matched against hostile keys.

    .venv/bin/python scripts/fuzz_filters.py [--inputs 100000] [--seed 0]

Each input is parsed (`parse_filter`); a filter that parses is matched against every key of a
pool: short ordinary keys and hostile ones of 400 characters (dashes, one letter, alternations,
a lone surrogate as JSON may carry). Inputs are grammar-aware (fields, globs, /regex/ pieces
that make backtracking engines explode, quotes, exclusions) mixed with random characters.

Reported: inputs, how many parsed, tracebacks (any exception other than FilterError: must be 0),
inputs that took over 1 s to parse and match (must be 0), and the slowest input. Exit status 0
when both are 0. Deterministic: the same seed gives the same inputs.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from togul_monitor.domain.events import FlagEvent  # noqa: E402
from togul_monitor.domain.filters import FilterError, parse_filter  # noqa: E402

SLOW = 1.0  # seconds for one input, parse and every match together

REGEX_PIECES = [
    "a",
    "b",
    "-",
    "v2",
    ".",
    ".*",
    ".+",
    "*",
    "+",
    "?",
    "*?",
    "|",
    "(",
    ")",
    "(?:",
    "(a|a)",
    "(a+)+",
    "(\\w+)+",
    "(.*)*",
    "[a-z]",
    "[^-]",
    "[",
    "]",
    "\\d",
    "\\w",
    "\\s",
    "\\b",
    "\\1",
    "{2}",
    "{2,}",
    "{1000}",
    "{0,999}",
    "^",
    "$",
    "(?i)",
    "(?=",
    "(?!",
    "(?<=",
    "(?<!",
    "(?>",
    "(?P<n>",
    "(?P=n)",
    "\\Z",
    "\\z",
    "\\/",
    "\\",
    "é",
    "\\pL",
    "\\p{Greek}",
    "\x00",
    "\ud800",
]
WORD_PIECES = [
    "type:",
    "flag:",
    "env:",
    "tpye:",
    "flag",
    "rule",
    "flag.updated",
    "rule.*",
    "*",
    "?",
    "[",
    "]",
    "[!a]",
    "checkout",
    "-",
    "!",
    '"',
    '\\"',
    "\\\\",
    " ",
    "\t",
    "prod",
    "3f2a",
    "é",
    "a",
    "x" * 50,
    "\ud800",
    ":",
    "/",
]


def hostile_keys(rng: random.Random) -> list[str]:
    keys = [
        "checkout-v2",
        "new-dashboard",
        "",
        "-" * 400,
        "a" * 400,
        "a-" * 200,
        "ab" * 200,
        "-" * 399 + "v",
        "k" * 399 + "\ud800",
        "é" * 400,
        "a\nb",
    ]
    alphabet = "ab-_.v2xé\ud800 /"
    for _ in range(5):
        keys.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 400))))
    return keys


def regex_input(rng: random.Random) -> str:
    body = "".join(rng.choice(REGEX_PIECES) for _ in range(rng.randint(1, 16)))
    prefix = rng.choice(["", "", "-", "!"])
    rest = rng.choice(["", "", " flag:a*", " -x", " type:flag"])
    return f"{prefix}/{body}/{rest}"


def word_input(rng: random.Random) -> str:
    return "".join(rng.choice(WORD_PIECES) for _ in range(rng.randint(1, 12)))


def random_input(rng: random.Random) -> str:
    alphabet = ' !-/"\\:*?[](){}+|.^$aAzé\ud800\x00\t'
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))


def generate(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.5:
        return regex_input(rng)
    if kind < 0.8:
        return word_input(rng)
    return random_input(rng)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    events = [
        FlagEvent("flag.updated", key, "3f2a9c1e-0000-4000-8000-000000000001", 1, 0.0, None, 0.0)
        for key in hostile_keys(rng)
    ]
    names = {"3f2a9c1e-0000-4000-8000-000000000001": "production"}
    parsed = refused = 0
    tracebacks: list[tuple[str, str]] = []
    slow: list[tuple[float, str]] = []
    slowest = (0.0, "")
    started = time.perf_counter()
    for _ in range(args.inputs):
        text = generate(rng)
        begun = time.perf_counter()
        try:
            flt = parse_filter(text)
            parsed += 1
            for event in events:
                flt.matches(event, names)
                flt.matches(event)
        except FilterError:
            refused += 1
        except Exception:
            tracebacks.append((text, traceback.format_exc()))
        took = time.perf_counter() - begun
        if took > SLOW:
            slow.append((took, text))
        slowest = max(slowest, (took, text))
    total = time.perf_counter() - started
    print(f"inputs            : {args.inputs:,} (seed {args.seed}), in {total:.1f} s")
    print(f"parsed            : {parsed:,}, each matched against {len(events)} keys (twice)")
    print(f"refused (FilterError): {refused:,}")
    print(f"tracebacks        : {len(tracebacks)}")
    print(f"inputs over {SLOW:g} s  : {len(slow)}")
    print(f"slowest input     : {slowest[0] * 1e3:.2f} ms  {slowest[1]!r}")
    for text, tb in tracebacks[:5]:
        print(f"--- {text!r}\n{tb}")
    for took, text in slow[:5]:
        print(f"--- {took:.2f} s: {text!r}")
    return 0 if not tracebacks and not slow else 1


if __name__ == "__main__":
    sys.exit(main())
