"""A restarted Togul server's configuration diffs in a PostgreSQL journal (schema step 6,
store/postgres/schema.py): a diff of an event id the earlier life used is kept beside that
life's, each tied to its own event when read back (store/recorded.py), while another recorder's
copy of a diff is kept once; and a journal of step 5 with rows upgrades, the step idempotent."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg

from tests.journal_backends import fresh_schema_url, postgres_url, scratch_profile
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_config import Change, ConfigDiff
from togul_monitor.store.journal import open_journal_at, open_reader_at
from togul_monitor.store.model import (
    CONFIG_DIFF_COLUMNS,
    EVENT_COLUMNS,
    StoredDiff,
    config_diff_row,
    event_row,
)
from togul_monitor.store.postgres.schema import (
    ADDED_COLUMNS,
    ADDED_TABLES,
    MIGRATIONS,
    SCHEMA_VERSION,
)
from togul_monitor.store.recorded import tie_changes

FLAG = "support-tier"
RECENT = int(time.time()) - 3600  # within the retention each recorder's open applies


def event(life: int) -> FlagEvent:
    """Event 1 of the server's `life`: a seeded world's, the same version in both lives."""
    stamp = RECENT + 100 * life
    return FlagEvent("flag.updated", FLAG, "env-1", 41, stamp, "1", stamp)


def diff(life: int) -> ConfigDiff:
    change = Change("default_value", "changed", f"tier-{life}", f"tier-{life + 1}")
    return ConfigDiff(FLAG, "env-1", "1", 41, (change,), flag_id="flag-1")


LIVES = [event(0), event(1)]
DIFFS = [StoredDiff(diff(life), e.received_at + 0.5) for life, e in enumerate(LIVES)]


def record(target: str | Path, profile: str, lives: range, late: float = 0.0) -> None:
    """A recorder that saw `lives`, and computed each diff `late` seconds later than 0.5 s."""
    journal = open_journal_at(profile, target)
    try:
        for life in lives:
            journal.append_events([LIVES[life]])
            journal.append_config_diff(DIFFS[life].diff, DIFFS[life].at + late)
        assert journal.flush(timeout=10) and journal.write_error is None
    finally:
        journal.close()


def read_tied(target: str | Path, profile: str) -> list[tuple[FlagEvent, ConfigDiff]]:
    """Each diff the journal holds with the event the backfill ties it to, oldest first."""
    reader = open_reader_at(profile, target)
    try:
        _, diffs = reader.changes_since(0.0, 100)
        return [(e, s.diff) for e, s in tie_changes(LIVES, [], diffs).diffs]
    finally:
        reader.close()


def test_each_lives_diff_is_kept_and_another_recorders_copy_once() -> None:
    url = postgres_url()
    with scratch_profile(url) as profile:
        record(url, profile, range(2))
        record(url, profile, range(2), late=0.3)  # a second recorder of the same stream
        assert read_tied(url, profile) == [(LIVES[0], DIFFS[0].diff), (LIVES[1], DIFFS[1].diff)]


def schema_5(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """What a recorder of schema 5 made, with the first life's event and its diff."""
    for version in range(1, 6):
        for statement in MIGRATIONS[version]:
            conn.execute(statement)  # type: ignore[arg-type]
    conn.execute("CREATE TABLE schema_version (version integer NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (5)")
    for _, create in ADDED_TABLES:  # first, as a recorder adds them: a column may be theirs
        conn.execute(create)  # type: ignore[arg-type]
    for table, column, definition in ADDED_COLUMNS:
        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")  # type: ignore[arg-type]
    conn.execute(
        f"INSERT INTO events (profile, {EVENT_COLUMNS}, written_by_schema)"  # type: ignore[arg-type]
        " VALUES ('p', %s, %s, %s, %s, %s, %s, %s, 5)",
        event_row(LIVES[0]),
    )
    conn.execute(
        f"INSERT INTO config_diffs (profile, {CONFIG_DIFF_COLUMNS}, flag_id)"  # type: ignore[arg-type]
        " VALUES ('p', %s, %s, %s, %s, %s, %s, 'flag-1')",
        config_diff_row(DIFFS[0]),
    )


def test_a_schema_5_journal_upgrades_keeps_its_diff_once_and_the_step_runs_again() -> None:
    with fresh_schema_url() as url:
        with psycopg.connect(url) as conn:
            schema_5(conn)
        with psycopg.connect(url) as conn, conn.transaction():
            for statement in MIGRATIONS[6]:
                conn.execute(statement)  # type: ignore[arg-type]
            # It fills nothing in: its time is an index build, never a pass over the rows.
            written = conn.execute(
                "SELECT n_tup_upd + n_tup_ins + n_tup_del FROM pg_stat_xact_user_tables"
                " WHERE schemaname = current_schema() AND relname = 'config_diffs'"
            ).fetchone()
            assert written == (0,)
        # The version still says 5: the recorder's open runs the step again (it changes
        # nothing, fails nothing). Then the restarted server's event and diff, and another
        # recorder's copy of the first life's diff (journalled before the upgrade): kept once.
        record(url, "p", range(1, 2))
        record(url, "p", range(1), late=0.3)
        assert read_tied(url, "p") == [(LIVES[0], DIFFS[0].diff), (LIVES[1], DIFFS[1].diff)]
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT version FROM schema_version").fetchall() == [
                (SCHEMA_VERSION,)
            ]
            assert conn.execute("SELECT count(*) FROM config_diffs").fetchall() == [(2,)]
