"""Where a paused feed stood when it paused (view/feed_store.py): a new filter while paused is
applied to the view as it stood then, and the rows that came after stay held (`+N new`)."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from togul_monitor.ui.view.rows import Row


class PauseMark(msgspec.Struct, frozen=True):
    position: int = 0  # the log position of the first row after the mark
    # Found rows shown at `position` already: a found row takes the position of the log's next
    # row (view/found.py), so one placed there came after the mark unless it is one of these.
    found: frozenset[int] = frozenset()

    @classmethod
    def at(cls, position: int, found: Iterable[tuple[int, Row]]) -> PauseMark:
        """The mark at log `position`, with the found rows (position, row) there now."""
        return cls(position, frozenset(id(row) for at, row in found if at >= position))

    def after(self, at: int, row: Row) -> bool:
        """Whether `row`, at log position `at`, came after the mark."""
        return at > self.position or (at == self.position and id(row) not in self.found)
