"""Edit `profiles.toml` section by section, so the user's comments stay where they belong.

tomlkit alone keeps comments, but it attaches a comment written just above `[profiles.b]` to
the *previous* table: removing profile `a` would take b's comment with it, and a new profile
would land after the comment that introduces the next table. So the text is split into blocks:
a block is a table header, the comment lines directly above it, and the lines up to the next
block. Removing a profile drops its blocks; adding one inserts a block after the last profile;
editing one runs tomlkit on that profile's blocks alone; top-level keys are edited in the
preamble (the lines before the first block).

The store checks every result against the expected data (parsed with tomllib) and falls back
to a plain whole-document tomlkit edit if this splicing ever disagrees, e.g. for profiles
written as inline tables.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any

import msgspec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

import tomlkit
from tomlkit.items import Table

_HEADER_RE = re.compile(r"^\s*\[")


class _Block(msgspec.Struct):
    path: tuple[str, ...]
    lines: list[str]


def _header_path(line: str) -> tuple[str, ...] | None:
    if not _HEADER_RE.match(line) or line.lstrip().startswith("[["):
        return None
    try:
        data: Any = tomllib.loads(line)
    except tomllib.TOMLDecodeError:
        return None
    path: list[str] = []
    while isinstance(data, dict) and len(data) == 1:
        ((key, data),) = data.items()
        path.append(key)
    return tuple(path) if path and data == {} else None


class Sections:
    """The text of a TOML file as a preamble plus blocks, each starting at a table header."""

    def __init__(self, text: str) -> None:
        lines = text.splitlines(keepends=True)
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        starts: list[tuple[int, tuple[str, ...]]] = []
        for index, line in enumerate(lines):
            path = _header_path(line)
            if path is None:
                continue
            start = index
            # Comment lines directly above a header introduce that table.
            while start > 0 and lines[start - 1].lstrip().startswith("#"):
                start -= 1
            if starts and start <= starts[-1][0]:
                start = index
            starts.append((start, path))
        first = starts[0][0] if starts else len(lines)
        self.preamble: list[str] = lines[:first]
        self.blocks: list[_Block] = []
        for number, (start, path) in enumerate(starts):
            end = starts[number + 1][0] if number + 1 < len(starts) else len(lines)
            self.blocks.append(_Block(path, lines[start:end]))

    def text(self) -> str:
        out = "".join(self.preamble) + "".join("".join(b.lines) for b in self.blocks)
        return out.lstrip("\n")

    def _profile_indexes(self, name: str) -> list[int]:
        return [i for i, b in enumerate(self.blocks) if b.path[:2] == ("profiles", name)]

    def set_top_level(self, key: str, value: Any | None) -> None:
        """Set (or with None remove) a top-level key, editing only the preamble."""
        doc = tomlkit.parse("".join(self.preamble))
        if value is None:
            if key in doc:
                del doc[key]
        else:
            doc[key] = value
        text = tomlkit.dumps(doc)
        if text and not text.endswith("\n"):
            text += "\n"
        if self.blocks and text.strip() and not text.endswith("\n\n"):
            text += "\n"
        self.preamble = text.splitlines(keepends=True)

    def remove_profile(self, name: str) -> bool:
        indexes = self._profile_indexes(name)
        for index in reversed(indexes):
            del self.blocks[index]
        return bool(indexes)

    def remove_table(self, path: tuple[str, ...]) -> bool:
        """Remove the `[path]` table and its sub-tables, with the comments just above them (a
        context written as `[profiles.NAME.contexts.CTX]` takes its own comment along)."""
        indexes = [i for i, b in enumerate(self.blocks) if b.path[: len(path)] == path]
        for index in reversed(indexes):
            del self.blocks[index]
        return bool(indexes)

    def add_profile(self, name: str, table: Table) -> None:
        doc = tomlkit.document()
        doc.add("profiles", tomlkit.table(is_super_table=True))
        doc["profiles"].add(name, table)
        new_lines = tomlkit.dumps(doc).lstrip("\n").splitlines(keepends=True)
        last = max(
            (i for i, b in enumerate(self.blocks) if b.path[:1] == ("profiles",)), default=None
        )
        position = len(self.blocks) if last is None else last + 1
        previous = self.blocks[position - 1].lines if position > 0 else self.preamble
        if previous and previous[-1].strip():
            previous.append("\n")  # a blank line between the previous table and the new one
        if position < len(self.blocks):
            new_lines.append("\n")
        self.blocks.insert(position, _Block(("profiles", name), new_lines))

    def edit_profile(self, name: str, change: Callable[[Table], None]) -> bool:
        """Run `change` on the profile's table, parsed from its own blocks only."""
        indexes = self._profile_indexes(name)
        if not indexes or indexes != list(range(indexes[0], indexes[-1] + 1)):
            return False  # not laid out as contiguous blocks: let the caller fall back
        # The comment introducing a sub-table (`# who we evaluate for` above
        # `[profiles.NAME.contexts]`) is held out of tomlkit, which would take it for the end of
        # the table above and put a key added there after it; it goes back above its header.
        intros: dict[tuple[str, ...], list[str]] = {}
        parts: list[str] = []
        for number, index in enumerate(indexes):
            lines = self.blocks[index].lines
            if number > 0:
                start = next(i for i, line in enumerate(lines) if not line.lstrip().startswith("#"))
                intros[self.blocks[index].path] = lines[:start]
                lines = lines[start:]
            parts.append("".join(lines))
        text = "".join(parts)
        doc = tomlkit.parse(text)
        change(doc["profiles"][name])
        new_lines: list[str] = []
        for line in tomlkit.dumps(doc).splitlines(keepends=True):
            new_lines += intros.pop(_header_path(line) or (), [])
            new_lines.append(line)
        # A removed sub-table (`[profiles.NAME.contexts]`) leaves the blank line before it, and
        # an added one starts after a blank line that was the profile's last: the blank lines
        # that end the profile (before the next table's comment) stay as many as they were.
        blanks = _trailing_blanks(text.splitlines(keepends=True))
        while _trailing_blanks(new_lines) > blanks:
            new_lines.pop()
        new_lines += ["\n"] * (blanks - _trailing_blanks(new_lines))
        self.blocks[indexes[0] : indexes[-1] + 1] = [_Block(("profiles", name), new_lines)]
        return True


def _trailing_blanks(lines: list[str]) -> int:
    count = 0
    while count < len(lines) and not lines[-1 - count].strip():
        count += 1
    return count
