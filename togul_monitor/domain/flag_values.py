"""`FlagValues`: one context's cached flag values, and the rules that turn evaluate answers into
values and before → after transitions (the records are domain/values.py's)."""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from itertools import islice

from msgspec.structs import replace

from togul_monitor.domain.unseen import UnseenMarks
from togul_monitor.domain.values import (
    DEFAULT_CONTEXT,
    Evaluation,
    FlagValue,
    ValueTransition,
    evaluations_differ,
)


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

    def __init__(self, context: str = DEFAULT_CONTEXT, environment_key: str | None = None) -> None:
        self.context = context
        #: The environment evaluate asks for: every transition says it (`ValueTransition`).
        self.environment_key = environment_key
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

    def oldest_deleted(self, bound: int, *spared: Container[str]) -> list[str]:
        """The deleted flags past the newest `bound`, oldest first; one in any of `spared` is
        never among them, and keeps its place (core/deleted_flags.py)."""
        over = len(self._deleted) - bound
        if over <= 0:
            return []
        oldest = (key for key in self._deleted if not any(key in keys for keys in spared))
        return list(islice(oldest, over))

    def forget(self, keys: Iterable[str]) -> None:
        """No value of `keys` any more, nor a mark: as if never seen (core/deleted_flags.py)."""
        for key in keys:
            self._values.pop(key, None)
            self._deleted.pop(key, None)
            self._new.pop(key, None)
            self.unseen.forget(key)
        self.version += 1

    def order_deleted(self) -> None:
        """The deleted flags in the order they went, by their times: a start seeds them in the
        journal's order (once, so the bound never sorts)."""
        values = self._values
        at = {key: values[key].evaluated_at or 0.0 for key in self._deleted}
        self._deleted = dict.fromkeys(sorted(at, key=at.__getitem__))

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

    def created_by_event(self, flag_key: str) -> bool:
        """Whether the flag's first answer, still to come, is a transition from nothing: an
        event created the flag (`mark_new`)."""
        return self._new.get(flag_key) is True

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
            transition = self._transition(flag_key, None, evaluation, event_id, at, False)
        if old.deleted:
            transition = self._transition(flag_key, None, evaluation, event_id, at, unseen)
        elif old.current is not None and changed:
            transition = self._transition(flag_key, before, evaluation, event_id, at, unseen)
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

    def _transition(
        self,
        flag_key: str,
        before: Evaluation | None,
        after: Evaluation | None,
        event_id: str | None,
        at: float,
        unseen: bool,
    ) -> ValueTransition:
        context, environment = self.context, self.environment_key
        return ValueTransition(flag_key, before, after, event_id, at, context, unseen, environment)

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
            transition = self._transition(flag_key, old.current, None, event_id, at, unseen)
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
