"""Which of a context's last values the journal keeps as possibly hiding changes.

A value whose flag is marked (domain/unseen.py `in_doubt`: the stream may have missed changes
since it was read, and no answer has read it again) may hide changes the stream did not show.
A run that stops then leaves the journal that value, and the next run's replay proves only the
time between the runs whole, not the earlier time: so the journal's row says the value is in
doubt (store/model.py `LastValue.in_doubt`), and the next run keeps its mark whatever the replay
proves. The rows are written when a value's doubt changes: a mark (an outage, a gap, an
unusable event: rare, never per event), a proof that takes marks back, or an answer that reads
the value again; each row once, with the value the run holds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from togul_monitor.domain.flag_values import FlagValues
from togul_monitor.domain.values import Evaluation
from togul_monitor.store.journal import Journal


class JournalledDoubt:
    """The flags whose journal row says in doubt, as far as this run wrote or read them."""

    def __init__(self) -> None:
        self._held: set[str] = set()

    def changed(self, values: FlagValues, key: str) -> bool:
        """Whether `key`'s doubt is not what the journal holds (its row is due again)."""
        return values.unseen.in_doubt(key) != (key in self._held)

    def written(self, key: str, in_doubt: bool) -> None:
        (self._held.add if in_doubt else self._held.discard)(key)

    def forget(self, keys: Sequence[str]) -> None:
        """Forgotten flags (core/deleted_flags.py): their rows stay as the journal holds them,
        and no sync writes them again (this run holds no value of theirs to write)."""
        self._held.difference_update(keys)

    def sync(self, values: FlagValues, journal: Journal | None) -> None:
        """Rewrite the rows whose doubt changed (after marks were added or taken back)."""
        if journal is None:
            return
        doubted = {key for key in values.unseen if values.unseen.in_doubt(key)}
        for key in doubted ^ self._held:
            self._write(values, journal, key)

    def adopt(self, values: FlagValues, journal: Journal, held: Iterable[str]) -> None:
        """A journal taken over (core/takeover.py), whose rows in doubt are `held`: the values
        this run holds in doubt are written so; the rows it holds in doubt stay until an answer
        reads their values again (this run may not have seen what put them in doubt)."""
        self._held = set(held)
        for key in list(values.unseen):
            if values.unseen.in_doubt(key) and key not in self._held:
                self._write(values, journal, key)

    def _write(self, values: FlagValues, journal: Journal, key: str) -> None:
        in_doubt = _rewrite(values, journal, key)
        if in_doubt is not None:
            self.written(key, in_doubt)

    def set_last(
        self,
        values: FlagValues,
        journal: Journal | None,
        key: str,
        evaluation: Evaluation | None,
        at: float,
        deleted: bool = False,
    ) -> None:
        """`key`'s last value into the journal, with its doubt as `values` hold it now."""
        if journal is not None:
            self.written(key, _set_last(values, journal, key, evaluation, at, deleted))


def _set_last(
    values: FlagValues,
    journal: Journal,
    key: str,
    evaluation: Evaluation | None,
    at: float,
    deleted: bool,
) -> bool:
    """`key`'s last value into the journal, with its doubt as `values` hold it now (returned)."""
    in_doubt = values.unseen.in_doubt(key)
    journal.set_last_value(
        key,
        evaluation,
        at,
        deleted=deleted,
        context=values.context,
        environment=values.environment_key,
        in_doubt=in_doubt,
    )
    return in_doubt


def _rewrite(values: FlagValues, journal: Journal, key: str) -> bool | None:
    """`key`'s value as `values` hold it into the journal, with its doubt (returned); None:
    never answered nor remembered, no row."""
    value = values.get(key)
    if value is None or value.evaluated_at is None:
        return None
    if not value.deleted and value.current is None:
        return None
    evaluation = value.previous if value.deleted else value.current
    return _set_last(values, journal, key, evaluation, value.evaluated_at, value.deleted)


def journal_values(
    journal: Journal,
    value_sets: Mapping[str, FlagValues],
    since: float,
    held: Mapping[tuple[str, str], float],
) -> None:
    """A hand-over's (core/takeover.py): each context's values evaluated since `since` and later
    than the journal's (`held`), with their doubt: the next run compares with the journal's, and
    older ones would find these changes again."""
    for context, values in value_sets.items():
        for key, value in values.mapping.items():
            at = value.evaluated_at
            if at is None or at < since or at <= held.get((context, key), -math.inf):
                continue
            _rewrite(values, journal, key)
