"""Which answers of one context may have answered several events of their flag, for the journal
(domain/merged.py): what lets `history` say, as `tail` and the feed do, that an event was
evaluated with the next change rather than found unchanged.

Kept per flag, never per event (the events' path is measured: benchmarks/pipeline.py): the
flag's last event asked about and not yet answered, whether an earlier one may be waiting with
it, the first version the pending answer may cover, and when its last answer came in this run
and the version of the event it answered. A batch is looked at once: when it holds more events
than flags asked about, some flag may have had two of them, and every flag of the batch is
taken as possibly merged. A row whose range holds its own event only says nothing, so that
costs a small row, never a wrong line.

An answer covers the events received after the flag's previous answer: by their versions, what
every recorder of a shared journal agrees on (its times are this recorder's clock only), from
the one after the event that previous answer answered (a later event was asked after it: asked
before it, it would have been the one answered) to the answered event's. When no answer of this
run answered an event of the flag (its answers so far were the start's, or it was deleted and
a recreated flag's versions may start again), the first event asked since the previous answer
is the first covered when it came alone (no flag of its batch had two events); otherwise, and
for a flag with no answer yet in this run (its first, after the credentials were refused),
there is no row, as nothing says where the range begins.
"""

from __future__ import annotations

from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.merged import MergedAnswer
from togul_monitor.store.journal import Journal

MAX_FLAGS = 100_000  # flags followed at most (a flag limit keeps far fewer live)


class AnswerRanges:
    """One context's (`context`) answers, per flag."""

    def __init__(self, context: str) -> None:
        self.context = context
        # flag → its last event asked, merged?, the first version its answer may cover (None:
        # not known)
        self._asked: dict[str, tuple[FlagEvent, bool, int | None]] = {}
        # flag → its last answer's time in this run, and the version of the last event an
        # answer of this run answered (None: none yet, or deleted since)
        self._answered: dict[str, tuple[float, int | None]] = {}

    def asked(self, event: FlagEvent, several: bool) -> None:
        """`event`, the last of its flag in a batch, is asked about; `several`: the batch may
        have held more than one event of a flag."""
        key = event.flag_key
        asked = self._asked
        if len(asked) >= MAX_FLAGS and key not in asked:
            asked.clear()
        waiting = asked.get(key)
        if waiting is not None:  # an earlier event waits with it: its range began there
            asked[key] = (event, True, waiting[2])
            return
        answered = self._answered.get(key)
        before = None if answered is None else answered[1]
        if not several:
            first: int | None = event.version  # alone in its batch: the first since the answer
        else:
            first = None if before is None else before + 1
        asked[key] = (event, several, first)

    def answered(self, key: str, at: float, journal: Journal | None) -> MergedAnswer | None:
        """An answer of `key` came (a value, or "deleted"): its row, journalled, if it may
        have answered several events."""
        asked = self._asked.pop(key, None)
        answered = self._answered
        previous = answered.get(key)
        if len(answered) >= MAX_FLAGS and previous is None:
            answered.clear()
        if asked is None:  # no event waited: the versions answered stay as they were
            answered[key] = (at, None if previous is None else previous[1])
            return None
        event, several, first = asked
        answered[key] = (at, event.version)
        if not several or previous is None or first is None or first >= event.version:
            return None
        answer = MergedAnswer(
            key,
            event.environment_id,
            self.context,
            previous[0],
            first,
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
        self._answered[key] = (at, None)

    def clear(self) -> None:
        """Evaluation halted (credentials refused): what comes after starts afresh."""
        self._asked.clear()
        self._answered.clear()
