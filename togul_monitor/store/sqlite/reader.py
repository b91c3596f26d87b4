"""Reading the journal: usable without a writer (the CLI reads a journal a `tail` is writing).

Every read opens its own short-lived, read-only connection (WAL lets it run beside the writer
thread), so any thread can read: the TUI, the CLI, a test. A reader never creates a journal:
a missing file is a `JournalError`, and so is every SQLite error a read meets (a damaged page
is found by the query that reads it, not when the connection opens). A reader never changes
the file either: moving a damaged journal aside is left to the next recorder
(`store/sqlite/journal.py`), which holds the recorder lock; nor does it migrate an older schema:
a version-1 journal (store/sqlite/schema.py) reads as if every row were of the `default` context.

`SqliteReads` offers these reads as the journal interface's methods (`store/interface.py`), to
`SqliteReader` (no writer: `history`, `export`) and `SqliteJournal`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.flag_config import FlagConfig
from togul_monitor.domain.history import HistoryEntry, merge_history
from togul_monitor.domain.merged import MergedAnswer
from togul_monitor.domain.values import ValueTransition
from togul_monitor.store.interface import MAX_TRANSITIONS_PER_EVENT, JournalReader
from togul_monitor.store.model import (
    ANSWER_COLUMNS,
    ANSWERS_CHECKABLE,
    CONFIG_DIFF_COLUMNS,
    EVENT_COLUMNS,
    LAST_CONFIG_COLUMNS,
    OUTAGE_COLUMNS,
    LastValue,
    Row,
    StoredDiff,
    WatchedUntil,
    answer_from_row,
    config_diff_from_row,
    event_from_row,
    last_config_from_row,
    last_value_columns_of,
    last_value_from_row,
    outage_from_row,
    span_clause,
    transition_columns_of,
    transition_from_row,
)
from togul_monitor.store.sqlite.read_connection import check_journal, connection
from togul_monitor.store.sqlite.schema import (
    V1_LAST_VALUES_READ,
    V1_TRANSITION_COLUMNS,
    has_table,
    table_columns,
)


def read_recent_events(path: Path, limit: int) -> list[FlagEvent]:
    """The newest `limit` events, oldest first."""
    with connection(path) as conn:
        rows = conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM events ORDER BY seq DESC LIMIT ?", (limit,)
        ).fetchall()
    rows.reverse()
    return [event_from_row(r) for r in rows]


def transition_columns(conn: sqlite3.Connection) -> str:
    """The transitions' columns to SELECT: a version-1 journal no recorder has migrated yet
    has no `context` column, and each of its rows is the `default` context's; one no recorder
    has opened since `includes_unseen` was added reads it as 0."""
    columns = table_columns(conn, "transitions")
    return transition_columns_of(columns) if "context" in columns else V1_TRANSITION_COLUMNS


def read_last_values(path: Path) -> dict[str, dict[str, LastValue]]:
    """Context name → flag key → its last value (a version-1 journal's are `default`'s)."""
    with connection(path) as conn:
        # The migration drops `last_values` once it has copied them: while it is there, it
        # holds them (the new table may already exist, empty, if a migration was cut short).
        if has_table(conn, "last_values"):
            sql = V1_LAST_VALUES_READ
        else:  # a column no recorder has added since it came reads as NULL: not known
            columns = last_value_columns_of(table_columns(conn, "context_last_values"))
            sql = f"SELECT {columns} FROM context_last_values"
        rows = conn.execute(sql).fetchall()
    values: dict[str, dict[str, LastValue]] = {}
    for value in map(last_value_from_row, rows):
        values.setdefault(value.context, {})[value.flag_key] = value
    return values


def read_environment_names(path: Path) -> dict[str, str]:
    """Environment id → key; empty for a journal older than the table (written before it)."""
    with connection(path) as conn:
        try:
            rows = conn.execute("SELECT environment_id, environment_key FROM environments")
            return dict(rows)
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return {}
            raise


def _tolerant(conn: sqlite3.Connection, sql: str, args: tuple[object, ...]) -> list[Row]:
    """Rows of a table added after the first release: none when the journal predates it."""
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise


def read_config_diffs(
    path: Path, flag_key: str | None = None, limit: int = 500, since: float | None = None
) -> list[StoredDiff]:
    """Configuration diffs (of one flag, or all), newest first; received at or after `since`."""
    where, args = ["at >= ?"], [float("-inf") if since is None else since]
    if flag_key is not None:
        where.append("flag_key = ?")
        args.append(flag_key)  # type: ignore[arg-type]
    sql = (
        f"SELECT {CONFIG_DIFF_COLUMNS} FROM config_diffs WHERE {' AND '.join(where)}"
        " ORDER BY seq DESC LIMIT ?"
    )
    with connection(path) as conn:
        rows = _tolerant(conn, sql, (*args, limit))
    return [d for d in map(config_diff_from_row, rows) if d is not None]


def read_changes_since(
    path: Path, since: float, limit: int, transition_limit: int | None = None
) -> tuple[list[ValueTransition], list[StoredDiff]]:
    """The value transitions and configuration diffs computed at or after `since`, oldest
    first: at most the newest `limit` of each (`transition_limit` of the transitions, when
    given: there is one per context). Two queries on one connection, whatever the number of
    events they are meant for (`store/recorded.py` ties them to their events)."""
    with connection(path) as conn:
        transitions = [
            transition_from_row(r)
            for r in conn.execute(
                f"SELECT {transition_columns(conn)} FROM transitions WHERE at >= ?"
                " ORDER BY seq DESC LIMIT ?",
                (since, limit if transition_limit is None else transition_limit),
            )
        ]
        rows = _tolerant(
            conn,
            f"SELECT {CONFIG_DIFF_COLUMNS} FROM config_diffs WHERE at >= ?"
            " ORDER BY seq DESC LIMIT ?",
            (since, limit),
        )
    transitions.reverse()
    diffs = [d for d in map(config_diff_from_row, reversed(rows)) if d is not None]
    return transitions, diffs


def read_history(
    path: Path, flag_key: str, limit: int = 500, environment_id: str | None = None
) -> list[HistoryEntry]:
    """Events, value transitions and outages around them for one flag, newest first
    (`JournalReader.history`)."""
    with connection(path) as conn:
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
                f"SELECT {transition_columns(conn)} FROM transitions"
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
    return merge_history(transitions, events, outages, limit=limit, environment_id=environment_id)


def read_transitions_for(
    path: Path,
    event_id: str,
    flag_key: str,
    since: float | None = None,
    until: float | None = None,
) -> list[ValueTransition]:
    """The value changes event `event_id` of `flag_key` caused, one per context, in the order
    recorded. The flag too: a restarted server numbers its events from 1 again; and computed
    at or after `since` and before `until` when given: the flag's event of that id in another
    life of the server owns the others (domain/change_owners.py `owned_span`).

    Should the id have more than one transition of a context (an event replayed after an
    outage, say), the newest is the one kept, as the live view keeps it."""
    span, bounds = span_clause(since, until, "?")
    with connection(path) as conn:
        rows = conn.execute(
            f"SELECT {transition_columns(conn)} FROM transitions WHERE event_id = ?"
            f" AND flag_key = ?{span} ORDER BY seq DESC LIMIT ?",
            (event_id, flag_key, *bounds, MAX_TRANSITIONS_PER_EVENT),
        ).fetchall()
    newest: dict[str, ValueTransition] = {}
    for transition in map(transition_from_row, rows):
        newest.setdefault(transition.context, transition)
    found = list(newest.values())
    found.reverse()  # read newest first: the order recorded is the reverse
    return found


def iter_journal_events(path: Path, since: float | None = None) -> Iterator[FlagEvent]:
    """Every event (received at or after `since`), oldest first, read in chunks."""
    with connection(path) as conn:
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


def iter_journal_transitions(path: Path, since: float | None = None) -> Iterator[ValueTransition]:
    """Every value transition (computed at or after `since`), oldest first, read in chunks."""
    floor = float("-inf") if since is None else since
    with connection(path) as conn:
        cursor = conn.execute(
            f"SELECT {transition_columns(conn)} FROM transitions WHERE at >= ? ORDER BY seq",
            (floor,),
        )
        while rows := cursor.fetchmany(2000):
            yield from map(transition_from_row, rows)


def read_outages(path: Path, since: float | None = None) -> list[Outage]:
    """The outages that ended at or after `since`, oldest first."""
    floor = float("-inf") if since is None else since
    with connection(path) as conn:
        rows = conn.execute(
            f"SELECT {OUTAGE_COLUMNS} FROM outages WHERE ended_at >= ? ORDER BY seq", (floor,)
        ).fetchall()
    return [outage_from_row(r) for r in rows]


def read_event_count(path: Path) -> int:
    """How many events the journal holds (a full count: for checks, not for the hot path)."""
    with connection(path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])


def read_merged_answers(
    path: Path, flag_key: str | None, since: float, limit: int
) -> list[MergedAnswer]:
    """The newest `limit` of `flag_key`'s answers (None: every flag's) that came at or after
    `since`, oldest first. None in a journal no recorder has opened since they kept the first
    version they covered: those rows claim nothing (store/model.py `ANSWERS_CHECKABLE`)."""
    flag, args = ("", ()) if flag_key is None else ("flag_key = ? AND ", (flag_key,))
    sql = (
        f"SELECT {ANSWER_COLUMNS} FROM merged_answers WHERE {flag}{ANSWERS_CHECKABLE}"
        " AND at >= ? ORDER BY seq DESC LIMIT ?"
    )
    with connection(path) as conn:
        if "first_version" not in table_columns(conn, "merged_answers"):
            return []  # no such table either
        rows = conn.execute(sql, (*args, since, limit)).fetchall()
    return [answer_from_row(r) for r in reversed(rows)]


def read_last_configs(path: Path, environment_id: str) -> dict[str, FlagConfig]:
    """Flag key → its configuration as last read, in `environment_id`; none in a journal older
    than the table."""
    sql = f"SELECT {LAST_CONFIG_COLUMNS} FROM last_configs WHERE environment_id = ?"
    with connection(path) as conn:
        rows = _tolerant(conn, sql, (environment_id,))
    read = ((row[1], last_config_from_row(row)) for row in rows)
    return {key: config for key, config in read if config is not None}


def read_watched_until(path: Path) -> WatchedUntil | None:
    """The recorder's mark of until when it watched, with the seconds within which it moves it
    again while it watches (NULL in a mark of a program that did not say it, or in a journal no
    recorder has opened since the column came); None in a journal without a mark."""
    with connection(path) as conn:
        columns = table_columns(conn, "watched_until")
        if not columns:
            return None
        within = "moves_within" if "moves_within" in columns else "NULL"
        row = conn.execute(f"SELECT at, {within} FROM watched_until").fetchone()
    if row is None:
        return None
    return WatchedUntil(float(row[0]), None if row[1] is None else float(row[1]))


class SqliteReads:
    """The reads of the journal at `self.path`, as `JournalReader`'s methods."""

    path: Path

    def recent_events(self, limit: int) -> list[FlagEvent]:
        return read_recent_events(self.path, limit)

    def last_values(self) -> dict[str, dict[str, LastValue]]:
        return read_last_values(self.path)

    def history(
        self, flag_key: str, limit: int = 500, environment_id: str | None = None
    ) -> list[HistoryEntry]:
        return read_history(self.path, flag_key, limit, environment_id)

    def transitions_for(
        self,
        event_id: str,
        flag_key: str,
        since: float | None = None,
        until: float | None = None,
    ) -> list[ValueTransition]:
        return read_transitions_for(self.path, event_id, flag_key, since, until)

    def config_diffs(
        self, flag_key: str | None, limit: int = 500, since: float | None = None
    ) -> list[StoredDiff]:
        return read_config_diffs(self.path, flag_key, limit, since)

    def changes_since(
        self, since: float, limit: int, transition_limit: int | None = None
    ) -> tuple[list[ValueTransition], list[StoredDiff]]:
        return read_changes_since(self.path, since, limit, transition_limit)

    def merged_answers(self, flag_key: str | None, since: float, limit: int) -> list[MergedAnswer]:
        return read_merged_answers(self.path, flag_key, since, limit)

    def environment_names(self) -> dict[str, str]:
        return read_environment_names(self.path)

    def last_configs(self, environment_id: str) -> dict[str, FlagConfig]:
        return read_last_configs(self.path, environment_id)

    def iter_events(self, since: float | None = None) -> Iterator[FlagEvent]:
        return iter_journal_events(self.path, since)

    def iter_transitions(self, since: float | None = None) -> Iterator[ValueTransition]:
        return iter_journal_transitions(self.path, since)

    def outages(self, since: float | None = None) -> list[Outage]:
        return read_outages(self.path, since)

    def count_events(self) -> int:
        return read_event_count(self.path)

    def watched_until(self) -> float | None:
        mark = read_watched_until(self.path)
        return None if mark is None else mark.at

    def watched_until_mark(self) -> WatchedUntil | None:
        return read_watched_until(self.path)

    def check(self) -> None:
        check_journal(self.path)


class SqliteReader(SqliteReads, JournalReader):
    """The journal at `path`, read only (it must exist: a reader never creates one)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)
