"""Which answers of one context answered several events of their flag, for the journal
(domain/merged.py): what lets `history` say, as `tail` and the feed do, that an event was
evaluated with the next change rather than found unchanged.

Kept per flag, never per event (the events' path is measured: benchmarks/pipeline.py): the
flag's last event asked about and not yet answered, the first event its pending answer covers,
and when its last answer came in this run. Which event came first is told per flag: a batch
that holds no more events than flags asked about (each flag came alone, the burst's common
batch) costs nothing more, and only one that holds more takes one more pass over its events
(`first_events`), so that a flag deleted, or another flag's second event, in the same batch
changes nothing for a flag that came alone.

An answer covers the events of its flag asked since the flag's previous answer in this run: by
their versions, what every recorder of a shared journal agrees on (its times are this recorder's
clock only), from the first of them (the first of its batch, or of the batch an earlier event
still waiting for its answer came in) to the answered event's. It is journalled when that is
more than its own event. Its `since` is the previous answer's time, or just before the first
event covered was received when that is earlier (or the flag had no answer yet in this run: a
flag an event created, whose first answer a newer event superseded, core/evaluation.py): an
event is received before it is asked about (the stream client's queue, the journal's
backpressure), so an event received while the previous answer was on its way, and asked about
after it, is still within the row. There is no row when the first version asked is not below
the answered one (a restarted server's versions started again while one waited), nor for what
came while evaluation was halted (the credentials refused: nobody was asked then; after `r`,
core/evaluation.py asks for the one event that came, or finds the change when several did).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.merged import MergedAnswer
from togul_monitor.store.journal import Journal

MAX_FLAGS = 100_000  # flags followed at most (a flag limit keeps far fewer live)


class AnswerRanges:
    """One context's (`context`) answers, per flag."""

    def __init__(self, context: str) -> None:
        self.context = context
        # flag → its last event asked and the first event its answer covers
        self._asked: dict[str, tuple[FlagEvent, FlagEvent]] = {}
        self._answered: dict[str, float] = {}  # flag → its last answer's time in this run

    def asked(self, event: FlagEvent, first: FlagEvent | None = None) -> None:
        """`event`, the last of its flag in a batch, is asked about; `first`: the flag's first
        event in that batch (`first_events`; None: `event` came alone)."""
        key = event.flag_key
        asked = self._asked
        if len(asked) >= MAX_FLAGS and key not in asked:
            asked.clear()
        waiting = asked.get(key)
        if waiting is not None:  # an earlier event waits with it: its range began there
            first = waiting[1]
        asked[key] = (event, event if first is None else first)

    def answered(self, key: str, at: float, journal: Journal | None) -> MergedAnswer | None:
        """An answer of `key` came (a value, or "deleted"): its row, journalled, if it
        answered several events."""
        asked = self._asked.pop(key, None)
        answered = self._answered
        previous = answered.get(key)
        if len(answered) >= MAX_FLAGS and previous is None:
            answered.clear()
        answered[key] = at
        if asked is None:  # no event waited: nothing to journal
            return None
        event, first = asked
        # Its own event alone (or a lower version first: a restarted server's versions started
        # again, so the range is unknown).
        if first.version >= event.version:
            return None
        # Just before the first event covered was received (a reader takes the events received
        # after `since`), unless the previous answer came earlier: see the module's docstring.
        since = math.nextafter(first.received_at, -math.inf)
        if previous is not None and previous < since:
            since = previous
        answer = MergedAnswer(
            key,
            event.environment_id,
            self.context,
            since,
            first.version,
            event.version,
            event.received_at,
            at,
        )
        if journal is not None:
            journal.append_merged_answer(answer)
        return answer

    def deleted(self, key: str, at: float) -> None:
        """A flag.deleted event: it answers every event before it (as the feed takes it); a
        flag created again may start its versions again."""
        self._asked.pop(key, None)
        self._answered[key] = at

    def forget(self, keys: Sequence[str]) -> None:
        """Forgotten flags (core/deleted_flags.py): one created again starts afresh."""
        for key in keys:
            self._asked.pop(key, None)
            self._answered.pop(key, None)

    def clear(self) -> None:
        """Evaluation halted (credentials refused): what comes after starts afresh."""
        self._asked.clear()
        self._answered.clear()


def first_events(events: list[FlagEvent]) -> dict[str, FlagEvent]:
    """Each flag's first event in `events` (after its last flag.deleted there: a flag created
    again may start its versions again): for a batch holding more events than flags asked
    about only (core/evaluation.py), the others cost no pass."""
    firsts: dict[str, FlagEvent] = {}
    for event in events:
        if event.type == "flag.deleted":
            firsts.pop(event.flag_key, None)
        else:
            firsts.setdefault(event.flag_key, event)
    return firsts
