"""A profile's named contexts (`[profiles.NAME.contexts]`), checked as strictly as the rest of
the file (validate.py): every error names the file, the profile, the key
(`contexts.premium.plan`) and its line, wherever the file writes it: one inline table
(`contexts = { premium = { ... } }`), a `[profiles.NAME.contexts]` table of inline tables,
one `[profiles.NAME.contexts.premium]` sub-table per context, or dotted keys.

Attribute values are not secrets, but no message quotes one all the same: only names and types.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from togul_monitor.config.entry import CONTEXT_NAME_PATTERN, DEFAULT_CONTEXT_NAME, MAX_CONTEXTS
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.validate_lines import first_line
from togul_monitor.support.kinds import value_kind
from togul_monitor.support.text import safe_text

_CONTEXT_NAME_RE = re.compile(rf"{CONTEXT_NAME_PATTERN}\Z")
NAME_RULE = (
    "a context name is 1-32 letters, digits, '_', '.' or '-', starting with a letter or digit"
)


def context_name_problem(name: str) -> str | None:
    """Why `name` cannot name a context, or None (the CLI and the form check names early)."""
    return None if _CONTEXT_NAME_RE.match(name) else NAME_RULE


def _kind(value: object) -> str:
    return value_kind(value, mapping="a table")


def check_contexts(
    profile: str,
    table: Mapping[str, Any],
    *,
    context: Mapping[str, str],
    file: Path | None = None,
    text: str | None = None,
) -> dict[str, dict[str, str]]:
    """The profile's `contexts` as name → attributes, or a ConfigError about the first problem.

    `context`: the profile's single context, already checked: when it is not empty it is the
    context named `default` (config/entry.py), so it counts towards MAX_CONTEXTS and no named
    context may take that name."""
    base = ("profiles", profile)

    def fail(
        message: str, name: str | None = None, attribute: str | None = None, hint: str | None = None
    ) -> ConfigError:
        parts = tuple(p for p in ("contexts", name, attribute) if p is not None)
        key = ".".join(safe_text(p) for p in parts)
        # The most precise place first: the whole key, split between a table and a (dotted)
        # key every way the file may write it (a sub-table's header first), then the same for
        # the context alone, then `contexts`; the profile's header last.
        places: list[tuple[tuple[str, ...], tuple[str, ...] | None]] = []
        for depth in range(len(parts), 0, -1):
            target = parts[:depth]
            for split in range(depth, -1, -1):
                places.append(((*base, *target[:split]), target[split:] or None))
        places.append((base, None))
        line = first_line(text, *places)
        return ConfigError(message, file=file, profile=profile, key=key, line=line, hint=hint)

    contexts = table.get("contexts", {})
    if not isinstance(contexts, Mapping):
        raise fail(
            f"must be a table of contexts, not {_kind(contexts)}",
            hint='contexts = { premium = { plan = "premium" } }',
        )
    found: dict[str, dict[str, str]] = {}
    for name, attributes in contexts.items():
        problem = context_name_problem(name)
        if problem:
            raise fail(problem, name)
        if not isinstance(attributes, Mapping):
            raise fail(
                f"must be a table of strings, not {_kind(attributes)}",
                name,
                hint=f'{safe_text(name)} = {{ user_id = "u-1", plan = "premium" }}',
            )
        for attribute, value in attributes.items():
            if not isinstance(value, str):
                raise fail(f"must be a string, not {_kind(value)}", name, attribute)
        found[name] = dict(attributes)
    if context and DEFAULT_CONTEXT_NAME in found:
        raise fail(
            f"{DEFAULT_CONTEXT_NAME!r} is the name of the single `context` table of this profile",
            DEFAULT_CONTEXT_NAME,
            hint="rename this context, or merge `context` into it and remove `context`",
        )
    total = len(found) + (1 if context else 0)
    if total > MAX_CONTEXTS:
        counted = " (counting `context` as the one named 'default')" if context else ""
        raise fail(
            f"{total} contexts{counted}: at most {MAX_CONTEXTS}",
            hint="every monitored flag is evaluated once per context",
        )
    return found
