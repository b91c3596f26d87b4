"""Typed readers for the fields of a `--state` document: each returns the field or raises
StateError naming its JSON path (`environments[2].id: expected a string`), so a file is either
loaded whole or refused with the place at fault, never half-built and never with a traceback."""

from __future__ import annotations

import re
from typing import Any

from togul_monitor.emulator.jsondoc import child_path

# What a secret or a token may hold: it travels in an HTTP header, so printable ASCII only.
_TOKEN = re.compile(r"[!-~]+")
_MISSING: Any = object()


class StateError(ValueError):
    """A state file that cannot be loaded; the message names the place at fault."""


def field_path(where: str, name: str) -> str:
    return child_path(where, name)


def obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise StateError(f"{where}: expected a JSON object")
    return value


def member(container: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    """An optional object member; absent means `{}`."""
    return obj(container.get(name, {}), field_path(where, name))


def array(container: dict[str, Any], name: str, where: str) -> list[Any]:
    value = container.get(name, [])
    if not isinstance(value, list):
        raise StateError(f"{field_path(where, name)}: expected a JSON array")
    return value


def text(container: dict[str, Any], name: str, where: str, default: str | None = None) -> str:
    """A non-empty string; `default` when absent (None: the field is required)."""
    value = container.get(name, _MISSING)
    if value is _MISSING and default is not None:
        return default
    if not isinstance(value, str) or not value:
        raise StateError(f"{field_path(where, name)}: expected a non-empty string")
    return value


def optional_text(container: dict[str, Any], name: str, where: str) -> str | None:
    """A string or null (absent: null); for descriptions."""
    value = container.get(name)
    if value is not None and not isinstance(value, str):
        raise StateError(f"{field_path(where, name)}: expected a string or null")
    return value


def given_id(container: dict[str, Any], name: str, where: str) -> str | None:
    """An id the file sets, or None when it leaves it to the generator (absent, null or "")."""
    value = container.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise StateError(f"{field_path(where, name)}: expected a string")
    return value


def token(container: dict[str, Any], name: str, where: str) -> str | None:
    """A secret or token the file sets (None: generate one)."""
    value = given_id(container, name, where)
    if value is not None and not _TOKEN.fullmatch(value):
        raise StateError(
            f"{field_path(where, name)}: expected printable ASCII without spaces "
            "(it travels in an HTTP header)"
        )
    return value


def boolean(container: dict[str, Any], name: str, where: str, default: bool) -> bool:
    value = container.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise StateError(f"{field_path(where, name)}: expected true or false")
    return value


def integer(container: dict[str, Any], name: str, where: str, low: int | None = None) -> int | None:
    """An integer (not a boolean) or null/absent (None)."""
    value = container.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or (low is not None and value < low):
        bound = "a non-negative integer" if low == 0 else "an integer"
        raise StateError(f"{field_path(where, name)}: expected {bound}")
    return value


def choice(
    container: dict[str, Any], name: str, where: str, options: tuple[str, ...], default: str | None
) -> str:
    value = text(container, name, where, default)
    if value not in options:
        raise StateError(f"{field_path(where, name)}: must be one of {', '.join(options)}")
    return value


class Unique:
    """Remembers the values seen under one name (ids, keys, secrets) to refuse a repeat."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.seen: set[str] = set()

    def add(self, value: str, where: str) -> str:
        if value in self.seen:
            raise StateError(f"{where}: duplicate {self.what} {value!r}")
        self.seen.add(value)
        return value
