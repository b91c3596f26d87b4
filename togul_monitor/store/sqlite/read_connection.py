"""A read-only connection to a SQLite journal, and what its errors mean: every SQLite error a
read meets becomes a `JournalError` that says what it means (a damaged page a `JournalDamaged`,
found by the query that reads it), and a missing file is one too: a reader never creates a
journal (store/sqlite/reader.py reads through it)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from togul_monitor.store.model import JournalDamaged, JournalError
from togul_monitor.store.sqlite.files import is_unreadable
from togul_monitor.store.sqlite.schema import integrity_problem

_DAMAGED_HINT = (
    "it was left as it is: the next recording run (the TUI, or `tail --profile`) moves it "
    "aside, keeping its bytes, and starts a new journal"
)


def damaged_message(path: Path, detail: object) -> str:
    return f"the journal {path} is damaged ({detail}); {_DAMAGED_HINT}"


@contextmanager
def reading(path: Path) -> Iterator[None]:
    """Every SQLite error inside becomes a JournalError that says what it means."""
    try:
        yield
    except sqlite3.Error as exc:
        if is_unreadable(exc):
            raise JournalDamaged(damaged_message(path, exc)) from exc
        raise JournalError(f"cannot read journal {path}: {exc}") from exc


def open_reader(path: Path) -> sqlite3.Connection:
    """A connection for reading; the file must exist (a reader never creates a journal)."""
    if not path.exists():
        raise JournalError(f"no journal at {path}")
    with reading(path):
        # A URI, for `mode=ro`: the path escaped (`as_uri`), or a `#`, `?` or `%` in it would
        # end or change it.
        uri = f"{path.resolve().as_uri()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=10.0)
        try:
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("SELECT 1 FROM events LIMIT 1")
        except BaseException:
            conn.close()
            raise
    return conn


def check_journal(path: Path) -> None:
    """JournalDamaged when `PRAGMA quick_check` finds damaged pages (a read that happens not to
    touch them would otherwise answer from half a journal without a word)."""
    conn = open_reader(path)
    try:
        with reading(path):
            problem = integrity_problem(conn)
    finally:
        conn.close()
    if problem is not None:
        raise JournalDamaged(damaged_message(path, problem))


@contextmanager
def connection(path: Path) -> Iterator[sqlite3.Connection]:
    """A reader's connection, closed after the block; SQLite errors become JournalErrors."""
    conn = open_reader(path)
    try:
        with reading(path):
            yield conn
    finally:
        conn.close()
