"""Reading `profiles.toml` into data: every way the text can be unusable is a ConfigError that
names the file and, where it can be found, the line.

tomllib reports syntax errors with a position, but some inputs escape it:
- arrays or inline tables nested some hundreds deep exhaust Python's recursion limit
  (RecursionError; or crash the interpreter where a host raised that limit). Nesting deeper than
  `MAX_NESTING` is refused before parsing, and a RecursionError is caught all the same;
- an integer of more than 4300 digits exceeds Python's limit on converting text to int
  (ValueError);
- a key of thousands of dotted parts (`a.a.a…`, or such a table header) takes tomllib time
  quadratic in the parts: seconds for a 40 KB line. Such a line is refused before parsing too.
None is a program failure: all are files nobody can use, and for each the line is found here
by scanning the text outside strings and comments.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from togul_monitor.config.errors import ConfigError

__all__ = ["decode_text", "parse_toml"]

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_LONG_NUMBER = re.compile(r"[0-9A-Fa-f_]{1000,}")
_SPECIAL = re.compile(r"[\"'#\n]")
# Far beyond any profile (`profiles.NAME.contexts.CONTEXT.KEY`, the longest key, has five
# parts), far below slow.
MAX_DOTS_PER_LINE = 200
# Far beyond any profile (`contexts = { premium = { ... } }`, the deepest, is two levels), far
# below the recursion limit.
MAX_NESTING = 64
_TOO_DEEP = "arrays or inline tables are nested too deeply to read"
_TOO_DEEP_HINT = "a profile needs no nesting beyond `contexts = { NAME = { ... } }`"


def decode_text(raw: bytes, path: Path) -> str:
    """The file's text; a byte that is not UTF-8 is a ConfigError at its line."""
    try:
        # A byte-order mark is legal UTF-8 and editors on Windows add one; TOML parsers reject
        # it as an "invalid statement", so it is dropped here (and not written back).
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError("not valid UTF-8 text", file=path, line=line) from None


def parse_toml(text: str, path: Path) -> dict[str, Any]:
    """`text` as TOML data, or a ConfigError naming `path` and the line at fault."""
    crowded = _crowded_line(text)
    if crowded is not None:
        raise ConfigError(
            f"more than {MAX_DOTS_PER_LINE} dotted key parts on one line",
            file=path,
            line=crowded,
            hint="a profile's keys have at most five parts: profiles.NAME.contexts.CONTEXT.KEY",
        )
    if text.count("[") + text.count("{") > MAX_NESTING:  # else it cannot be that deep
        depth, line = _deepest(text)
        if depth > MAX_NESTING:
            raise ConfigError(_TOO_DEEP, file=path, line=line, hint=_TOO_DEEP_HINT)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(str(exc), text, path) from None
    except RecursionError:  # the stack was deep already: not even MAX_NESTING fitted
        line = _deepest(text)[1]
        raise ConfigError(_TOO_DEEP, file=path, line=line, hint=_TOO_DEEP_HINT) from None
    except ValueError as exc:  # a number Python refuses to convert (thousands of digits)
        line = _long_number_line(text)
        if line is None:
            raise ConfigError(f"unreadable value: {exc}", file=path) from None
        raise ConfigError("a number too long to read", file=path, line=line) from None


def _syntax_error(message: str, text: str, path: Path) -> ConfigError:
    line = None
    found = _TOML_POSITION.search(message)
    if found:
        line = int(found.group(1))
        message = f"{message[: found.start()]} (column {found.group(2)})"
    elif message.endswith("(at end of document)"):
        # An unclosed array or table runs to the end: name the last line that has content,
        # which is where the user stopped typing.
        line = text.rstrip().count("\n") + 1
    return ConfigError(f"TOML syntax error: {message}", file=path, line=line)


# --- finding the line: the text outside strings and comments ---------------------------------


def _code(text: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of each stretch of `text` that is neither a string nor a comment.

    Lenient where TOML is strict (the text is known to be unusable already): an unclosed string
    runs to the end of its line (or of the text, for a multi-line one): a count, not a parse."""
    line, i, n = 1, 0, len(text)
    start = 0
    while i < n:
        found = _SPECIAL.search(text, i)
        if found is None:
            break
        i = found.start()
        char = text[i]
        if i > start:
            yield line, text[start:i]
        if char == "\n":
            line += 1
            i += 1
        elif char == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
        else:
            end = _string_end(text, i)
            line += text.count("\n", i, end)
            i = end
        start = i
    if start < n:
        yield line, text[start:]


def _string_end(text: str, i: int) -> int:
    """The index just past the string that starts at `i`."""
    quote = text[i]
    escapes = quote == '"'
    if text.startswith(quote * 3, i):
        j = i + 3
        while True:
            end = text.find(quote * 3, j)
            if end < 0:
                return len(text)
            if escapes and _escaped(text, end, i + 3):
                j = end + 1
                continue
            # Up to two quotes right before the closing three are content: `"""a""""`.
            extra = 0
            while extra < 2 and text.startswith(quote, end + 3 + extra):
                extra += 1
            return end + 3 + extra
    j = i + 1
    n = len(text)
    while j < n:
        char = text[j]
        if char == "\n":
            return j
        if char == quote:
            return j + 1
        j += 2 if escapes and char == "\\" else 1
    return n


def _escaped(text: str, at: int, floor: int) -> bool:
    """The character at `at` follows an odd number of backslashes."""
    count = 0
    while at - count - 1 >= floor and text[at - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def _crowded_line(text: str) -> int | None:
    """The first line with more dots outside strings and comments than any key needs."""
    if text.count(".") <= MAX_DOTS_PER_LINE:
        return None  # the common case: no scan
    dots: dict[int, int] = {}
    for line, part in _code(text):
        dots[line] = dots.get(line, 0) + part.count(".")
        if dots[line] > MAX_DOTS_PER_LINE:
            return line
    return None


def _deepest(text: str) -> tuple[int, int | None]:
    """How deep arrays and inline tables (and table headers) nest, and the line where they
    first reach that depth."""
    depth = best = 0
    best_line: int | None = None
    for line, part in _code(text):
        for char in part:
            if char in "[{":
                depth += 1
                if depth > best:
                    best, best_line = depth, line
            elif char in "]}":
                depth = max(0, depth - 1)
    return best, best_line


def _long_number_line(text: str) -> int | None:
    """The line of the first run of digits too long to be any number a profile needs."""
    for line, part in _code(text):
        if _LONG_NUMBER.search(part):
            return line
    return None
