"""A configuration change a re-fetch found, in a flag's history (domain/history.py): the copy of
this run and a shared journal's copy (another recorder found it, by its own clock) are one row;
the same change found again much later is a row of its own."""

from __future__ import annotations

from togul_monitor.cli.history_lines import diff_lines, with_diffs
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_config import Change, ConfigDiff
from togul_monitor.domain.history import FoundDiff, merge_history
from togul_monitor.store.model import StoredDiff, config_diff_from_row, config_diff_row


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


def test_history_lists_one_change_two_recorders_found_once() -> None:
    # A shared journal of a server that does not say its versions: no identity in common, so
    # both recorders' rows are there; `history` reads them as the history pane does.
    switched_off = ConfigDiff(
        "f", "env-1", None, None, (Change("enabled", "changed", True, False),)
    )
    copies = [StoredDiff(switched_off, 1010.0), StoredDiff(switched_off, 1006.0)]
    later = StoredDiff(switched_off, 1100.0)  # switched on and off again since: its own row
    merged = with_diffs([], [later, *copies], limit=10)
    assert merged == [later, copies[0]]
    assert sum("flag switched off" in line for d in merged for line in diff_lines(d)) == 2


def test_the_journal_keeps_a_found_change_by_the_version_it_read() -> None:
    # The version column is the identity where there is no event id: a re-fetch's is the
    # configuration's version it read, in both backends (one row helper); the diff says which.
    found = ConfigDiff("f", "env-1", None, None, (), fetched_version=4)
    row = config_diff_row(StoredDiff(found, 1.0))
    assert row[2:4] == (None, 4)
    back = config_diff_from_row(row)
    assert back is not None and back.diff == found and back.diff.found_by_refetch
    explained = ConfigDiff("f", "env-1", None, 3, ())
    assert config_diff_row(StoredDiff(explained, 1.0))[2:4] == (None, 3)
