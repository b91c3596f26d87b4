"""Flags whose next change may hold changes the stream did not show (`includes_unseen`).

An outage that may have missed changes marks every flag; a possible gap marks one flag; an
unusable event marks every flag. An outage first reported so (nothing came within a second of
the reconnect) may be proved whole by the first event after it (client/outages.py): then the
marks it added are taken back (`unmark_outage`), not those that were there before it.
"""

from __future__ import annotations

from collections.abc import Iterable


class UnseenMarks(set[str]):
    """A set of flag keys (the hot path's `in` and `discard` are the set's own), which also
    remembers what the last mark of every flag added."""

    def __init__(self) -> None:
        super().__init__()
        self._added_by_last_all: set[str] = set()

    def mark(self, known: Iterable[str], keys: Iterable[str] | None) -> None:
        """Mark `keys` among `known` (None: every known flag)."""
        if keys is None:
            added = set(known) - self
            self._added_by_last_all = added
            self.update(added)
        else:
            for key in keys:
                if key in known:
                    self.add(key)

    def add(self, key: str) -> None:
        """Mark `key` for a cause of its own (a gap, a value gone stale): a proof of the outage
        that marked it too no longer takes the mark back."""
        self._added_by_last_all.discard(key)
        super().add(key)

    def unmark_outage(self) -> None:
        """The outage behind the last mark of every flag proved whole: the marks it added and
        no answer has cleared yet are taken back; a flag marked since for a cause of its own
        (`add`) keeps its mark."""
        self.difference_update(self._added_by_last_all)
        self._added_by_last_all = set()
