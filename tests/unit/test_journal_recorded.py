"""What the journal recorded with the events a monitor preloads (store/recorded.py): each value
transition and configuration diff with its event, by id, or in the documented stream form (no
ids) by flag, environment and version (diffs) or by flag and time (transitions); in two queries."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from msgspec.structs import replace

from togul_monitor.domain.change_owners import TIE_WITHIN
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_config import Change, ConfigDiff
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.store import reader
from togul_monitor.store.journal import Journal
from togul_monitor.store.model import StoredDiff
from togul_monitor.store.recorded import read_recorded_changes, tie_changes
from togul_monitor.store.sqlite.reader import SqliteReader

from ..journal_backends import JournalBackend

SWITCH = Change("enabled", "changed", True, False)


def ev(key: str, version: int, at: float, event_id: str | None, env: str = "env-1") -> FlagEvent:
    return FlagEvent("flag.updated", key, env, version, int(at), event_id, at)


def change(key: str, at: float, event_id: str | None, before: bool = True) -> ValueTransition:
    def value(v: bool) -> Evaluation:
        return Evaluation(v, "boolean", "rule_match", True)

    return ValueTransition(key, value(before), value(not before), event_id, at)


def diff(key: str, version: int, event_id: str | None, env: str = "env-1") -> ConfigDiff:
    return ConfigDiff(key, env, event_id, version, (SWITCH,))


def record(
    backend: JournalBackend | Path,
    events: list[FlagEvent],
    transitions: list[ValueTransition],
    diffs: list[tuple[ConfigDiff, float]],
) -> list[FlagEvent]:
    """A journal holding these; its latest events read back (new objects, as at a start)."""
    journal = Journal.open(backend) if isinstance(backend, Path) else backend.open()
    journal.append_events(events)
    for transition in transitions:
        journal.append_transition(transition)
    for d, at in diffs:
        journal.append_config_diff(d, at)
    journal.close()
    read = SqliteReader(backend) if isinstance(backend, Path) else backend.reader()
    return read.recent_events(3)  # the oldest event is not loaded


def test_with_ids_each_change_goes_to_the_event_it_names(journal_backend: JournalBackend) -> None:
    old, e1, e2, e3 = (
        ev("f", 1, 5, "0"),
        ev("f", 2, 10, "1"),
        ev("g", 1, 11, "2"),
        ev("f", 3, 12, "3"),
    )
    loaded = record(
        journal_backend,
        [old, e1, e2, e3],
        [change("f", 5.5, "0"), change("f", 10.5, "1"), change("g", 20.0, None)],
        [(diff("f", 3, "3"), 12.5), (diff("f", 1, "0"), 5.6), (diff("h", 9, None), 12.6)],
    )
    got = read_recorded_changes(journal_backend.reader(), loaded)
    # Before the oldest loaded event: not read; without an event (a re-evaluation, a re-fetch):
    # explains no row.
    assert [(e.event_id, t.at) for e, t in got.transitions] == [("1", 10.5)]
    assert [(e.event_id, s.diff.version) for e, s in got.diffs] == [("3", 3)]
    assert got.transitions[0][0] is loaded[0] and got.diffs[0][0] is loaded[2]  # the log's own


def test_without_ids_changes_are_tied_by_version_and_time(journal_backend: JournalBackend) -> None:
    e1, e2, e3 = ev("f", 1, 10, None), ev("g", 1, 11, None), ev("f", 2, 12, None)
    other = ev("g", 4, 11.5, None, env="env-2")  # a token stream: another environment's event
    loaded = record(
        journal_backend,
        [e1, e2, other, e3],
        [
            change("f", 10.5, None),  # e1's answer
            change("f", 10.7, None, before=False),  # a re-evaluation after it: no row
            change("g", 11.6, None),  # e2's: the env-2 event is not the profile's
            change("f", 12 + TIE_WITHIN + 1, None),  # the next start's baseline: no row
        ],
        [(diff("f", 2, None), 12.5), (diff("g", 4, None, env="env-2"), 11.7)],
    )
    read = journal_backend.reader()
    loaded = read.recent_events(4)
    got = read_recorded_changes(read, loaded, environment_id="env-1")
    assert [(e.flag_key, e.version, t.at) for e, t in got.transitions] == [
        ("f", 1, 10.5),
        ("g", 1, 11.6),
    ]
    assert [(e.flag_key, e.environment_id, e.version) for e, _ in got.diffs] == [
        ("f", "env-1", 2),
        ("g", "env-2", 4),
    ]
    assert all(any(e is row for row in loaded) for e, _ in got.transitions + got.diffs)


def test_the_read_is_two_queries_whatever_the_number_of_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "j.sqlite3"
    events = [ev(f"f{i % 50}", i, 100 + i, None) for i in range(10_000)]
    record(path, events, [change(f"f{i % 50}", 100.5 + i, None) for i in range(0, 10_000, 7)], [])
    loaded = reader.read_recent_events(path, 10_000)
    statements: list[str] = []
    connect = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn: sqlite3.Connection = connect(*args, **kwargs)
        conn.set_trace_callback(statements.append)
        return conn

    monkeypatch.setattr(sqlite3, "connect", traced)  # the reader's connections
    got = read_recorded_changes(SqliteReader(path), loaded)
    assert len(got.transitions) == len(range(0, 10_000, 7))
    reads = [s for s in statements if "FROM transitions" in s or "FROM config_diffs" in s]
    assert len(reads) == 2, statements  # not one per event


def test_a_repeated_version_ties_each_diff_to_the_event_received_last_before_it() -> None:
    # A flag deleted and created again with its key: the new flag's versions start at 1 again.
    v1, v2, gone = ev("f", 1, 10, None), ev("f", 2, 11, None), ev("f", 3, 12, None)
    again_v1, again_v2 = ev("f", 1, 13, None), ev("f", 2, 14, None)
    events = [v1, v2, gone, again_v1, again_v2]
    got = tie_changes(
        events,
        [change("f", 11.5, None), change("f", 14.5, None, before=False)],
        [StoredDiff(diff("f", 2, None), 11.2), StoredDiff(diff("f", 1, None), 13.1)],
    )
    assert [(e, s.at) for e, s in got.diffs] == [(v2, 11.2), (again_v1, 13.1)]
    assert got.diffs[0][0] is v2 and got.diffs[1][0] is again_v1  # not the new flag's
    assert [(e, t.at) for e, t in got.transitions] == [(v2, 11.5), (again_v2, 14.5)]
    assert got.transitions[0][0] is v2 and got.transitions[1][0] is again_v2
    # A diff stamped before any event of its version (a shared journal keeps the event as
    # another recorder stamped it, by a clock a little ahead): the first event of that version.
    early = tie_changes(events, [], [StoredDiff(diff("f", 2, None), 10.9)])
    assert [(e, s.at) for e, s in early.diffs] == [(v2, 10.9)] and early.diffs[0][0] is v2
    # Long before any event of its version (the old flag's v2, read with the new flag's only):
    # no clock is that far off; it explains none of them.
    assert tie_changes([again_v1, again_v2], [], [StoredDiff(diff("f", 2, None), 1.0)]).diffs == ()


def test_a_recreated_flag_s_rows_read_back_with_their_own_diffs(
    journal_backend: JournalBackend,
) -> None:
    # Created, its default changed (v2), deleted (v3), created again (v1) and patched with no
    # change (v2: no diff): after a restart the diff is the first v2's, not the second's.
    events = [
        FlagEvent("flag.created", "dup2", "env-1", 1, 10, None, 10.0),
        FlagEvent("flag.updated", "dup2", "env-1", 2, 11, None, 11.0),
        FlagEvent("flag.deleted", "dup2", "env-1", 3, 12, None, 12.0),
        FlagEvent("flag.created", "dup2", "env-1", 1, 13, None, 13.0),
        FlagEvent("flag.updated", "dup2", "env-1", 2, 14, None, 14.0),
    ]
    default = ConfigDiff(
        "dup2", "env-1", None, 2, (Change("default_value", "changed", False, True),)
    )
    journal = journal_backend.open()
    journal.append_events(events)
    journal.append_config_diff(default, 11.3)
    journal.close()
    read = journal_backend.reader()
    loaded = read.recent_events(5)
    got = read_recorded_changes(read, loaded, environment_id="env-1")
    assert [(e.type, e.version, e.received_at) for e, _ in got.diffs] == [("flag.updated", 2, 11.0)]
    assert got.diffs[0][0] is loaded[1] and got.diffs[0][1].diff == default


def test_a_change_found_after_an_outage_or_a_stop_is_not_tied_to_an_event_before_it() -> None:
    """Without ids a change is tied by time. One that may hold what the stream did not show
    was found by a re-evaluation of its own (after an outage, at a start), unless its answer
    came with an event's, just after it: live it is on no row, and read back neither."""
    edited = ev("f", 2, 10, None)
    found_later = change("f", 43.0, None)  # 33 s later: the re-evaluation after an outage
    found_later = replace(found_later, includes_unseen=True)
    with_its_event = replace(change("f", 10.4, None), includes_unseen=True)
    retried = replace(change("f", 16.0, None), includes_unseen=True)  # a failed first answer
    assert [t for _, t in tie_changes([edited], [retried], []).transitions] == [retried]
    plain_late = change("f", 43.0, None)  # an answer retried, long after its event
    assert tie_changes([edited], [found_later], []).transitions == ()
    assert [t for _, t in tie_changes([edited], [with_its_event], []).transitions] == [
        with_its_event
    ]
    assert [t for _, t in tie_changes([edited], [plain_late], []).transitions] == [plain_late]


def test_a_restarted_server_s_event_reads_back_without_the_earlier_life_s_diff(
    journal_backend: JournalBackend,
) -> None:
    # The world started again: event 1 of the flag at version 2 in both lives, a diff in the
    # first only (the second's token was refused). Read back, the diff is the first event's.
    events = [
        FlagEvent("flag.updated", "f", "env-1", 2, 100, "1", 100.0),
        FlagEvent("flag.updated", "f", "env-1", 2, 130, "1", 130.0),
    ]
    journal = journal_backend.open()
    journal.append_events(events)
    journal.append_config_diff(diff("f", 2, "1"), 100.3)
    journal.close()
    read = journal_backend.reader()
    loaded = read.recent_events(5)
    got = read_recorded_changes(read, loaded, environment_id="env-1")
    assert [(e.received_at, s.at) for e, s in got.diffs] == [(100.0, 100.3)]
    assert got.diffs[0][0] is loaded[0]
