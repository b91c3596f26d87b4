"""What `y` copies, as plain text: a feed row's event JSON, a value as `key = value` (a profile
with several named contexts: every context's, one line each, `key [free] = false`), a history
entry's JSON. Textual-free; the screen decides which by focus (`screens/main_keys.py`).

The JSON is the one `tail --json` and the exports write for an event (`FlagEvent.to_json`), and
the journal's shape for a value change. Server text is escaped in all of it, as everywhere on
screen: the copy also lands in `clipboard.txt`, which `cat` would otherwise hand a key's escape
sequences to the terminal. In JSON a control character is a JSON escape (`\\u001b`: the same
data once parsed); on a `key = value` line it is `safe_text`'s `\\x1b`, as the values pane shows it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.flag_config import diff_to_json
from togul_monitor.domain.history import FoundDiff
from togul_monitor.domain.values import FlagValue, ValueTransition, transition_to_json
from togul_monitor.support.text import safe_json, safe_text
from togul_monitor.ui.view.change import value_text
from togul_monitor.ui.view.rows import FeedItem, Row

PREVIEW = 48  # characters of the copied text named in the notification


def dumps(data: object) -> str:
    return safe_json(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True, default=str))


def row_clip(row: Row) -> tuple[str, str]:
    """(text, what it is) for a feed row: the event's JSON, or a marker's text."""
    if isinstance(row, FeedItem):
        return row.text, "marker text"
    return dumps(row.to_json()), f"event JSON of {row.flag_key}"


def _shown(value: FlagValue | None) -> str:
    """A value as the copy says it (`deleted`, `(no value yet)` when there is none)."""
    if value is None:  # this context has not published the flag
        return "(no value yet)"
    if value.deleted:
        return "deleted"
    if value.current is None:
        return f"(no value: {safe_text(value.error)})" if value.error else "(no value yet)"
    return value_text(value.current)


def value_clip(value: FlagValue) -> tuple[str, str]:
    """`key = value` for a values row of one context."""
    return f"{safe_text(value.flag_key)} = {_shown(value)}", f"value of {value.flag_key}"


def values_clip(
    flag: str, values: Sequence[tuple[str, FlagValue | None]]
) -> tuple[str, str] | None:
    """A values row: `values` holds each context's value of `flag` (None: none yet), in the
    profile's order. One context: `key = value`. Several: one line per context, each named
    (`key [free] = false`), since the contexts' values may differ and a copy of the first alone
    would pass for the flag's value. None when no context has the flag."""
    if not any(value is not None for _, value in values):
        return None
    if len(values) == 1:
        value = values[0][1]
        return value_clip(value) if value is not None else None
    key = safe_text(flag)
    lines = [f"{key} [{safe_text(context)}] = {_shown(value)}" for context, value in values]
    return "\n".join(lines), f"values of {flag} in {len(values)} contexts"


def entry_clip(entry: object) -> tuple[str, str] | None:
    """A history entry's JSON (an event, a value change, an outage, a found diff)."""
    if isinstance(entry, FlagEvent):
        return dumps(entry.to_json()), f"event JSON of {entry.flag_key}"
    if isinstance(entry, ValueTransition):
        return dumps(transition_to_json(entry)), f"value change of {entry.flag_key}"
    if isinstance(entry, Outage):
        data = {
            "outage": {
                "started_at": entry.started_at,
                "ended_at": entry.ended_at,
                "replayed": entry.replayed,
                "may_have_missed": entry.may_have_missed,
            }
        }
        return dumps(data), "outage"
    if isinstance(entry, FoundDiff):
        found: dict[str, object] = {"kind": "diff", **diff_to_json(entry.diff), "at": entry.at}
        return dumps(found), f"configuration change of {entry.diff.flag_key}"
    return None


def preview(text: str) -> str:
    """The copied text on one short line, safe to show."""
    line = " ".join(text.split())
    if len(line) > PREVIEW:
        line = line[: PREVIEW - 1] + "…"
    return safe_text(line)
