"""Which answers of one context may have answered several events of their flag, for the journal
(domain/merged.py): what lets `history` say, as `tail` and the feed do, that an event was
evaluated with the next change rather than found unchanged.

Kept per flag, never per event (the events' path is measured: benchmarks/pipeline.py): the
flag's last event asked about and not yet answered, whether an earlier one may be waiting with
it, and when its last answer came in this run. A batch is looked at once: when it holds more
events than flags asked about, some flag may have had two of them, and every flag of the batch
is taken as possibly merged. A row whose range holds its own event only says nothing, so that
costs a small row, never a wrong line. An answer covers the events received after the flag's
previous answer; a flag with no answer yet in this run (its first, after the credentials were
refused) gets no row, as nothing says where its range begins.
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
        self._asked: dict[str, tuple[FlagEvent, bool]] = {}  # flag → its last event, merged?
        self._answered_at: dict[str, float] = {}  # flag → its last answer's time, this run

    def asked(self, event: FlagEvent, several: bool) -> None:
        """`event`, the last of its flag in a batch, is asked about; `several`: the batch may
        have held more than one event of a flag."""
        key = event.flag_key
        if len(self._asked) >= MAX_FLAGS and key not in self._asked:
            self._asked.clear()
        self._asked[key] = (event, several or key in self._asked)

    def answered(self, key: str, at: float, journal: Journal | None) -> MergedAnswer | None:
        """An answer of `key` came (a value, or "deleted"): its row, journalled, if it may
        have answered several events."""
        asked = self._asked.pop(key, None)
        answered_at = self._answered_at
        since = answered_at.get(key)
        if len(answered_at) >= MAX_FLAGS and since is None:
            answered_at.clear()
        answered_at[key] = at
        if asked is None or not asked[1] or since is None:
            return None
        event = asked[0]
        answer = MergedAnswer(
            key, event.environment_id, self.context, since, event.version, event.received_at, at
        )
        if journal is not None:
            journal.append_merged_answer(answer)
        return answer

    def deleted(self, key: str, at: float) -> None:
        """A flag.deleted event: it answers every event before it (as the feed takes it)."""
        self._asked.pop(key, None)
        self._answered_at[key] = at

    def clear(self) -> None:
        """Evaluation halted (credentials refused): what comes after starts afresh."""
        self._asked.clear()
        self._answered_at.clear()
