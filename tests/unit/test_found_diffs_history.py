"""A configuration change a re-fetch found, in a flag's history (domain/history.py): the copy of
this run and a shared journal's copy (another recorder found it, by its own clock) are one row;
the same change found again much later is a row of its own."""

from __future__ import annotations

from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_config import Change, ConfigDiff
from togul_monitor.domain.history import FoundDiff, merge_history


def found(after: object, at: float) -> FoundDiff:
    change = Change("rules[r2].rollout_percentage", "changed", 25, after, "r2", 2)
    return FoundDiff(ConfigDiff("f", "env-1", None, None, (change,)), at)


def test_two_copies_of_one_found_change_are_one_row() -> None:
    mine, theirs = found(60, 100.0), found(60, 100.4)
    event = FlagEvent("flag.updated", "f", "env-1", 3, 90, None, 90.0)
    merged = merge_history([theirs, event], [mine], limit=10)
    assert merged == [theirs, event]
    later = found(60, 112.0)  # back to 25 at the next re-fetch, then found at 60 again
    assert merge_history([mine, later], [theirs], limit=10) == [later, mine]
    assert merge_history([mine], [found(70, 100.0)], limit=10) == [mine, found(70, 100.0)]
