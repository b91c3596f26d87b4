"""The SQLite journal's tables, how a database is opened for writing, and rows ↔ objects.

One SQLite database per profile (see `store/sqlite/files.py` for where), in WAL mode: the writer
thread commits while readers, each on their own short-lived connection, read beside it.

Why no index on the events' flag key: every index entry is written on the hot path (once per
event), and measured it was the largest single cost of recording. A flag's history is read
newest first with a LIMIT, so SQLite walks back from the end and stops early for an active
flag; for a rare flag it scans the table. Measured again (benchmarks/journal_10m.py, 2 shared
cores): an index on (flag_key, seq) takes a rare flag's `history --limit 50` from 74 ms to
0.7 ms at 1,000,000 events (the default retention) and from 650 ms to 0.8 ms at 10,000,000,
and the recorder from 358,000 to 197,000 events/s at 1 M, from 499,000 to 169,000 at 10 M.
The flight recorder keeps its speed; a history of many millions of events, read by many, is
what the PostgreSQL journal is for (indexed: store/postgres/schema.py). Transitions, which are
few, keep their index.

Tables added after the first release (`environments`, `config_diffs`, `watched_until`,
`merged_answers`, `last_configs`) need no new schema version: `CREATE TABLE IF NOT EXISTS` adds
them when a recorder opens an older journal, an older program ignores them, and a reader of a
journal that has not been opened by a recorder since treats a missing table as empty. The same
holds for a column added with a default (`transitions.includes_unseen`,
`merged_answers.first_version`, `watched_until.moves_within`, `context_last_values.certain_at`,
the `environment_key` of `transitions` and `context_last_values`, NULL: not known;
`ADDED_COLUMNS`): a recorder adds it when it opens an older journal, an older program's inserts
leave the default, and a reader of a journal that lacks it reads the default.

Schema version 2: named contexts. A profile may evaluate its flags for several named contexts
(domain/values.py), and a value change of one context is not one of another, so a transition
names its context (`transitions.context`) and the last values are kept per context and flag
(`context_last_values`; a flag's one row in `last_values` could not hold two contexts' values).
An older program would write transitions without a context and last values nobody reads, so
this one is a new version: the migration (`_migrate`) runs when a recorder opens a version-1
journal: the column is added with `'default'` (the name of a profile's single context, which is
what every earlier row was evaluated for) and the old last values are copied as the `default`
context's, in one transaction. A reader never migrates (it never writes): on a journal no
recorder has opened since, it reads a missing `context` column as `'default'` and the old
`last_values` table as the `default` context's (`transition_columns`, `store/sqlite/reader.py`).

The rows themselves (columns, rows ↔ objects, `JournalError`, `LastValue`) are the same in
both backends: `store/model.py`.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from togul_monitor.domain.values import DEFAULT_CONTEXT
from togul_monitor.store.model import JournalDamaged, JournalError

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    event_id TEXT,
    type TEXT NOT NULL,
    flag_key TEXT NOT NULL,
    environment_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    timestamp REAL NOT NULL,
    received_at REAL NOT NULL
);
-- No index on flag_key: see "Why no index" in the docstring of store/sqlite/schema.py.
CREATE TABLE IF NOT EXISTS transitions (
    seq INTEGER PRIMARY KEY,
    flag_key TEXT NOT NULL,
    event_id TEXT,
    at REAL NOT NULL,
    before TEXT,
    after TEXT,
    context TEXT NOT NULL DEFAULT 'default',
    includes_unseen INTEGER NOT NULL DEFAULT 0,
    environment_key TEXT
);
CREATE INDEX IF NOT EXISTS transitions_by_flag ON transitions (flag_key, seq);
CREATE INDEX IF NOT EXISTS transitions_by_event ON transitions (event_id);
CREATE TABLE IF NOT EXISTS outages (
    seq INTEGER PRIMARY KEY,
    started_at REAL NOT NULL,
    ended_at REAL NOT NULL,
    replayed INTEGER,
    may_have_missed INTEGER NOT NULL,
    received_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS environments (
    environment_id TEXT PRIMARY KEY,
    environment_key TEXT NOT NULL
);
-- What an event changed in a flag's configuration (domain/flag_config.py `diff_to_json`).
CREATE TABLE IF NOT EXISTS config_diffs (
    seq INTEGER PRIMARY KEY,
    flag_key TEXT NOT NULL,
    environment_id TEXT NOT NULL,
    event_id TEXT,
    version INTEGER,
    at REAL NOT NULL,
    diff TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS config_diffs_by_flag ON config_diffs (flag_key, seq);
-- The last value of each flag for each context (version 1 had `last_values`, flag_key only).
CREATE TABLE IF NOT EXISTS context_last_values (
    context TEXT NOT NULL,
    flag_key TEXT NOT NULL,
    evaluation TEXT,
    at REAL NOT NULL,
    deleted INTEGER NOT NULL,
    environment_key TEXT,
    certain_at REAL,
    PRIMARY KEY (context, flag_key)
);
-- An evaluation answer that may have answered several events of its flag (domain/merged.py): at
-- most one per flag and context an answer, about once a second under a burst; none per event.
CREATE TABLE IF NOT EXISTS merged_answers (
    seq INTEGER PRIMARY KEY,
    flag_key TEXT NOT NULL,
    environment_id TEXT NOT NULL,
    context TEXT NOT NULL,
    since REAL NOT NULL,
    version INTEGER NOT NULL,
    received_at REAL NOT NULL,
    at REAL NOT NULL,
    first_version INTEGER
);
CREATE INDEX IF NOT EXISTS merged_answers_by_flag ON merged_answers (flag_key, seq);
-- Each flag's configuration as last read (store/model.py `LastConfig`): a row per flag,
-- written when it changes, so the next run has something to compare its first read with.
CREATE TABLE IF NOT EXISTS last_configs (
    environment_id TEXT NOT NULL,
    flag_key TEXT NOT NULL,
    config TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (environment_id, flag_key)
);
-- Until when the recorder watched its live stream: one row (docs/journal.md, "Watched until").
-- `moves_within`: the seconds within which the recorder moves it again while it watches (its
-- pace and its stream's heartbeat; NULL: a program that did not say it).
CREATE TABLE IF NOT EXISTS watched_until (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at REAL NOT NULL,
    moves_within REAL
);
"""

# The same, read from a version-1 journal no recorder has migrated yet: every row of it was
# evaluated for the profile's single context, `default` (an SQL literal in place of the column).
V1_TRANSITION_COLUMNS = "flag_key, event_id, at, before, after, 'default', 0, NULL"

# Columns added after the first release of their table, with their definition (see the
# module's docstring): table → (column, definition).
# `merged_answers.first_version` is NULL in a row of a program that did not keep it yet: such a
# row claims nothing (store/model.py `ANSWERS_CHECKABLE`).
# `environment_key` (of a value change and of a last value) is NULL in a row written before it
# was kept: its environment is not known (docs/journal.md, "The environment of a value").
ADDED_COLUMNS = (
    ("transitions", "includes_unseen", "INTEGER NOT NULL DEFAULT 0"),
    ("merged_answers", "first_version", "INTEGER"),
    ("transitions", "environment_key", "TEXT"),
    ("context_last_values", "environment_key", "TEXT"),
    # NULL in a mark of a program that did not say it: the reader judges it by its own heartbeat.
    ("watched_until", "moves_within", "REAL"),
    # The row's `at` when its value was not in doubt (store/model.py `LastValue.in_doubt`):
    # NULL, in a row of a program that did not keep it, reads as in doubt.
    ("context_last_values", "certain_at", "REAL"),
)
# Version 1's last values, as the migration copies them (into the columns version 2 had: a
# table an older program made may lack those added since) and as a reader reads them.
V1_COPIED = "flag_key, evaluation, at, deleted, context"
V1_LAST_VALUES = "SELECT flag_key, evaluation, at, deleted, 'default' FROM last_values"
V1_LAST_VALUES_READ = V1_LAST_VALUES.replace(" FROM", ", NULL, NULL FROM")


def integrity_problem(conn: sqlite3.Connection) -> str | None:
    """The first problem `PRAGMA quick_check` finds (None: the file is sound).

    quick_check reads every page (about 0.15 s for a million events) but skips the costly
    index-to-table cross checks of `integrity_check`: damaged pages are what a crash, a full
    disk or a bad copy leave, and they are what makes later reads and writes fail.
    """
    rows = conn.execute("PRAGMA quick_check").fetchmany(2)
    if rows and rows[0][0] == "ok":
        return None
    first = str(rows[0][0]) if rows else "no answer"
    # The report lists every bad cell of every page: its first line says enough.
    lines = first.removeprefix("*** in database main ***").strip().splitlines()
    return lines[0] if lines else first


# --- opening for writing ----------------------------------------------------------------------


def open_database(path: Path) -> sqlite3.Connection:
    """The writer's connection to `path`, created (mode 0600) with the tables if it is new.

    JournalError if the file holds a newer program's schema; JournalDamaged if its pages are
    damaged (checked before anything is written: appending to a damaged file loses what is
    appended); sqlite3.Error or OSError if it cannot be opened at all (`store/sqlite/files.py` tells
    whether it is unreadable).
    """
    existed = path.exists()
    conn = sqlite3.connect(str(path), timeout=10.0, check_same_thread=False)
    try:
        conn.execute("PRAGMA busy_timeout = 10000")
        if not existed:
            os.chmod(path, 0o600)
        else:
            problem = integrity_problem(conn)
            if problem is not None:
                raise JournalDamaged(f"the integrity check found damaged pages: {problem}")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise JournalError(f"schema version {version} is newer than this program's")
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode: a commit survives a crash of the process; only a power loss
        # may drop the last commits. The journal is a flight recorder, not a ledger.
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.executescript(_SCHEMA)
        if version < SCHEMA_VERSION:
            _migrate(conn)  # also stamps a new file's version
        _add_columns(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def table_columns(conn: sqlite3.Connection, table: str) -> set[str]:
    """The names of `table`'s columns (empty when there is no such table)."""
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def has_table(conn: sqlite3.Connection, table: str) -> bool:
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    return found is not None


def _add_columns(conn: sqlite3.Connection) -> None:
    for table, column, definition in ADDED_COLUMNS:
        if column not in table_columns(conn, table):
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring an older journal (or a new, empty one) to SCHEMA_VERSION in one transaction.

    Version 1 → 2: transitions get their context, `default`; the old last values become the
    `default` context's and their table goes (two tables of last values would be two truths).
    Every step checks first, so a journal whose migration was cut short is migrated again whole
    (the transaction rolled back) and a new file merely gets its version.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        if "context" not in table_columns(conn, "transitions"):
            conn.execute(
                "ALTER TABLE transitions ADD COLUMN context TEXT NOT NULL DEFAULT "
                f"'{DEFAULT_CONTEXT}'"
            )
        if has_table(conn, "last_values"):
            conn.execute(
                f"INSERT OR IGNORE INTO context_last_values ({V1_COPIED}) " + V1_LAST_VALUES
            )
            conn.execute("DROP TABLE last_values")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
