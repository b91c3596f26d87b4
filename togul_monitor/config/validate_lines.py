"""Where a key is in the text of `profiles.toml`: tomllib keeps no positions, so validation
(validate.py, validate_context.py) looks each table header and key up in the source text."""

from __future__ import annotations

import re

_HEADER_RE = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")
_KEY_RE = re.compile(r'^\s*("(?:[^"\\]|\\.)*"|\'[^\']*\'|[A-Za-z0-9_-]+)\s*[.=]')


def _unquote(part: str) -> str:
    part = part.strip()
    if len(part) >= 2 and part[0] == part[-1] and part[0] in "\"'":
        return part[1:-1]
    return part


def line_of(text: str | None, table: tuple[str, ...], key: str | None = None) -> int | None:
    """The 1-based line of `key` inside `[table]` (or of the table header when key is None)."""
    if not text:
        return None
    current: tuple[str, ...] = ()
    header_line: int | None = None
    # TOML ends lines at \n only: splitlines() would also split at \x0c or \u2028 in a string.
    for number, line in enumerate(text.split("\n"), start=1):
        header = _HEADER_RE.match(line)
        if header is not None:
            current = tuple(_unquote(p) for p in header.group(1).split("."))
            if current == table:
                header_line = number
                if key is None:
                    return number
            continue
        if key is not None and current == table:
            found = _KEY_RE.match(line)
            if found is not None and _unquote(found.group(1)) == key:
                return number
    return header_line


_PART_RE = re.compile(r'\s*("(?:[^"\\]|\\.)*"|\'[^\']*\'|[A-Za-z0-9_-]+)\s*(\.|=)')


def _key_parts(line: str) -> tuple[str, ...]:
    """The parts of the (dotted) key a `key = value` line starts with; () for any other line."""
    parts: list[str] = []
    at = 0
    while True:
        found = _PART_RE.match(line, at)
        if found is None:
            return ()
        parts.append(_unquote(found.group(1)))
        if found.group(2) == "=":
            return tuple(parts)
        at = found.end()


def _exact_line(text: str, table: tuple[str, ...], key: tuple[str, ...] | None) -> int | None:
    """The line of the `[table]` header (key None), or of the key that starts with the parts
    `key` inside it (`contexts.free.plan = 2` for ("contexts", "free")); None when absent."""
    current: tuple[str, ...] | None = ()
    for number, line in enumerate(text.split("\n"), start=1):
        header = _HEADER_RE.match(line)
        if header is not None:
            current = tuple(_unquote(p) for p in header.group(1).split("."))
            if key is None and current == table:
                return number
            continue
        if key is not None and current == table and _key_parts(line)[: len(key)] == key:
            return number
    return None


def first_line(
    text: str | None, *places: tuple[tuple[str, ...], tuple[str, ...] | None]
) -> int | None:
    """The line of the first of `places` found: (table, None) is the table's header line,
    (table, key parts) the line in that table whose key starts with those parts. The most
    precise place comes first, so a context's attribute is found on its own line whether the
    file writes a sub-table, an inline table or dotted keys."""
    if not text:
        return None
    for table, key in places:
        line = _exact_line(text, table, key)
        if line is not None:
            return line
    return None
