"""Fuzz the profiles.toml loader: generated files through decoding, parsing and validation.

Every input must either load or raise a ConfigError that names the file (exit 2 in every
command); anything else (a traceback) is a failure, and so is an input that takes over a second.
Three kinds of input, in turn: documents built from profile-shaped parts (every known key, and
unknown ones, with values of every TOML type, nested up to thousands deep), valid documents with
random edits, and random bytes.

    .venv/bin/python scripts/fuzz_profiles.py                # 100,000 inputs, seed 0
    .venv/bin/python scripts/fuzz_profiles.py --count 5000 --seed 7

Prints the counts; exits 1 if any input raised something else or was slow.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from togul_monitor.config.errors import ConfigError
from togul_monitor.config.keymap import BINDING_IDS
from togul_monitor.config.profiles import parse_document
from togul_monitor.config.tomlread import decode_text
from togul_monitor.config.validate import PROFILE_KEYS

SLOW_SECONDS = 1.0
PATH = Path("/fuzz/profiles.toml")

VALID = """\
# my profiles
default_profile = "prod"

[profiles.prod]
base_url = "https://api.togul.io"
environment_key = "production"
api_key_env = "TOGUL_PROD_KEY"
context = { user_id = "monitor", plan = "premium" }
watch = ["checkout-v2", "new-dashboard"]
heartbeat_seconds = 15

[profiles.local]
base_url = "http://127.0.0.1:8080"
environment_key = "staging"
token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
refresh_token = "tgl_rt_abcdef"
allow_insecure = true

[keymap]
filter = "ctrl+f"
"""

SYNTAX = "[]{}=\"'.,#\n\\ \t-_:+0123456789eE\r"
KEYS = [*PROFILE_KEYS, "base_url2", "api key", "", "context.plan", "ünïcode", "a.b", '"q"']
TOP_KEYS = ["default_profile", "profiles", "keymap", "extra", "profiles.x", ""]
URLS = [
    "https://api.togul.io",
    "http://127.0.0.1:8080",
    "http://[::1]:9/",
    "http://[::1",
    "https://user:pw@host/",
    "ftp://x",
    "http://",
    "https://h:99999/",
    "https://h:-1/",
    "https://\u0000/",
    "javascript:alert(1)",
    "https://[fe80::1%eth0]/",
    "https://ex ample.com",
    "",
]


def _string(rng: random.Random) -> str:
    choice = rng.random()
    if choice < 0.2:
        return rng.choice(URLS)
    if choice < 0.3:
        return rng.choice(["tgl_sdk_" + "a" * rng.randrange(40), "TOGUL_KEY", "1BAD", ""])
    alphabet = "abcXYZ09_-./:@ \t\\\"'\u00e9\u2028\u200b\x7f\x01\U0001f600"
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(30)))


def _quote(text: str, rng: random.Random) -> str:
    if rng.random() < 0.7:
        escaped = text.replace("\\", "\\\\").replace('"', '\\"')
        escaped = "".join(
            c if c.isprintable() or c == "\t" else f"\\u{ord(c):04x}" for c in escaped
        )
        if any(ord(c) > 0xFFFF for c in escaped):
            escaped = "".join(c if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}" for c in escaped)
        return f'"{escaped}"'
    if "'" not in text and "\n" not in text:
        return f"'{text}'"
    return '"""' + text.replace("\\", "\\\\").replace('"""', '\\"""') + '"""'


def _value(rng: random.Random, depth: int = 0) -> str:
    kind = rng.randrange(12)
    if kind == 0 and depth == 0:
        levels = rng.choice([2, 50, 300, 495, 497, 520, 1000, 3000])
        opener, closer = rng.choice([("[", "]"), ("{a=", "}")])
        inner = "1" if opener.startswith("{") else ""
        return opener * levels + inner + closer * levels
    if kind == 1:
        return rng.choice(
            [
                "1",
                "-0",
                "+17",
                "0x1f",
                "0o17",
                "0b1",
                "1_000",
                "9" * 5000,
                "0x" + "f" * 4400,
                "1" * 4299,
                "99999999999999999999",
            ]
        )
    if kind == 2:
        return rng.choice(["1.5", "inf", "-inf", "nan", "1e999", "5e-324", "0.0", "-0.0"])
    if kind == 3:
        return rng.choice(["true", "false"])
    if kind == 4:
        return rng.choice(
            ["1979-05-27T07:32:00Z", "1979-05-27", "07:32:00", "9999-12-31T23:59:59+23:59"]
        )
    if kind in (5, 6) and depth < 4:
        items = ", ".join(_value(rng, depth + 1) for _ in range(rng.randrange(4)))
        return f"[{items}]"
    if kind == 7 and depth < 4:
        pairs = ", ".join(
            f"{_key(rng)} = {_value(rng, depth + 1)}" for _ in range(rng.randrange(4))
        )
        return "{" + pairs + "}"
    return _quote(_string(rng), rng)


def _key(rng: random.Random) -> str:
    key = rng.choice(KEYS)
    if key and all(c.isalnum() or c in "_-" for c in key) and key.isascii():
        return key
    return _quote(key, rng)


def _structured(rng: random.Random) -> str:
    lines: list[str] = []
    if rng.random() < 0.5:
        lines.append(f"default_profile = {_quote(rng.choice(['prod', 'x', 'demo', '']), rng)}")
    if rng.random() < 0.1:
        lines.append(f"{_key(rng)} = {_value(rng)}")
    if rng.random() < 0.05:
        lines.append(".".join(["a"] * rng.choice([10, 199, 201, 3000, 40_000])) + " = 1")
    for _ in range(rng.randrange(4)):
        name = rng.choice(["prod", "demo-production", "a b", "", ".x", "ü", "x" * 80])
        header = f"profiles.{_quote(name, rng) if not name.isalnum() else name}"
        if rng.random() < 0.05:
            header = ".".join(["p"] * rng.choice([2, 150, 400, 2000, 40_000]))
        lines.append(f"[[{header}]]" if rng.random() < 0.05 else f"[{header}]")
        keys = rng.sample(list(PROFILE_KEYS), rng.randrange(len(PROFILE_KEYS)))
        for key in keys:
            if key == "base_url" and rng.random() < 0.8:
                lines.append(f"base_url = {_quote(rng.choice(URLS), rng)}")
            elif key == "environment_key" and rng.random() < 0.8:
                lines.append(
                    f"environment_key = {_quote(rng.choice(['production', ' ', '']), rng)}"
                )
            else:
                lines.append(f"{key} = {_value(rng)}")
        if rng.random() < 0.2:
            lines.append(f"{_key(rng)} = {_value(rng)}")
    if rng.random() < 0.3:
        lines.append("[keymap]")
        for _ in range(rng.randrange(4)):
            binding = rng.choice([*BINDING_IDS, "nope", ""])
            keys = rng.choice(["ctrl+f", "q", "", "ctrl+", "f1,f1", "ü", "shift+ctrl+alt+x"])
            lines.append(f"{_quote(binding, rng)} = {_quote(keys, rng)}")
    newline = "\r\n" if rng.random() < 0.1 else "\n"
    return newline.join(lines) + newline


def _mutated(rng: random.Random) -> str:
    text = VALID
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(len(text) + 1)
        edit = rng.randrange(5)
        if edit == 0:
            text = text[:at] + rng.choice(SYNTAX) + text[at:]
        elif edit == 1:
            text = text[:at] + text[at + rng.randint(1, 20) :]
        elif edit == 2:
            span = text[at : at + rng.randint(1, 40)]
            text = text[:at] + span * rng.randint(2, 50) + text[at:]
        elif edit == 3:
            text = text[:at] + rng.choice(["[", "{a=", '"""', "'''", "\\"]) * 600 + text[at:]
        else:
            lines = text.split("\n")
            rng.shuffle(lines)
            text = "\n".join(lines)
    return text


def _noise(rng: random.Random) -> bytes:
    size = rng.randrange(200)
    if rng.random() < 0.5:
        return bytes(rng.randrange(256) for _ in range(size))
    prefix = b"\xef\xbb\xbf" if rng.random() < 0.2 else b""
    return prefix + "".join(rng.choice(SYNTAX + "abc") for _ in range(size)).encode()


def generate(rng: random.Random, n: int) -> bytes:
    kind = n % 10
    if kind < 5:
        return _structured(rng).encode("utf-8", "surrogatepass")
    if kind < 9:
        return _mutated(rng).encode("utf-8")
    return _noise(rng)


def load(raw: bytes) -> None:
    parse_document(decode_text(raw, PATH), PATH)


def run(count: int, seed: int, check: Callable[[bytes], None] = load) -> int:
    rng = random.Random(seed)
    loaded = config_errors = unnamed = 0
    failures: list[tuple[int, str]] = []
    slow: list[tuple[int, float]] = []
    worst = 0.0
    started = time.perf_counter()
    for n in range(count):
        raw = generate(rng, n)
        t0 = time.perf_counter()
        try:
            check(raw)
            loaded += 1
        except ConfigError as exc:
            config_errors += 1
            if str(PATH) not in str(exc):
                unnamed += 1
                failures.append((n, f"ConfigError without the file: {exc}"))
        except Exception:  # noqa: BLE001 - what the fuzzer is looking for
            failures.append((n, traceback.format_exc(limit=6)))
        took = time.perf_counter() - t0
        worst = max(worst, took)
        if took > SLOW_SECONDS:
            slow.append((n, took))
    elapsed = time.perf_counter() - started
    tracebacks = len(failures) - unnamed
    print(f"inputs:               {count} (seed {seed}, {elapsed:.1f} s)")
    print(f"loaded:               {loaded}")
    print(f"config errors:        {config_errors}")
    print(f"tracebacks:           {tracebacks}")
    print(f"errors without file:  {unnamed}")
    print(f"inputs over {SLOW_SECONDS:g} s:     {len(slow)} (slowest {worst * 1000:.1f} ms)")
    for n, text in failures[:5]:
        print(f"--- input #{n}:\n{text}")
    for n, took in slow[:5]:
        print(f"--- input #{n} took {took:.2f} s")
    return 1 if failures or slow else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sys.exit(run(args.count, args.seed))


if __name__ == "__main__":
    main()
