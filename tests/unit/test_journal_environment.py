"""The environment of a value (docs/journal.md): each value change and each last value says
which environment evaluate asked for, written and read back by both backends; a journal made
before the column reads it as not known (None), and a recorder that opens it adds the column
without a new schema version. A run's baseline is only a last value of its own environment."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from togul_monitor.core.recording import of_environment
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.store.journal import LastValue, open_journal_at, open_reader_at

from ..journal_backends import JournalBackend, fresh_schema_url

ON = Evaluation(True, "boolean", "rule_match", True)
OFF = Evaluation(False, "boolean", "default", True)
T = time.time() - 600  # within the journal's retention
STAGING = ValueTransition("f", ON, OFF, None, T, environment_key="staging")
UNKNOWN = ValueTransition("f", OFF, ON, None, T + 1)


def _record(journal: object) -> None:
    from togul_monitor.store.journal import Journal

    assert isinstance(journal, Journal)
    try:
        journal.append_transition(STAGING)
        journal.set_last_value("f", OFF, T, environment="staging")
        journal.set_last_value("g", ON, T, context="premium")
        assert journal.flush()
    finally:
        journal.close()


def test_the_environment_is_written_and_read_back(journal_backend: JournalBackend) -> None:
    _record(journal_backend.open())
    read = journal_backend.reader()
    assert list(read.iter_transitions()) == [STAGING]
    values = read.last_values()
    assert values["default"]["f"] == LastValue("f", OFF, T, False, "default", "staging")
    assert values["premium"]["g"].environment_key is None


def test_a_sqlite_journal_without_the_columns_reads_none_and_a_recorder_adds_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite3"
    _record(open_journal_at("p", path))
    with sqlite3.connect(path) as conn:  # as a program before the columns left it
        conn.execute("ALTER TABLE transitions DROP COLUMN environment_key")
        conn.execute("ALTER TABLE context_last_values DROP COLUMN environment_key")
    old = open_reader_at("p", path)
    assert list(old.iter_transitions()) == [ValueTransition("f", ON, OFF, None, T)]
    assert old.last_values()["default"]["f"].environment_key is None
    journal = open_journal_at("p", path)  # a recorder: adds them back, the old rows NULL
    journal.append_transition(UNKNOWN)
    journal.set_last_value("f", ON, T + 1, environment="production")
    assert journal.flush()
    journal.close()
    assert [t.environment_key for t in old.iter_transitions()] == [None, None]
    assert old.last_values()["default"]["f"].environment_key == "production"


def test_a_postgres_journal_without_the_columns_reads_none_and_a_recorder_adds_them() -> None:
    import psycopg

    with fresh_schema_url() as url:
        _record(open_journal_at("p", url))
        with psycopg.connect(url) as conn:
            conn.execute("ALTER TABLE transitions DROP COLUMN environment_key")
            conn.execute("ALTER TABLE context_last_values DROP COLUMN environment_key")
        old = open_reader_at("p", url)
        try:
            assert list(old.iter_transitions()) == [ValueTransition("f", ON, OFF, None, T)]
            assert old.last_values()["default"]["f"].environment_key is None
            journal = open_journal_at("p", url)
            journal.set_last_value("f", ON, T + 1, environment="production")
            assert journal.flush()
            journal.close()
            assert old.last_values()["default"]["f"].environment_key == "production"
        finally:
            old.close()


def test_a_run_takes_no_last_value_of_another_environment_for_its_baseline() -> None:
    def value(flag: str, environment: str | None) -> LastValue:
        return LastValue(flag, ON, 1.0, False, "default", environment)

    remembered = {
        "default": {"a": value("a", "staging"), "b": value("b", "production")},
        "premium": {"c": value("c", None)},  # kept before the journal said it: as before
    }
    kept = of_environment(remembered, "production")
    assert kept == {"default": {"b": value("b", "production")}, "premium": remembered["premium"]}
    assert of_environment(remembered, "") == remembered  # no environment to tell by
