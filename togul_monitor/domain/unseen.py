"""Flags whose next change may hold changes the stream did not show (`includes_unseen`).

An outage that may have missed changes marks every flag; a possible gap marks one flag; an
unusable event marks every flag. An outage first reported so (nothing came within a second of
the reconnect) may be proved whole by the first event after it (client/outages.py): then the
marks it added are taken back (`unmark_outage`), not those that were there before it.

A value remembered from an earlier run (the journal's last value) is marked too: the server may
have changed while nobody watched. That time is the run's first outage (core/recording.py
`_resume_point`), so when the journal dates it (its "watched until" mark) the mark is of that
outage's cause (`remember`): proved whole by the replay (`unmark_remembered`), the remembered
value and the replayed events are the whole account; reported as one that may have missed
changes, its mark of every flag takes these marks over, and a later proof takes them back with
its own. A value remembered from a journal without that mark keeps its mark (`add`), and so
does one the journal kept in doubt (`in_doubt`, core/doubt.py): that proof is not of its cause.
"""

from __future__ import annotations

from collections.abc import Iterable


class UnseenMarks(set[str]):
    """A set of flag keys (the hot path's `in` and `discard` are the set's own), which also
    remembers what the last mark of every flag added, and which marks are of values remembered
    from an earlier run."""

    def __init__(self) -> None:
        super().__init__()
        self._added_by_last_all: set[str] = set()
        self._remembered: set[str] = set()  # see `remember`

    def mark(self, known: Iterable[str], keys: Iterable[str] | None) -> None:
        """Mark `keys` among `known` (None: every known flag)."""
        if keys is None:
            added = set(known) - self
            # The first mark of every flag is the outage between the runs' (nothing else marks
            # every flag before that outage is told): the marks of remembered values are its.
            added.update(self._remembered & self)
            self._remembered = set()
            self._added_by_last_all = added
            self.update(added)
        else:
            for key in keys:
                if key in known:
                    self.add(key)

    def in_doubt(self, key: str) -> bool:
        """Whether `key`'s value may hide changes for a cause a later run's proof does not take
        back: any mark but that of a value remembered from an earlier run (`remember`), whose
        cause is the time between the runs. That time is a later run's outage too while this
        run has not decided it (the "watched until" mark does not move meanwhile), and a value
        the journal keeps in doubt is marked by its next run for a cause of its own (`add`)."""
        return key in self and key not in self._remembered

    def add(self, key: str) -> None:
        """Mark `key` for a cause of its own (a gap, a value gone stale): a proof of the outage
        that marked it too no longer takes the mark back."""
        self._added_by_last_all.discard(key)
        self._remembered.discard(key)
        super().add(key)

    def remember(self, key: str) -> None:
        """Mark `key`, whose value is remembered from an earlier run that was watched until a
        known time: a proof that nothing was missed since (`unmark_remembered`, or the proof of
        the outage that took the mark over: `unmark_outage`) takes the mark back."""
        self._added_by_last_all.discard(key)
        self._remembered.add(key)
        super().add(key)

    def forget(self, key: str) -> None:
        """`key` is forgotten (a deleted flag past the bound, core/deleted_flags.py): no mark
        of any cause is left of it."""
        self.discard(key)
        self._added_by_last_all.discard(key)
        self._remembered.discard(key)

    def unmark_remembered(self) -> None:
        """The time since the earlier run was proved whole (the outage between the runs, told
        whole at once): the marks of values remembered from it, not cleared by an answer yet
        nor marked since for a cause of their own, are taken back."""
        self.difference_update(self._remembered)
        self._remembered = set()

    def unmark_outage(self) -> None:
        """The outage behind the last mark of every flag proved whole: the marks it added and
        no answer has cleared yet are taken back; a flag marked since for a cause of its own
        (`add`) keeps its mark."""
        self.difference_update(self._added_by_last_all)
        self._added_by_last_all = set()
