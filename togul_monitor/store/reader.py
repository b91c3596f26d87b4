"""Reading the journal: usable without a writer (the CLI reads a journal a `tail` is writing).

Every read opens its own short-lived, read-only connection (WAL lets it run beside the writer
thread), so any thread can read: the TUI, the CLI, a test. A reader never creates a journal:
a missing file is a `JournalError`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.history import HistoryEntry, merge_history
from togul_monitor.domain.values import ValueTransition
from togul_monitor.store.schema import (
    EVENT_COLUMNS,
    LAST_VALUE_COLUMNS,
    OUTAGE_COLUMNS,
    TRANSITION_COLUMNS,
    JournalError,
    LastValue,
    event_from_row,
    last_value_from_row,
    outage_from_row,
    transition_from_row,
)


def open_reader(path: Path) -> sqlite3.Connection:
    """A connection for reading; the file must exist (a reader never creates a journal)."""
    if not path.exists():
        raise JournalError(f"no journal at {path}")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0)
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("SELECT 1 FROM events LIMIT 1")
    except sqlite3.Error as exc:
        raise JournalError(f"cannot read journal {path}: {exc}") from exc
    return conn


def read_recent_events(path: Path, limit: int) -> list[FlagEvent]:
    """The newest `limit` events, oldest first."""
    conn = open_reader(path)
    try:
        rows = conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM events ORDER BY seq DESC LIMIT ?", (limit,)
        ).fetchall()
    finally:
        conn.close()
    rows.reverse()
    return [event_from_row(r) for r in rows]


def read_last_values(path: Path) -> dict[str, LastValue]:
    conn = open_reader(path)
    try:
        rows = conn.execute(f"SELECT {LAST_VALUE_COLUMNS} FROM last_values").fetchall()
    finally:
        conn.close()
    values = [last_value_from_row(r) for r in rows]
    return {v.flag_key: v for v in values}


def read_environment_names(path: Path) -> dict[str, str]:
    conn = open_reader(path)
    try:
        return dict(conn.execute("SELECT environment_id, environment_key FROM environments"))
    except sqlite3.Error:
        return {}
    finally:
        conn.close()


def read_history(path: Path, flag_key: str, limit: int = 500) -> list[HistoryEntry]:
    """Events, value transitions and outages around them for one flag, newest first."""
    conn = open_reader(path)
    try:
        events = [
            event_from_row(r)
            for r in conn.execute(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE flag_key = ? ORDER BY seq DESC LIMIT ?",
                (flag_key, limit),
            )
        ]
        transitions = [
            transition_from_row(r)
            for r in conn.execute(
                f"SELECT {TRANSITION_COLUMNS} FROM transitions"
                " WHERE flag_key = ? ORDER BY seq DESC LIMIT ?",
                (flag_key, limit),
            )
        ]
        times = [e.received_at for e in events] + [t.at for t in transitions]
        outages: list[Outage] = []
        if times:
            # Outages inside the span the flag's history covers: they explain its gaps.
            outages = [
                outage_from_row(r)
                for r in conn.execute(
                    f"SELECT {OUTAGE_COLUMNS} FROM outages"
                    " WHERE received_at >= ? ORDER BY seq DESC LIMIT ?",
                    (min(times), limit),
                )
            ]
    finally:
        conn.close()
    return merge_history(transitions, events, outages, limit=limit)


def read_transition_for(path: Path, event_id: str) -> ValueTransition | None:
    conn = open_reader(path)
    try:
        row = conn.execute(
            f"SELECT {TRANSITION_COLUMNS} FROM transitions WHERE event_id = ?"
            " ORDER BY seq DESC LIMIT 1",
            (event_id,),
        ).fetchone()
    finally:
        conn.close()
    return None if row is None else transition_from_row(row)


def iter_journal_events(path: Path, since: float | None = None) -> Iterator[FlagEvent]:
    """Every event (received at or after `since`), oldest first, read in chunks."""
    conn = open_reader(path)
    try:
        start = 0
        if since is not None:
            row = conn.execute(
                "SELECT seq FROM events WHERE received_at >= ? ORDER BY seq LIMIT 1", (since,)
            ).fetchone()
            if row is None:
                return
            start = row[0]
        cursor = conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE seq >= ? ORDER BY seq", (start,)
        )
        while True:
            rows = cursor.fetchmany(2000)
            if not rows:
                return
            for r in rows:
                yield event_from_row(r)
    finally:
        conn.close()


def read_event_count(path: Path) -> int:
    """How many events the journal holds (a full count: for checks, not for the hot path)."""
    conn = open_reader(path)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
    finally:
        conn.close()
