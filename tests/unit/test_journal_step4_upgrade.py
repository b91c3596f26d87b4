"""PostgreSQL schema step 4 on a journal an older program wrote (store/postgres/schema.py): the
step's time is its two index builds, never a pass over the rows (the database's readers and
recorders wait on it); and an older program's recorder, whose value changes the step leaves no
index to insert by, is warned of when the step runs and noticed while it goes on writing."""

from __future__ import annotations

import logging
import re
import time

import psycopg
import pytest

from tests.journal_backends import fresh_schema_url
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.store.journal import open_journal_at
from togul_monitor.store.model import EVENT_COLUMNS, TRANSITION_COLUMNS, event_row, transition_row
from togul_monitor.store.postgres import older
from togul_monitor.store.postgres.schema import ADDED_COLUMNS, MIGRATIONS

# What an older program inserted: the columns before `environment_key`.
OLDER_TRANSITION_COLUMNS = TRANSITION_COLUMNS.removesuffix(", environment_key")

RECENT = int(time.time()) - 3600
A, B = (Evaluation(v, "string", "rule_match", True) for v in "ab")


def event(event_id: int) -> FlagEvent:
    stamp = RECENT + event_id
    return FlagEvent("flag.updated", "f", "env-1", event_id, stamp, str(event_id), stamp)


def schema_3(conn: psycopg.Connection[tuple[object, ...]], rows: int) -> None:
    """What a recorder of schema 3 made, with `rows` events and their changes."""
    for version in (1, 2, 3):
        for statement in MIGRATIONS[version]:
            conn.execute(statement)  # type: ignore[arg-type]
    conn.execute("CREATE TABLE schema_version (version integer NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (3)")
    conn.execute(f"ALTER TABLE transitions ADD COLUMN {' '.join(ADDED_COLUMNS[0][1:])}")  # type: ignore[arg-type]
    for i in range(1, rows + 1):
        e = event(i)
        conn.execute(
            f"INSERT INTO events (profile, {EVENT_COLUMNS}) VALUES ('p', %s, %s, %s, %s, %s, %s, %s)",  # type: ignore[arg-type]
            event_row(e),
        )
        change = ValueTransition("f", A, B, e.event_id, e.received_at + 0.5)
        conn.execute(
            f"INSERT INTO transitions (profile, {OLDER_TRANSITION_COLUMNS})"  # type: ignore[arg-type]
            " VALUES ('p', %s, %s, %s, %s, %s, %s, %s)",
            transition_row(change)[:7],
        )


def test_step_4_rewrites_no_transition() -> None:
    # A pass over every transition (one look-up each) held every reader and recorder of the
    # database for minutes at millions of rows, and was quadratic on unanalysed statistics.
    with fresh_schema_url() as url:
        with psycopg.connect(url) as conn:
            schema_3(conn, 3)
        with psycopg.connect(url) as conn, conn.transaction():
            for statement in MIGRATIONS[4]:
                conn.execute(statement)  # type: ignore[arg-type]
            written = conn.execute(
                "SELECT n_tup_upd + n_tup_ins + n_tup_del FROM pg_stat_xact_user_tables"
                " WHERE schemaname = current_schema() AND relname = 'transitions'"
            ).fetchone()
            assert written == (0,)
            # The rows keep the key they had: one change per id, flag and context.
            seqs = conn.execute("SELECT DISTINCT event_seq FROM transitions").fetchall()
            assert seqs == [(0,)]


def test_the_migrating_recorder_says_every_older_recorder_must_stop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with fresh_schema_url() as url:
        with psycopg.connect(url) as conn:
            schema_3(conn, 1)
        # An older program connected meanwhile (it names its connections so).
        with psycopg.connect(url, application_name="togul-monitor"):
            with caplog.at_level(logging.WARNING, logger="togul_monitor.store.postgres.schema"):
                open_journal_at("p", url).close()
                open_journal_at("p", url).close()  # migrated already: nothing to say again
    (said,) = [r.getMessage() for r in caplog.records]
    assert "from version 3" in said and "stop every older recorder" in said
    assert re.search(r"older togul-monitor open now \(readers too\): [1-9]", said)


def test_a_recorder_says_an_older_recorder_still_journals_in_the_database(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(older, "OLDER_LOOK_PAUSE", 0.0)  # a look after every batch
    with fresh_schema_url() as url:
        journal = open_journal_at("new", url)
        try:
            journal.append_events([event(1)])
            assert journal.flush(timeout=10)  # the first look: where the next one starts
            assert journal.trouble is None
            with psycopg.connect(url) as conn:  # an older recorder's insert: no writer's schema
                conn.execute(
                    f"INSERT INTO events (profile, {EVENT_COLUMNS})"  # type: ignore[arg-type]
                    " VALUES ('old\x1b', %s, %s, %s, %s, %s, %s, %s)",
                    event_row(event(2)),
                )
            with caplog.at_level(logging.WARNING, logger="togul_monitor.store.postgres.older"):
                journal.append_events([event(3)])
                assert journal.flush(timeout=10)
            assert journal.write_error is None
            notice = journal.trouble or ""
            assert "older togul-monitor records 'old\\x1b'" in notice  # shown as plain text
            assert "Upgrading" in notice
            assert "old" in caplog.text and "stop it" in caplog.text
            journal.append_events([event(4)])  # it stopped: no such row since the last look
            assert journal.flush(timeout=10)
            assert journal.trouble is None
        finally:
            journal.close()
