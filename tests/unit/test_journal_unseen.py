"""`includes_unseen` in the journal: written and read back by both backends; a journal made
before the column existed reads it as false, and a recorder that opens it adds the column
without a new schema version (an older program still reads and writes it)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.store import reader
from togul_monitor.store.journal import open_journal_at, open_reader_at
from togul_monitor.store.schema import SCHEMA_VERSION

from ..journal_backends import JournalBackend, fresh_schema_url

ON = Evaluation(True, "boolean", "rule_match", True)
OFF = Evaluation(False, "boolean", "default", True)
MARKED = ValueTransition("f", ON, OFF, "7", 10.5, "default", True)
PLAIN = ValueTransition("f", OFF, ON, "8", 11.5)


def _record(journal_backend: JournalBackend) -> None:
    journal = journal_backend.open()
    try:
        journal.append_events(
            [
                FlagEvent("flag.updated", "f", "env-1", 2, 10, "7", 10.0),
                FlagEvent("flag.updated", "f", "env-1", 3, 11, "8", 11.0),
            ]
        )
        journal.append_transition(MARKED)
        journal.append_transition(PLAIN)
        assert journal.flush()
    finally:
        journal.close()


def test_the_mark_is_written_and_read_back(journal_backend: JournalBackend) -> None:
    _record(journal_backend)
    read = journal_backend.reader()
    assert read.transitions_for("7", "f") == [MARKED]
    assert read.transitions_for("8", "f") == [PLAIN]
    history = [h for h in read.history("f") if isinstance(h, ValueTransition)]
    assert history == [PLAIN, MARKED]
    assert read.changes_since(0.0, 10)[0] == [MARKED, PLAIN]  # oldest first


def _drop_column(path: Path) -> None:
    """The journal as a program before the column left it (SQLite drops a column since 3.35)."""
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE transitions DROP COLUMN includes_unseen")


def test_a_sqlite_journal_without_the_column_reads_false_and_a_recorder_adds_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite3"
    journal = open_journal_at("p", path)
    journal.append_transition(MARKED)
    assert journal.flush()
    journal.close()
    _drop_column(path)
    (old,) = reader.read_transitions_for(path, "7", "f")
    assert old == ValueTransition("f", ON, OFF, "7", 10.5)  # the mark reads as false
    journal = open_journal_at("p", path)  # a recorder: adds it back, same version
    journal.append_transition(PLAIN)
    assert journal.flush()
    journal.close()
    assert reader.read_transitions_for(path, "8", "f") == [PLAIN]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_postgres_journal_without_the_column_reads_false_and_a_recorder_adds_it() -> None:
    import psycopg

    with fresh_schema_url() as url:
        journal = open_journal_at("p", url)
        journal.append_transition(MARKED)
        assert journal.flush()
        journal.close()
        with psycopg.connect(url) as conn:
            conn.execute("ALTER TABLE transitions DROP COLUMN includes_unseen")
            version = conn.execute("SELECT max(version) FROM schema_version").fetchone()
        old_reader = open_reader_at("p", url)
        try:
            assert old_reader.transitions_for("7", "f") == [
                ValueTransition("f", ON, OFF, "7", 10.5)
            ]
            journal = open_journal_at("p", url)
            journal.append_transition(PLAIN)
            assert journal.flush()
            journal.close()
            # The reader sees the column a recorder added while it lived.
            assert old_reader.transitions_for("8", "f") == [PLAIN]
        finally:
            old_reader.close()
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT max(version) FROM schema_version").fetchone() == version


def test_a_postgres_recorder_opening_a_journal_that_has_the_column_takes_no_table_lock() -> None:
    """An open of a journal that has every added column alters nothing: `ALTER TABLE` would
    wait behind any reader holding the table (and make every later reader wait behind it), and
    needs the table's owner."""
    import threading

    import psycopg

    with fresh_schema_url() as url:
        open_journal_at("p", url).close()  # the tables, with the column
        with psycopg.connect(url) as reader_conn:
            reader_conn.execute("SELECT count(*) FROM transitions")  # its transaction stays open
            opened = threading.Event()

            def open_again() -> None:
                open_journal_at("p", url).close()
                opened.set()

            thread = threading.Thread(target=open_again, daemon=True)
            thread.start()
            try:
                assert opened.wait(20), "the open waited behind the reader's transaction"
            finally:
                reader_conn.rollback()
                thread.join(30)
