"""Cached flag values for each of the profile's contexts, with before → after transitions.

A profile evaluates its flags for one or more named contexts ("premium", "free", …; a profile
with a single `context` has one, named `default`). Each context has its own `FlagValues`, and
every value and transition says which context it belongs to.

The records below are the shapes that the monitor, the journal, the CLI and the TUI share;
`FlagValues` (domain/flag_values.py) holds the rules that turn evaluate answers into values and
transitions.
"""

from __future__ import annotations

from typing import Any

import msgspec

DEFAULT_CONTEXT = "default"  # the name of a profile's single `context`


class Evaluation(msgspec.Struct, frozen=True):
    """One answer of POST /api/v1/evaluate, parsed tolerantly."""

    value: Any
    value_type: str | None  # None: the server sent no (or an unknown) value_type
    reason: str | None
    enabled: bool | None


class FlagValue(msgspec.Struct, frozen=True):
    """What the profile's context gets for one flag, as far as the monitor knows."""

    flag_key: str
    current: Evaluation | None  # None until the first evaluation answers
    previous: Evaluation | None
    evaluated_at: float | None
    trigger_event_id: str | None  # the event whose re-evaluation produced `current`
    stale: bool  # an event arrived and the re-evaluation has not answered yet
    deleted: bool  # a flag.deleted event, or evaluate answered 404
    error: str | None  # the last evaluation error, shown in place of a value
    context: str = DEFAULT_CONTEXT  # the named context this value was evaluated for


class ValueTransition(msgspec.Struct, frozen=True):
    """`current` changed in value, reason or enabled: recorded once, tied to its event."""

    flag_key: str
    before: Evaluation | None
    after: Evaluation | None  # None when the flag was deleted
    event_id: str | None
    at: float
    context: str = DEFAULT_CONTEXT
    # `before` was known before a time the stream may have missed changes (an outage that may
    # have lost events, an unusable event, a value remembered from an earlier run, the time
    # since not proved whole): the change may hold some of those too, not only its event's
    # (`FlagValues.mark_unseen`, domain/unseen.py).
    includes_unseen: bool = False
    # The environment evaluate asked for (the profile's key then): a change is of that
    # environment alone, whatever the profile names now. None: not known (a journal's row
    # written before it was recorded, docs/journal.md).
    environment_key: str | None = None


#: How `includes_unseen` is said wherever a change is shown with room for it.
UNSEEN_NOTE = "may include changes the stream did not show"


# --- logic -------------------------------------------------------------------------------------


def same_json(a: Any, b: Any) -> bool:
    """`a` and `b` are the same JSON value to a user; what a value change is, wherever it is
    shown, and what `wait --value` compares. Python says `True == 1 == 1.0`, but JSON's `true`
    is not its `1`, nor `"1"` its `1`, so the type takes part; numbers compare by value (`50` is
    `50.0`): JSON has one number type, and a server may send either for the same number.
    Objects compare by keys and values, arrays item by item."""
    try:
        return _same(a, b)
    except RecursionError:  # deeper than any JSON parser here returns: not worth more
        return a is b


def one_number_form(value: Any) -> Any:
    """`value` with each whole float written as an integer (`1.0` as `1`), so that JSON text
    made from it is the same for values `same_json` calls the same (with `sort_keys`)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: one_number_form(v) for k, v in value.items()}
    if isinstance(value, list):
        return [one_number_form(v) for v in value]
    return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):  # bool is an int to Python, not to JSON
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or (a != a and b != b)  # NaN (not JSON, but parsers take it) is itself
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def evaluations_differ(before: Evaluation | None, after: Evaluation | None) -> bool:
    """True when value, reason or enabled changed (value_type alone does not count)."""
    if before is None or after is None:
        return before is not after
    return (
        before.reason != after.reason
        or before.enabled != after.enabled
        or not same_json(before.value, after.value)
    )


def evaluation_to_json(evaluation: Evaluation | None) -> dict[str, Any] | None:
    if evaluation is None:
        return None
    return {
        "value": evaluation.value,
        "value_type": evaluation.value_type,
        "reason": evaluation.reason,
        "enabled": evaluation.enabled,
    }


def evaluation_from_json(data: object) -> Evaluation | None:
    """The inverse of `evaluation_to_json`, tolerant of missing keys (journal rows, imports)."""
    if not isinstance(data, dict):
        return None
    enabled = data.get("enabled")
    reason = data.get("reason")
    value_type = data.get("value_type")
    return Evaluation(
        value=data.get("value"),
        value_type=value_type if isinstance(value_type, str) else None,
        reason=reason if isinstance(reason, str) else None,
        enabled=enabled if isinstance(enabled, bool) else None,
    )


def transition_to_json(t: ValueTransition) -> dict[str, Any]:
    return {
        "flag_key": t.flag_key,
        "before": evaluation_to_json(t.before),
        "after": evaluation_to_json(t.after),
        "event_id": t.event_id,
        "at": t.at,
        "context": t.context,
        "includes_unseen": t.includes_unseen,
    }
