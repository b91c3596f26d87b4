"""One account of each value in a shared journal, however many recorders of the profile write
it (docs/journal.md, "One account of each value").

Each recorder evaluates on its own: under a burst one asks about v1 and v2 apart while the other
asks once for both, one's answers lag the other's, both find the same change. Journalled as
they come, the two accounts interleave: a change whose `before` is not the journal's last value
(two `on → off` in a row), a change journalled twice, an event said both to have changed the
value and to have been evaluated with the next change. So the sink checks each value change and
each merged answer against what the journal holds, inside the batch's transaction, which holds
the profile's writer lock (sink.py `take_turn`): no other recorder of the profile writes
between the check and the write.

- The journal's last value of a flag and context is its `context_last_values` row (one row,
  looked up by its key): the value its last change left, or its first value. A change whose
  `after` is that value is one the journal holds (another recorder's copy, or its account
  reached that value another way): not written, nor is its last value. A change computed before
  that row (by the recorders' clocks) is an older answer than the journal's: not written either,
  lest the journal go back to an older value. Otherwise the change is written from the
  journal's last value: its own `before` when they agree, else the journal's (what the
  journal's account goes from).
- A change of an event the journal holds a change of already, in that context (with an id:
  the identity key, store/postgres/schema.py), and another one (the other recorder asked
  later, and the value had moved on): when the journal's is the flag's last change there, it
  becomes the event's change from its own `before` to the newer value (the newest kept, as
  SQLite's `transitions_for` keeps it), and goes when that is no change; else the newer value
  is a change no event explains (found on re-evaluation), from the journal's last value: the
  event keeps the change the journal told first, and the account goes on.
- A merged answer ("evaluated with the next change") is not written when the journal already
  holds a value change of one of the events it covers, tied as the readers tie it
  (domain/change_owners.py); and a value change is not written when a merged answer the journal
  holds covers its event (the other recorder's account of that burst came first).

A last value of another environment than the change's is no last value of its (a profile
edited to another environment keeps its journal): such a change is written as it is. SQLite's
one recorder writes its own account and needs none of this (store/sqlite/sink.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from psycopg import Cursor

from togul_monitor.domain.change_owners import CLOCKS_APART, TIE_WITHIN, ChangeOwners
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.merged import HOLD_SECONDS, MergedAnswer
from togul_monitor.domain.values import Evaluation, ValueTransition, evaluations_differ
from togul_monitor.store.model import (
    ANSWER_COLUMNS,
    ANSWERS_CHECKABLE,
    EVENT_COLUMNS,
    LAST_VALUE_COLUMNS,
    TRANSITION_COLUMNS,
    LastValue,
    Row,
    answer_from_row,
    evaluation_loads,
    event_from_row,
    last_value_from_row,
    transition_from_row,
)


def event_seq_of(environment: bool) -> str:
    """The SQL of a change's `event_seq` (store/postgres/sink.py says which row it is), its
    event looked up in the profile's environment only (`environment`: it takes
    `%(environment_id)s`) or in any; it takes `%(profile)s`, `%(event_id)s`, `%(flag_key)s`
    and `%(at)s`."""
    scope = " AND environment_id = %(environment_id)s" if environment else ""
    return (
        "coalesce((SELECT CASE WHEN written_by_schema IS NULL THEN 0 ELSE seq END FROM events"
        " WHERE profile = %(profile)s AND event_id = %(event_id)s AND flag_key = %(flag_key)s"
        f" AND event_id IS NOT NULL{scope}"
        f" AND received_at <= %(at)s + {CLOCKS_APART!r} ORDER BY seq DESC LIMIT 1), 0)"
    )


def _same_event(environment: bool) -> str:
    """The change of the same event, flag and context (its identity) the journal holds."""
    return (
        "SELECT seq, before FROM transitions WHERE profile = %(profile)s"
        " AND event_id = %(event_id)s AND flag_key = %(flag_key)s AND context = %(context)s"
        f" AND event_seq = {event_seq_of(environment)}"
    )


_SAME_EVENT = _same_event(environment=False)
_SAME_EVENT_OF_ENVIRONMENT = _same_event(environment=True)
_LAST_CHANGE = (
    "SELECT seq FROM transitions WHERE profile = %s AND flag_key = %s AND context = %s"
    " ORDER BY seq DESC LIMIT 1"
)
_DROP_CHANGE = "DELETE FROM transitions WHERE seq = %s"
_LAST_VALUE = (
    f"SELECT {LAST_VALUE_COLUMNS} FROM context_last_values"
    " WHERE profile = %s AND context = %s AND flag_key = %s"
)
# The newest rows of one flag, down its (profile, flag_key, seq) index: a burst's answers come
# within seconds of its events, so the rows a check needs are among the flag's newest.
_RECENT_EVENTS = (
    f"SELECT {EVENT_COLUMNS} FROM events WHERE profile = %s AND flag_key = %s"
    " ORDER BY seq DESC LIMIT %s"
)
_RECENT_CHANGES = (
    f"SELECT {TRANSITION_COLUMNS} FROM transitions WHERE profile = %s AND flag_key = %s"
    " AND context = %s ORDER BY seq DESC LIMIT %s"
)
_RECENT_ANSWERS = (
    f"SELECT {ANSWER_COLUMNS} FROM merged_answers WHERE profile = %s AND flag_key = %s"
    f" AND context = %s AND {ANSWERS_CHECKABLE} ORDER BY seq DESC LIMIT %s"
)
EVENTS_LOOKED_AT = 64  # besides the versions an answer covers
CHANGES_LOOKED_AT = 32
ANSWERS_LOOKED_AT = 16
_MOST_EVENTS = 1024


class Account:
    """The checks of one recorder's sink (see the module's docstring). `environment_id`: the
    profile's (None: not known), whose events own its value changes."""

    def __init__(self, profile: str, environment_id: str | None) -> None:
        self._profile = profile
        self._environment_id = environment_id
        # (Flag, context) → the time of a change not written: its last value (appended right
        # after it, core/evaluation.py, maybe in the next batch) is not written either.
        self._skipped: dict[tuple[str, str], float] = {}

    def change(self, cur: Cursor[Any], t: ValueTransition) -> ValueTransition | None:
        """`t` as the journal's account takes it (its `before` the journal's last value), or
        None: not written."""
        last = self._last_value(cur, t.flag_key, t.context)
        if last is not None and _same_environment(last.environment_key, t.environment_key):
            value = None if last.deleted else last.evaluation
            if not evaluations_differ(value, t.after) or t.at < last.at:
                self._skip(t)
                return None
            if evaluations_differ(value, t.before):
                t = _from(t, value, t.event_id)
            if t.event_id is not None:
                held = self._same_event(cur, t)
                if held is not None:
                    return self._again(cur, t, *held)
        if self._merged(cur, t):
            self._skip(t)
            return None
        return t

    def _same_event(self, cur: Cursor[Any], t: ValueTransition) -> tuple[int, str | None] | None:
        """The journal's change of `t`'s event in its context (its seq and `before`), if any."""
        params = {
            "profile": self._profile,
            "event_id": t.event_id,
            "flag_key": t.flag_key,
            "context": t.context,
            "at": t.at,
        }
        if self._environment_id is None:
            row = cur.execute(_SAME_EVENT, params).fetchone()
        else:
            params["environment_id"] = self._environment_id
            row = cur.execute(_SAME_EVENT_OF_ENVIRONMENT, params).fetchone()
        return None if row is None else (int(row[0]), row[1])

    def _again(
        self, cur: Cursor[Any], t: ValueTransition, seq: int, before: str | None
    ) -> ValueTransition | None:
        """`t`, a newer value than the journal's change of its event (`seq`, from `before`)."""
        last = cur.execute(_LAST_CHANGE, (self._profile, t.flag_key, t.context)).fetchone()
        if last is None or int(last[0]) != seq:
            return _from(t, t.before, None)  # found on re-evaluation: see the docstring
        held_before = evaluation_loads(before)
        if evaluations_differ(held_before, t.after):
            return _from(t, held_before, t.event_id)  # replaces it (sink.py)
        cur.execute(_DROP_CHANGE, (seq,))  # the event changed nothing after all
        return None

    def last_value_stands(self, flag_key: str, context: str, at: float) -> bool:
        """Whether the last value of `flag_key` in `context` computed `at` is written: not when
        its change was not (`change`)."""
        where = flag_key, context
        if self._skipped.get(where) == at:
            del self._skipped[where]
            return False
        return True

    def remembered(self) -> dict[tuple[str, str], float]:
        """What `restore` takes back to: a batch rolled back leaves nothing behind."""
        return dict(self._skipped)

    def restore(self, remembered: dict[tuple[str, str], float]) -> None:
        self._skipped = dict(remembered)

    def answer_stands(self, cur: Cursor[Any], answer: MergedAnswer) -> bool:
        """Whether `answer` is written: not when the journal holds a value change of an event
        it covers, in its context."""
        changes = [
            transition_from_row(row)
            for row in cur.execute(
                _RECENT_CHANGES,
                (self._profile, answer.flag_key, answer.context, CHANGES_LOOKED_AT),
            ).fetchall()
        ]
        changes = [c for c in changes if c.at >= answer.since - CLOCKS_APART]
        if not changes:
            return True
        owners = self._owners(cur, answer.flag_key, [answer])
        return not any(_covers(answer, owners.owner(change)) for change in changes)

    def _merged(self, cur: Cursor[Any], t: ValueTransition) -> bool:
        """Whether a merged answer the journal holds covers `t`'s event."""
        answers = [
            answer_from_row(row)
            for row in cur.execute(
                _RECENT_ANSWERS, (self._profile, t.flag_key, t.context, ANSWERS_LOOKED_AT)
            ).fetchall()
        ]
        # Its event was received before it was computed, within TIE_WITHIN (the readers' tie).
        answers = [
            a
            for a in answers
            if a.since <= t.at + CLOCKS_APART and a.received_at >= t.at - TIE_WITHIN
        ]
        if not answers:
            return False
        owner = self._owners(cur, t.flag_key, answers).owner(t)
        return any(_covers(answer, owner) for answer in answers)

    def _owners(self, cur: Cursor[Any], flag_key: str, answers: list[MergedAnswer]) -> ChangeOwners:
        """The flag's newest events, to tie its changes to as the readers do."""
        covered = max(max(a.version - a.first_version for a in answers), 0)
        limit = min(covered + EVENTS_LOOKED_AT, _MOST_EVENTS)
        rows = cur.execute(_RECENT_EVENTS, (self._profile, flag_key, limit)).fetchall()
        events = sorted(map(event_from_row, rows), key=lambda e: e.received_at)
        owners = ChangeOwners(self._environment_id)
        for event in events:
            owners.add(event)
        return owners

    def _last_value(self, cur: Cursor[Any], flag_key: str, context: str) -> LastValue | None:
        row: Row | None = cur.execute(_LAST_VALUE, (self._profile, context, flag_key)).fetchone()
        return None if row is None else last_value_from_row(row)

    def _skip(self, t: ValueTransition) -> None:
        skipped = self._skipped
        if len(skipped) >= 10_000:  # a last value that never came: forget them all
            skipped.clear()
        skipped[(t.flag_key, t.context)] = t.at


def _from(t: ValueTransition, before: Evaluation | None, event_id: str | None) -> ValueTransition:
    """`t` from `before`, of the event `event_id`."""
    return msgspec.structs.replace(t, before=before, event_id=event_id)


def _same_environment(last: str | None, change: str | None) -> bool:
    """Whether a last value of the environment `last` is the before of a change of `change`
    (None: not known, taken as the same, as a run takes its baseline)."""
    return last is None or change is None or last == change


def _covers(answer: MergedAnswer, event: FlagEvent | None) -> bool:
    """Whether `answer` says `event` was evaluated with the next change (domain/merged.py's
    rule: a version it covered, received after its `since` and before its own event, within
    HOLD_SECONDS of it)."""
    if event is None or event.flag_key != answer.flag_key:
        return False
    if event.environment_id != answer.environment_id:
        return False
    if not answer.first_version <= event.version < answer.version:
        return False
    received = event.received_at
    return answer.since < received <= answer.received_at and (
        received >= answer.received_at - HOLD_SECONDS
    )
