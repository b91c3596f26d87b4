"""The history pane's bookkeeping, without Textual: which journal read is current, and the rows
that arrived since it.

The selected flag's history is read from the journal once per selection (on a thread worker: a
flush and a SQLite query); rows of that flag that arrive afterwards are kept here and merged in
memory, newest first. Reads are numbered: an answer to an older read (the selection moved on)
is dropped, and the pane is current when the latest read has been answered.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from togul_monitor.domain.events import Outage
from togul_monitor.domain.history import HistoryEntry, merge_history


class HistoryReads(msgspec.Struct):
    dirty: bool = True  # the selected flag's history must be read (once)
    new: list[HistoryEntry] = msgspec.field(default_factory=list)  # arrived since the read
    requested: int = 0  # the latest read asked for
    answered: int = 0  # the latest read answered (equal to `requested`: the pane is current)

    @property
    def current(self) -> bool:
        return self.answered == self.requested

    def request(self) -> int:
        """Number a new read (it replaces any read still running)."""
        self.dirty = False
        self.requested += 1
        return self.requested

    def answer(self, request: int) -> bool:
        """True when `request` is the latest read; an older one answering late is dropped."""
        if request != self.requested:
            return False
        self.answered = request
        return True

    def select(self) -> None:
        """Another flag is selected: the rows kept so far were the previous flag's."""
        self.new.clear()

    def merged(
        self, read: Sequence[HistoryEntry] | None, shown: Sequence[HistoryEntry], limit: int
    ) -> list[HistoryEntry]:
        """`read` (the monitor's answer, or None to keep what the pane `shown`) with the rows
        that arrived since, newest first, without repeats; the new rows are taken."""
        base = list(read) if read is not None else list(shown)
        new, self.new = self.new, []
        if not base and not any(not isinstance(entry, Outage) for entry in new):
            new = []  # an outage alone is not this flag's history (as Monitor.history says)
        # The newest first: of two rows of one outage, the later (proved whole since it was
        # reported, `OutageProven`) is the one kept.
        return merge_history(new[::-1], base, limit=limit)
