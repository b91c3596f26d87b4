"""The history pane's bookkeeping, without Textual: which journal read is current, and the rows
that arrived since it.

The selected flag's history is read from the journal once per selection (on a thread worker: a
flush and a SQLite query); rows of that flag that arrive afterwards are kept here and merged in
memory, newest first. Reads are numbered: an answer to an older read (the selection moved on)
is dropped, and the pane is current when the latest read has been answered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from togul_monitor.domain.change_owners import ChangeOwners
from togul_monitor.domain.events import Outage
from togul_monitor.domain.history import HistoryEntry, merge_tied
from togul_monitor.ui.view.answers import ValueAnswers


class HistoryReads(msgspec.Struct):
    # The profile's environment (the answers' `environment_id`, once the snapshot says it) and
    # the environments' keys by id: a value change is its own environment's event's, as the
    # journal's readers tie it (domain/change_owners.py); a token streams every environment,
    # whose event ids repeat.
    answers: ValueAnswers | None = None
    names: Mapping[str, str] = msgspec.field(default_factory=dict)
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
    ) -> tuple[list[HistoryEntry], ChangeOwners]:
        """`read` (the monitor's answer, or None to keep what the pane `shown`) with the rows
        that arrived since, newest first, without repeats; the new rows are taken. And the
        events the merge tied their value changes to (the pane's `enter` opens a change's)."""
        base = list(read) if read is not None else list(shown)
        new, self.new = self.new, []
        if not base and not any(not isinstance(entry, Outage) for entry in new):
            new = []  # an outage alone is not this flag's history (as Monitor.history says)
        # The newest first: of two rows of one outage, the later (proved whole since it was
        # reported, `OutageProven`) is the one kept.
        environment = None if self.answers is None else self.answers.environment_id
        return merge_tied(
            new[::-1], base, limit=limit, environment_id=environment, environment_names=self.names
        )
