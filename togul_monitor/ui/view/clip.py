"""What `y` copies, as plain text: a feed row's event JSON, a value as `key = value`, a history
entry's JSON. Textual-free; the screen decides which by focus (`screens/main_keys.py`).

The JSON is the one `tail --json` and the exports write for an event (`FlagEvent.to_json`), and
the journal's shape for a value change; server text is copied as it is (it is data the user
asked for, pasted elsewhere), and only the notification that names it goes through `safe_text`.
"""

from __future__ import annotations

import json

from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.values import FlagValue, ValueTransition, transition_to_json
from togul_monitor.support.text import safe_text
from togul_monitor.ui.view.change import value_text
from togul_monitor.ui.view.rows import FeedItem, Row

PREVIEW = 48  # characters of the copied text named in the notification


def dumps(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def row_clip(row: Row) -> tuple[str, str]:
    """(text, what it is) for a feed row: the event's JSON, or a marker's text."""
    if isinstance(row, FeedItem):
        return row.text, "marker text"
    return dumps(row.to_json()), f"event JSON of {row.flag_key}"


def value_clip(value: FlagValue) -> tuple[str, str]:
    """`key = value` for a values row (`deleted`, `(no value yet)` when there is none)."""
    if value.deleted:
        shown = "deleted"
    elif value.current is None:
        shown = f"(no value: {value.error})" if value.error else "(no value yet)"
    else:
        shown = value_text(value.current)
    return f"{value.flag_key} = {shown}", f"value of {value.flag_key}"


def entry_clip(entry: object) -> tuple[str, str] | None:
    """A history entry's JSON (an event, a value change, an outage)."""
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
    return None


def preview(text: str) -> str:
    """The copied text on one short line, safe to show."""
    line = " ".join(text.split())
    if len(line) > PREVIEW:
        line = line[: PREVIEW - 1] + "…"
    return safe_text(line)
