"""The journal's tables, how a database is opened for writing, and rows ↔ objects.

One SQLite database per profile (see `store/files.py` for where), in WAL mode: the writer
thread commits while readers, each on their own short-lived connection, read beside it.

Why no index on the events' flag key: every index entry is written on the hot path (once per
event), and measured it was the largest single cost of recording. A flag's history is read
newest first with a LIMIT, so SQLite walks back from the end and stops early for an active
flag; for a rare flag it scans the table (about 50 ms for 1,000,000 events). Transitions, which
are few, keep their index.

Tables added after the first release (`environments`, `config_diffs`) need no new schema
version: `CREATE TABLE IF NOT EXISTS` adds them when a recorder opens an older journal, an older
program ignores them, and a reader of a journal that has not been opened by a recorder since
treats a missing table as empty.

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
`last_values` table as the `default` context's (`transition_columns`, `store/reader.py`).

`JournalError` and `LastValue` are defined here, the lowest module that needs them, so that the
reader and the writer can use them without importing `store/journal.py` (which imports both);
`store/journal.py` re-exports them.
"""

from __future__ import annotations

import json
import operator
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.flag_config import ConfigDiff, diff_from_json, diff_to_json
from togul_monitor.domain.values import (
    DEFAULT_CONTEXT,
    Evaluation,
    ValueTransition,
    evaluation_from_json,
    evaluation_to_json,
)

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
-- No index on flag_key: see "Why no index" in the docstring of store/schema.py.
CREATE TABLE IF NOT EXISTS transitions (
    seq INTEGER PRIMARY KEY,
    flag_key TEXT NOT NULL,
    event_id TEXT,
    at REAL NOT NULL,
    before TEXT,
    after TEXT,
    context TEXT NOT NULL DEFAULT 'default'
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
    PRIMARY KEY (context, flag_key)
);
"""

# The columns each row helper below reads and writes, in their order: the reader's SELECTs
# and the writer's INSERTs name them from here, so the two cannot drift apart.
EVENT_COLUMNS = "event_id, type, flag_key, environment_id, version, timestamp, received_at"
TRANSITION_COLUMNS = "flag_key, event_id, at, before, after, context"
OUTAGE_COLUMNS = "started_at, ended_at, replayed, may_have_missed, received_at"
LAST_VALUE_COLUMNS = "flag_key, evaluation, at, deleted, context"
CONFIG_DIFF_COLUMNS = "flag_key, environment_id, event_id, version, at, diff"

# The same, read from a version-1 journal no recorder has migrated yet: every row of it was
# evaluated for the profile's single context, `default` (an SQL literal in place of the column).
V1_TRANSITION_COLUMNS = "flag_key, event_id, at, before, after, 'default'"
V1_LAST_VALUES = "SELECT flag_key, evaluation, at, deleted, 'default' FROM last_values"

Row = tuple[Any, ...]  # what sqlite3 returns: the column types are SQLite's to decide


class JournalError(Exception):
    """The journal cannot be used at all (even a fresh one could not be created)."""


class RecorderBusy(JournalError):
    """Another process records this journal: this one must not write it too."""


class JournalDamaged(JournalError):
    """SQLite's integrity check found damaged pages: the file must not be written on."""


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


@dataclass(frozen=True, slots=True)
class LastValue:
    flag_key: str
    evaluation: Evaluation | None
    at: float
    deleted: bool
    context: str = DEFAULT_CONTEXT  # the named context the value was evaluated for


# --- opening for writing ----------------------------------------------------------------------


def open_database(path: Path) -> sqlite3.Connection:
    """The writer's connection to `path`, created (mode 0600) with the tables if it is new.

    JournalError if the file holds a newer program's schema; JournalDamaged if its pages are
    damaged (checked before anything is written: appending to a damaged file loses what is
    appended); sqlite3.Error or OSError if it cannot be opened at all (`store/files.py` tells
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
                f"INSERT OR IGNORE INTO context_last_values ({LAST_VALUE_COLUMNS}) "
                + V1_LAST_VALUES
            )
            conn.execute("DROP TABLE last_values")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


# --- rows ↔ objects ---------------------------------------------------------------------------

# FlagEvent → row (EVENT_COLUMNS), in C: the writer converts every event, this is its hot path.
event_row = operator.attrgetter(
    "event_id", "type", "flag_key", "environment_id", "version", "timestamp", "received_at"
)


def event_from_row(row: Row) -> FlagEvent:
    event_id, type_, flag_key, environment_id, version, timestamp, received_at = row
    # Timestamps that were integers on the wire come back as floats from a REAL column;
    # keep integral values as int so an export of the journal equals the live event.
    if isinstance(timestamp, float) and timestamp.is_integer():
        timestamp = int(timestamp)
    return FlagEvent(
        type=type_,
        flag_key=flag_key,
        environment_id=environment_id,
        version=version,
        timestamp=timestamp,
        event_id=event_id,
        received_at=received_at,
    )


def evaluation_dumps(evaluation: Evaluation | None) -> str | None:
    data = evaluation_to_json(evaluation)
    return None if data is None else json.dumps(data, separators=(",", ":"), default=repr)


def evaluation_loads(text: str | None) -> Evaluation | None:
    """None for NULL, and for text that does not read back as an evaluation."""
    if text is None:
        return None
    try:
        return evaluation_from_json(json.loads(text))
    except ValueError:
        return None


def transition_row(t: ValueTransition) -> Row:
    before, after = evaluation_dumps(t.before), evaluation_dumps(t.after)
    return (t.flag_key, t.event_id, t.at, before, after, t.context)


def transition_from_row(row: Row) -> ValueTransition:
    flag_key, event_id, at, before, after, context = row
    return ValueTransition(
        flag_key, evaluation_loads(before), evaluation_loads(after), event_id, at, context
    )


def outage_row(o: Outage) -> Row:
    return (o.started_at, o.ended_at, o.replayed, int(o.may_have_missed), o.received_at)


def outage_from_row(row: Row) -> Outage:
    started_at, ended_at, replayed, may_have_missed, received_at = row
    return Outage(started_at, ended_at, replayed, bool(may_have_missed), received_at)


def last_value_row(v: LastValue) -> Row:
    return (v.flag_key, evaluation_dumps(v.evaluation), v.at, int(v.deleted), v.context)


def last_value_from_row(row: Row) -> LastValue:
    flag_key, evaluation, at, deleted, context = row
    return LastValue(flag_key, evaluation_loads(evaluation), at, bool(deleted), context)


@dataclass(frozen=True, slots=True)
class StoredDiff:
    """A configuration diff as the journal keeps it: with the time it was computed."""

    diff: ConfigDiff
    at: float


def config_diff_row(stored: StoredDiff) -> Row:
    d = stored.diff
    text = json.dumps(diff_to_json(d), separators=(",", ":"), default=repr)
    return (d.flag_key, d.environment_id, d.event_id, d.version, stored.at, text)


def config_diff_from_row(row: Row) -> StoredDiff | None:
    """None for a row whose text does not read back as a diff."""
    text, at = row[5], row[4]
    try:
        return StoredDiff(diff_from_json(json.loads(text)), at)
    except (TypeError, ValueError):
        return None
