"""The journal keeps each flag's configuration as last read (store/model.py `LastConfig`), one
row per flag and environment: written, replaced, deleted with the flag, read back whole; a
journal from before the table reads none, and gets it when recorded again."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from togul_monitor.domain.flag_config import FlagConfig, parse_flag
from togul_monitor.store.journal import Journal, open_journal_at, open_reader_at
from togul_monitor.store.sqlite.reader import read_last_configs

from ..journal_backends import JournalBackend, fresh_schema_url


def config(key: str, default: object, env: str = "env-1") -> FlagConfig:
    flag = {"id": f"id-{key}", "key": key, "environment_id": env, "enabled": True, "name": key}
    flag |= {"value_type": "string", "default_value": default, "version": 3}
    rule = {"id": "r1", "priority": 1, "rule_type": "attribute", "attribute": "plan"}
    rule |= {"operator": "in", "value_json": '["pro"]', "return_value": {"a\x00": [1, 2.5]}}
    rule |= {"is_active": True}
    return parse_flag({"flag": flag, "rules": [rule]})


def test_the_latest_configuration_of_each_flag_is_kept(journal_backend: JournalBackend) -> None:
    journal = journal_backend.open()
    journal.set_last_config("env-1", "a", config("a", "bm25"), 10.0)
    journal.set_last_config("env-1", "a", config("a", "neural"), 11.0)  # replaces it
    journal.set_last_config("env-1", "b", config("b", "x"), 10.0)
    journal.set_last_config("env-1", "b", None, 12.0)  # gone
    journal.set_last_config("env-2", "a", config("a", "other", "env-2"), 10.0)
    journal.close()
    read = journal_backend.reader()
    assert read.last_configs("env-1") == {"a": config("a", "neural")}
    assert read.last_configs("env-2") == {"a": config("a", "other", "env-2")}
    assert read.last_configs("env-3") == {}


def test_a_journal_from_before_the_table_reads_none_and_gets_it(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    Journal.open(path).close()
    with sqlite3.connect(path) as conn:  # what an older program's journal holds
        conn.execute("DROP TABLE last_configs")
    assert read_last_configs(path, "env-1") == {}
    journal = Journal.open(path)  # a recorder adds the table
    journal.set_last_config("env-1", "a", config("a", "bm25"), 10.0)
    journal.close()
    assert read_last_configs(path, "env-1") == {"a": config("a", "bm25")}


def test_a_database_an_older_recorder_made_reads_none_and_gets_the_table() -> None:
    import psycopg

    with fresh_schema_url() as url:
        open_journal_at("p", url).close()
        with psycopg.connect(url, autocommit=True) as conn:  # as an older program left it
            conn.execute("DROP TABLE last_configs")
        reader = open_reader_at("p", url)
        try:
            assert reader.last_configs("env-1") == {}
        finally:
            reader.close()
        journal = open_journal_at("p", url)  # a recorder of this version adds it
        journal.set_last_config("env-1", "a", config("a", "bm25"), 10.0)
        journal.close()
        reader = open_reader_at("p", url)
        try:
            assert reader.last_configs("env-1") == {"a": config("a", "bm25")}
        finally:
            reader.close()
