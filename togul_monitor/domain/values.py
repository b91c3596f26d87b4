"""Cached flag values for each of the profile's contexts, with before → after transitions.

A profile evaluates its flags for one or more named contexts ("premium", "free", …; a profile
with a single `context` has one, named `default`). Each context has its own `FlagValues`, and
every value and transition says which context it belongs to.

The records below are the shapes that the monitor, the journal, the CLI and the TUI share;
`FlagValues` holds the rules that turn evaluate answers into values and transitions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
from msgspec.structs import replace

from togul_monitor.domain.unseen import UnseenMarks

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


def _blank(flag_key: str, context: str) -> FlagValue:
    return FlagValue(
        flag_key=flag_key,
        current=None,
        previous=None,
        evaluated_at=None,
        trigger_event_id=None,
        stale=False,
        deleted=False,
        error=None,
        context=context,
    )


class FlagValues:
    """The cached values of the monitored flags, and the rules that turn answers into transitions.

    Pure state: no I/O, no clock of its own (every time is passed in), so the rules are unit
    tested without a server. Each method returns the new `FlagValue` (or None when nothing
    changed, so callers publish only real changes) and, where it applies, the transition.
    """

    def __init__(self, context: str = DEFAULT_CONTEXT) -> None:
        self.context = context
        self._values: dict[str, FlagValue] = {}
        self._new: dict[str, bool] = {}  # see `mark_new`
        self.unseen = UnseenMarks()  # see `mark_unseen`
        self._deleted: dict[str, None] = {}  # the deleted flags, in the order they went
        #: The stream is down, or back and not yet proved whole: every change found may hold
        #: what it missed meanwhile, and is marked `includes_unseen` whatever its flag.
        self.blind = False
        self.version = 0  # bumped by every change: a reader copies the values only when it moved

    def _set(self, flag_key: str, value: FlagValue) -> None:
        self._values[flag_key] = value
        if value.deleted:
            self._deleted.setdefault(flag_key, None)
        else:
            self._deleted.pop(flag_key, None)
        self.version += 1

    @property
    def live_count(self) -> int:
        """The flags that are not deleted."""
        return len(self._values) - len(self._deleted)

    def to_ask_again(self, deleted: int) -> list[str]:
        """Every flag not deleted, and the last `deleted` flags deleted."""
        gone = self._deleted
        live = [key for key in self._values if key not in gone]
        return live + list(gone)[-deleted:] if deleted > 0 else live

    def __contains__(self, flag_key: object) -> bool:
        return flag_key in self._values

    def __len__(self) -> int:
        return len(self._values)

    @property
    def mapping(self) -> Mapping[str, FlagValue]:
        """The live mapping, read-only by contract (a lookup without a method call)."""
        return self._values

    def get(self, flag_key: str) -> FlagValue | None:
        return self._values.get(flag_key)

    def keys(self) -> list[str]:
        return list(self._values)

    def copy(self) -> dict[str, FlagValue]:
        return dict(self._values)

    def ensure(self, flag_key: str) -> FlagValue | None:
        """Start monitoring `flag_key`; returns the new blank value, or None if already known."""
        if flag_key in self._values:
            return None
        value = _blank(flag_key, self.context)
        self._set(flag_key, value)
        return value

    def seed(
        self,
        flag_key: str,
        evaluation: Evaluation | None,
        at: float | None,
        *,
        deleted: bool = False,
        dated: bool = False,
    ) -> FlagValue:
        """The last value known from the journal: the baseline the first evaluation compares to.

        It is stale until re-evaluated, since the server may have changed while we were away:
        what it then finds is not its event's alone, unless that time is proved whole (`dated`:
        domain/unseen.py)."""
        (self.unseen.remember if dated else self.unseen.add)(flag_key)
        value = FlagValue(
            flag_key=flag_key,
            current=None if deleted else evaluation,
            previous=evaluation if deleted else None,
            evaluated_at=at,
            trigger_event_id=None,
            stale=True,
            deleted=deleted,
            error=None,
            context=self.context,
        )
        self._set(flag_key, value)
        return value

    def mark_unseen(self, keys: Iterable[str] | None = None) -> None:
        """The stream may have missed changes (an outage that may have lost events, an unusable
        event; of `keys` only: a flag's version that jumped): until each flag's next answer, a
        change it shows may hold some of them, so it is marked `includes_unseen` (whichever
        event it is then tied to). Flags without a value are left alone."""
        self.unseen.mark(self._values, keys)

    def mark_new(self, flag_key: str, *, created: bool) -> None:
        """An event of a flag that has no answer yet (unknown, or known and never answered):
        its first answer is that event's effect. When the event created the flag
        (flag.created), the flag did not exist before it, so that answer is a transition from
        nothing (`∅ → true`); otherwise it is the flag's first value, with nothing to compare
        it with (`first_by_event`). The first event of the flag decides."""
        old = self._values.get(flag_key)
        if old is None or (old.current is None and not old.deleted):
            self._new.setdefault(flag_key, created)

    def first_by_event(self, flag_key: str, *, still_stale: bool = False) -> bool:
        """Whether the next answer for `flag_key` (`still_stale`: superseded, as `record`
        takes it) is the first value of a flag an event brought (one the event did not
        create), unless it differs from an answer before it: then it is a transition. A
        superseded answer is the value before the event's change (core/evaluation.py), not
        its effect."""
        return not still_stale and self._new.get(flag_key) is False

    def mark_all_stale(self) -> list[FlagValue]:
        """The stream was lost: a change may be made meanwhile, so every value known and not
        deleted is in doubt until asked again; those newly marked."""
        doubtful = [
            key
            for key, value in self._values.items()
            if value.current is not None and not value.deleted
        ]
        return [value for key in doubtful if (value := self.mark_stale(key)) is not None]

    def mark_stale(self, flag_key: str) -> FlagValue | None:
        """An event arrived for the flag: its value is in doubt until re-evaluated."""
        old = self._values.get(flag_key)
        if old is None:
            old = _blank(flag_key, self.context)
        elif old.stale:
            return None  # already stale: nothing new to show (this is the hot path of a burst)
        value = replace(old, stale=True)
        self._set(flag_key, value)
        return value

    def record(
        self,
        flag_key: str,
        evaluation: Evaluation,
        *,
        event_id: str | None,
        at: float,
        still_stale: bool = False,
    ) -> tuple[FlagValue, ValueTransition | None]:
        """An evaluation answered. A transition only when value, reason or enabled changed.

        The very first answer for a flag is a baseline, not a transition, unless an event
        created the flag (`mark_new`); an answer after a deletion is a transition from
        nothing (the flag came back).
        """
        old = self._values.get(flag_key) or _blank(flag_key, self.context)
        before = old.previous if old.deleted else old.current
        transition: ValueTransition | None = None
        changed = evaluations_differ(old.current, evaluation)
        new = self._new.get(flag_key) if self._new else None
        answers_event = self.first_by_event(flag_key, still_stale=still_stale)
        if new is not None and (new or not still_stale):  # kept past a superseded answer
            del self._new[flag_key]
        unseen = self.blind or flag_key in self.unseen
        if not still_stale:
            self.unseen.discard(flag_key)  # current again: what follows is seen
        if new and old.current is None and not old.deleted:  # created by its event
            transition = ValueTransition(flag_key, None, evaluation, event_id, at, self.context)
        if old.deleted:
            transition = ValueTransition(
                flag_key, None, evaluation, event_id, at, self.context, unseen
            )
        elif old.current is not None and changed:
            transition = ValueTransition(
                flag_key, before, evaluation, event_id, at, self.context, unseen
            )
        value = FlagValue(
            flag_key=flag_key,
            current=evaluation,
            previous=before if (changed or old.deleted) else old.previous,
            evaluated_at=at,
            trigger_event_id=(
                event_id if (changed or old.deleted or answers_event) else old.trigger_event_id
            ),
            stale=still_stale,
            deleted=False,
            error=None,
            context=self.context,
        )
        if old.current is None and not old.deleted:
            value = replace(value, trigger_event_id=event_id)
        self._set(flag_key, value)
        return value, transition

    def mark_deleted(
        self, flag_key: str, *, event_id: str | None, at: float
    ) -> tuple[FlagValue, ValueTransition | None]:
        """flag.deleted, or evaluate answered 404: keep the last value as `previous`."""
        self._new.pop(flag_key, None)
        old = self._values.get(flag_key) or _blank(flag_key, self.context)
        unseen = self.blind or flag_key in self.unseen
        self.unseen.discard(flag_key)  # still or newly deleted: known as it is now
        if old.deleted:
            value = replace(old, stale=False, error=None)
            self._set(flag_key, value)
            return value, None
        transition = None
        if old.current is not None:
            transition = ValueTransition(
                flag_key, old.current, None, event_id, at, self.context, unseen
            )
        value = FlagValue(
            flag_key=flag_key,
            current=None,
            previous=old.current if old.current is not None else old.previous,
            evaluated_at=at,
            trigger_event_id=event_id,
            stale=False,
            deleted=True,
            error=None,
            context=self.context,
        )
        self._set(flag_key, value)
        return value, transition

    def mark_error(self, flag_key: str, message: str, *, still_stale: bool = True) -> FlagValue:
        """The evaluation failed: keep the last value, say why, and stay stale (it is unknown)."""
        old = self._values.get(flag_key) or _blank(flag_key, self.context)
        value = replace(old, error=message, stale=still_stale)
        self._set(flag_key, value)
        return value
