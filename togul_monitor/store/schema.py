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
    Evaluation,
    ValueTransition,
    evaluation_from_json,
    evaluation_to_json,
)

SCHEMA_VERSION = 1

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
    after TEXT
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
CREATE TABLE IF NOT EXISTS last_values (
    flag_key TEXT PRIMARY KEY,
    evaluation TEXT,
    at REAL NOT NULL,
    deleted INTEGER NOT NULL
);
"""

# The columns each row helper below reads and writes, in their order: the reader's SELECTs
# and the writer's INSERTs name them from here, so the two cannot drift apart.
EVENT_COLUMNS = "event_id, type, flag_key, environment_id, version, timestamp, received_at"
TRANSITION_COLUMNS = "flag_key, event_id, at, before, after"
OUTAGE_COLUMNS = "started_at, ended_at, replayed, may_have_missed, received_at"
LAST_VALUE_COLUMNS = "flag_key, evaluation, at, deleted"
CONFIG_DIFF_COLUMNS = "flag_key, environment_id, event_id, version, at, diff"

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
        if version == 0:
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.commit()
    except BaseException:
        conn.close()
        raise
    return conn


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
    return (t.flag_key, t.event_id, t.at, evaluation_dumps(t.before), evaluation_dumps(t.after))


def transition_from_row(row: Row) -> ValueTransition:
    flag_key, event_id, at, before, after = row
    return ValueTransition(
        flag_key, evaluation_loads(before), evaluation_loads(after), event_id, at
    )


def outage_row(o: Outage) -> Row:
    return (o.started_at, o.ended_at, o.replayed, int(o.may_have_missed), o.received_at)


def outage_from_row(row: Row) -> Outage:
    started_at, ended_at, replayed, may_have_missed, received_at = row
    return Outage(started_at, ended_at, replayed, bool(may_have_missed), received_at)


def last_value_row(v: LastValue) -> Row:
    return (v.flag_key, evaluation_dumps(v.evaluation), v.at, int(v.deleted))


def last_value_from_row(row: Row) -> LastValue:
    flag_key, evaluation, at, deleted = row
    return LastValue(flag_key, evaluation_loads(evaluation), at, bool(deleted))


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
