"""A Togul server that restarts numbers its events from 1 again, and a seeded world (the
emulator's `--seed`) starts its flags' versions again too: the restarted server's event 1 has
the id, flag, type and version of the first life's, and only its time tells it apart (the stream
client keeps it as news for that: client/items_run.py `is_news`). Both lives' events are
journalled, each value change stays with its own event (`history`, `export`), in SQLite and in
PostgreSQL alike; a true replay (the same event again: another recorder's copy, a reconnect) is
kept once in PostgreSQL, whose recorders share a journal. A PostgreSQL journal of schema 3
upgrades with its rows and keeps them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.journal_backends import JournalBackend, fresh_schema_url, postgres_url, scratch_profile
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.store.journal import open_journal_at, open_reader_at
from togul_monitor.store.model import EVENT_COLUMNS, TRANSITION_COLUMNS, event_row, transition_row
from togul_monitor.store.postgres.schema import ADDED_COLUMNS, MIGRATIONS, SCHEMA_VERSION

# What an older program inserted: the columns before `environment_key`.
OLDER_TRANSITION_COLUMNS = TRANSITION_COLUMNS.removesuffix(", environment_key")

FLAG = "support-tier"
# Within the journal's retention (90 days by default): each recorder's open applies it.
RECENT = int(time.time()) - 3600
TIERS = [Evaluation(f"tier-{i}", "string", "rule_match", True) for i in range(7)]


def event(event_id: int, life: int) -> FlagEvent:
    """Event `event_id` of the server's `life`: the same version in both (a seeded world)."""
    stamp = RECENT + 100 * life + event_id
    return FlagEvent("flag.updated", FLAG, "env-1", 40 + event_id, stamp, str(event_id), stamp)


def change(e: FlagEvent, step: int) -> ValueTransition:
    """The value change `e` made, computed half a second after it came."""
    return ValueTransition(FLAG, TIERS[step], TIERS[step + 1], e.event_id, e.received_at + 0.5)


FIRST = [event(i, 0) for i in (1, 2, 3)]
SECOND = [event(i, 1) for i in (1, 2, 3)]
CHANGES = [change(e, step) for step, e in enumerate(FIRST + SECOND)]


def record(
    target: str | Path, profile: str, events: list[FlagEvent], changes: list[ValueTransition]
) -> None:
    journal = open_journal_at(profile, target)
    try:
        for e, t in zip(events, changes, strict=True):
            journal.append_events([e])
            journal.append_transition(t)
        assert journal.flush(timeout=10) and journal.write_error is None
    finally:
        journal.close()


def expected_history() -> list[object]:
    """Newest first, each change right above its own event."""
    rows: list[object] = []
    for e, t in zip(FIRST + SECOND, CHANGES, strict=True):
        rows += [e, t]
    return rows[::-1]


def test_both_lives_events_and_changes_are_journalled_each_with_its_own(
    journal_backend: JournalBackend,
) -> None:
    record(journal_backend.target, journal_backend.profile, FIRST + SECOND, CHANGES)
    read = journal_backend.reader()
    assert read.history(FLAG) == expected_history()
    assert list(read.iter_events()) == FIRST + SECOND  # what `export` writes
    assert list(read.iter_transitions()) == CHANGES


@pytest.fixture
def url() -> str:
    return postgres_url()


@pytest.fixture
def profile(url: str) -> Iterator[str]:
    with scratch_profile(url) as name:
        yield name


def test_a_replay_and_another_recorders_copies_are_kept_once(url: str, profile: str) -> None:
    record(url, profile, FIRST + SECOND, CHANGES)
    # A second recorder saw the same events, and computed its changes a little later; the
    # first life's event 2 is also replayed (a reconnect after Last-Event-ID), the value moved
    # meanwhile: its change replaces the first one's, as SQLite's `transitions_for` keeps the
    # newest.
    later = [
        ValueTransition(t.flag_key, t.before, t.after, t.event_id, t.at + 0.3) for t in CHANGES
    ]
    record(url, profile, FIRST + SECOND, later)
    moved = ValueTransition(FLAG, TIERS[1], TIERS[6], "2", FIRST[1].received_at + 0.9)
    record(url, profile, [FIRST[1]], [moved])
    read = open_reader_at(profile, url)
    try:
        assert list(read.iter_events()) == FIRST + SECOND
        kept = list(read.iter_transitions())
        assert len(kept) == 6
        assert sorted(kept, key=lambda t: t.at) == [CHANGES[0], moved, *CHANGES[2:]]
    finally:
        read.close()


def test_a_schema_3_journal_with_rows_upgrades_and_keeps_both_lives() -> None:
    with fresh_schema_url() as url:
        with psycopg.connect(url) as conn:  # what a recorder of schema 3 made and wrote
            for version in (1, 2, 3):
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)
            conn.execute("CREATE TABLE schema_version (version integer NOT NULL)")
            conn.execute("INSERT INTO schema_version VALUES (3)")
            for table, column, definition in ADDED_COLUMNS[:1]:  # a schema-3 program's
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
            for e, t in zip(FIRST, CHANGES[:3], strict=True):
                conn.execute(
                    f"INSERT INTO events (profile, {EVENT_COLUMNS})"
                    " VALUES ('p', %s, %s, %s, %s, %s, %s, %s)",
                    event_row(e),
                )
                conn.execute(
                    f"INSERT INTO transitions (profile, {OLDER_TRANSITION_COLUMNS})"
                    " VALUES ('p', %s, %s, %s, %s, %s, %s, %s)",
                    transition_row(t)[:7],
                )
        # The upgrade, then the restarted server's events, and another recorder's copy of
        # the first life's (journalled before the upgrade): kept once.
        record(url, "p", SECOND, CHANGES[3:])
        copies = [
            ValueTransition(t.flag_key, t.before, t.after, t.event_id, t.at + 0.3)
            for t in CHANGES[:3]
        ]
        record(url, "p", FIRST, copies)
        read = open_reader_at("p", url)
        try:
            assert read.history(FLAG) == expected_history()
            assert list(read.iter_events()) == FIRST + SECOND
        finally:
            read.close()
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT version FROM schema_version").fetchall() == [
                (SCHEMA_VERSION,)
            ]
            # Idempotent: the step again changes nothing and fails nothing.
            for statement in MIGRATIONS[4]:
                conn.execute(statement)
            assert conn.execute("SELECT count(*) FROM transitions").fetchall() == [(6,)]
