"""SQLite's sink writes a batch of any size as a few statements of fixed sizes (each prepared
once per connection), every event exactly, in order."""

from __future__ import annotations

from pathlib import Path

import msgspec

from togul_monitor.domain.events import FlagEvent
from togul_monitor.store.journal import Journal
from togul_monitor.store.model import EVENT_COLUMNS, event_from_row
from togul_monitor.store.sqlite.schema import open_database
from togul_monitor.store.sqlite.sink import insert_events


def ev(i: int) -> FlagEvent:
    # Integral and fractional timestamps, ids and none, keys beyond ASCII: all must come back.
    return FlagEvent(
        "flag.updated" if i % 2 else "rule.created",
        f"flag-{i % 7}-é",
        "env-1",
        i,
        1_700_000_000 + i if i % 3 else 1_700_000_000.125 + i,
        str(i) if i % 5 else None,
        2_000.1 + i / 3,
    )


def test_batches_of_every_size_are_stored_whole_and_in_order(tmp_path: Path) -> None:
    conn = open_database(tmp_path / "j.sqlite3")
    rows_per_insert: set[int] = set()

    def traced(sql: str) -> None:
        if sql.startswith("INSERT INTO events"):
            rows_per_insert.add(sql.count("), (") + 1)

    conn.set_trace_callback(traced)
    sizes = [1, 9, 10, 11, 99, 100, 101, 999, 1000, 1001, 2345, 0, 3]
    events = [ev(i) for i in range(sum(sizes))]
    start = 0
    for size in sizes:
        with conn:
            insert_events(conn, events[start : start + size])
        start += size
    rows = conn.execute(f"SELECT {EVENT_COLUMNS} FROM events ORDER BY seq").fetchall()
    conn.close()
    assert [event_from_row(row) for row in rows] == events
    assert rows_per_insert == {1000, 100, 10, 1}  # whatever the batch sizes were


def test_batches_appended_while_the_writer_commits_arrive_whole_and_in_order(
    tmp_path: Path,
) -> None:
    journal = Journal.open(tmp_path / "j.sqlite3", batch_pause=0.0)
    try:
        events = [ev(i) for i in range(5000)]
        start, size = 0, 1
        while start < len(events):
            journal.append_events(events[start : start + size])
            start += size
            size = size * 3 % 997 + 1  # batch sizes all over the place, the writer running
        assert journal.flush(timeout=30) and journal.pending == 0
        assert list(journal.iter_events()) == events
        assert journal.appended.events == 5000 and journal.dropped == 0
    finally:
        journal.close()


def test_runs_of_one_environment_and_mixed_runs_are_stored_exactly(tmp_path: Path) -> None:
    # A stream's events share one environment (its id is bound once per statement); an
    # organisation-wide stream mixes them: each row keeps its own, whatever the chunk held.
    conn = open_database(tmp_path / "j.sqlite3")
    events = []
    for i in range(2222):
        event = ev(i)
        if 1000 <= i < 1100 and i % 37 == 0 or i >= 2200 and i % 2:
            event = msgspec.structs.replace(event, environment_id=f"env-{i % 3 + 2}")
        events.append(event)
    statements: list[str] = []

    def traced(sql: str) -> None:  # the SQL as run, its parameters written in
        if sql.startswith("INSERT INTO events"):
            one = sql.startswith("INSERT INTO events (environment_id,")
            statements.append(f"{sql.count('), (') + 1} {'one' if one else 'mixed'}")

    conn.set_trace_callback(traced)
    with conn:
        insert_events(conn, events)
    conn.set_trace_callback(None)
    rows = conn.execute(f"SELECT {EVENT_COLUMNS} FROM events ORDER BY seq").fetchall()
    conn.close()
    assert [event_from_row(row) for row in rows] == events
    assert {e.environment_id for e in events} == {"env-1", "env-2", "env-3", "env-4"}
    # The chunks (1000s, 100s, 10s, 1s): bound once where a chunk holds one environment.
    assert statements == [
        "1000 one",  # 0..999
        "1000 mixed",  # 1000..1999: 1036 and 1073 are of others
        "100 one",
        "100 one",
        "10 mixed",  # 2200..2219: every odd one of another
        "10 mixed",
        "1 one",
        "1 one",
    ]
