"""Events the journal holds that the event log lacks, so that their replay is not journalled
again.

The intake hands each batch to the journal, then to the event log (core/intake.py `_flush`). A
stream task that fails between the two leaves the batch journalled but not taken in, and its
restart resumes after the last event the log holds (`_crash_point`): the server replays the
batch, and the monitor takes it in then. The journal must not take it a second time: SQLite has
no identity key to drop the copy (an index on the events is written for every event, the
recorder's largest cost: store/sqlite/schema.py, "Why no index"), and PostgreSQL's would only
drop it after a round trip. So the batch is held here, and the replayed events it holds are
left out of the journal's append, by the server's fields (`stream_identity`, as a takeover
finds the journal's last event in its log). The check runs only while something is held: from
the first event after the restart that the journal does not hold on (the replay has passed it,
or the server did not replay it), nothing is, and the per-batch path is one test again.

The hold is for one journal: a reader's (it records nothing) or one taken over since (it was
never handed the batch) gets the replay whole.
"""

from __future__ import annotations

from collections.abc import Sequence

from togul_monitor.core.takeover import stream_identity
from togul_monitor.domain.events import FlagEvent
from togul_monitor.store.journal import Journal


class HeldEvents:
    """What one journal was handed and the event log did not take."""

    __slots__ = ("_journal", "_held")

    def __init__(self, journal: Journal, events: Sequence[FlagEvent]) -> None:
        self._journal = journal
        self._held = set(map(stream_identity, events))

    def append_unheld(self, journal: Journal, batch: list[FlagEvent]) -> HeldEvents | None:
        """Append the events of `batch` that `journal` lacks: those before the first it does not
        hold are left out (the replay of what it holds comes first, in order). What is held
        after: nothing once that first one came, or when `journal` is another."""
        if journal is not self._journal:
            journal.append_events(batch)
            return None
        held = self._held
        for index, event in enumerate(batch):
            if stream_identity(event) not in held:
                journal.append_events(batch[index:])
                return None
        return self
