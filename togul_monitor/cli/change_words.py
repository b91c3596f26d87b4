"""How a value change reads on a line of `tail` and `wait`: a value as printable JSON
(`json_text`), a before → after change with what else moved (`change_text`). Server text is
data: every value and reason goes through `safe_text`."""

from __future__ import annotations

import json

from togul_monitor.domain.values import Evaluation
from togul_monitor.support.text import safe_text


def json_text(value: object) -> str:
    """A value as JSON, one line, printable: `true`, `50`, `"green"`, `{"a":1}`."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    return safe_text(text)


def _enabled_word(enabled: bool | None) -> str:
    return "unknown" if enabled is None else ("enabled" if enabled else "disabled")


def change_text(before: Evaluation | None, after: Evaluation | None) -> str:
    """`false → true (reason default → rule_match)`; `25 (unchanged; enabled → disabled)` when
    only the reason or the master switch changed; `true → deleted`; `∅ → true`."""
    if after is None:
        return f"{'∅' if before is None else json_text(before.value)} → deleted"
    if before is None:  # a transition from nothing: the flag was created, or came back
        return f"∅ → {json_text(after.value)}"
    old, new = json_text(before.value), json_text(after.value)
    extra: list[str] = []
    if before.reason != after.reason:
        extra.append(f"reason {safe_text(before.reason or '?')} → {safe_text(after.reason or '?')}")
    if before.enabled != after.enabled:
        extra.append(f"{_enabled_word(before.enabled)} → {_enabled_word(after.enabled)}")
    if old == new:
        return f"{new} (unchanged; {'; '.join(extra)})" if extra else new
    return f"{old} → {new}" + (f" ({'; '.join(extra)})" if extra else "")
