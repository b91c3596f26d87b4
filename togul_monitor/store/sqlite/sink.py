"""What a writer's batch becomes in SQLite: one transaction of multi-row INSERTs
(`store/writer.py` owns the queues and the thread; this is only the writing)."""

from __future__ import annotations

import sqlite3
from itertools import chain
from operator import attrgetter

from togul_monitor.domain.events import FlagEvent, environment_of
from togul_monitor.store.model import (
    ANSWER_COLUMNS,
    CONFIG_DIFF_COLUMNS,
    EVENT_COLUMNS,
    LAST_CONFIG_COLUMNS,
    LAST_VALUE_COLUMNS,
    OUTAGE_COLUMNS,
    TRANSITION_COLUMNS,
    Retention,
    answer_row,
    config_diff_row,
    event_row,
    last_config_row,
    last_value_row,
    outage_revision_row,
    outage_row,
    transition_row,
)
from togul_monitor.store.sqlite.retention import apply_retention
from togul_monitor.store.writer import (
    RETENTION_EVERY,
    AppendAnswer,
    AppendConfigDiff,
    AppendOutage,
    AppendTransition,
    FlushMark,
    ReviseOutage,
    SetEnvironmentNames,
    SetLastConfig,
    SetLastValue,
    SetWatchedUntil,
    WriteOp,
)

# Statements of 1000, 100, 10 and 1 rows: a batch of any size is a few of them (at most 9 of
# each), and each is prepared once per connection (sqlite3's statement cache). A statement sized
# to each batch's remainder was compiled anew nearly every batch: that cost as much as the rows.
# 1000 rows are 7,000 parameters: under SQLite's 32,766 (since 3.32).
_CHUNKS = (1000, 100, 10, 1)
_INSERTS = {
    rows: f"INSERT INTO events ({EVENT_COLUMNS}) VALUES "
    + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * rows)
    for rows in _CHUNKS
}
# The same, for a run of events of one environment (a stream's are): its id is bound once, as
# parameter 1, that every row names (`?1`), not once per row. The text binding of a string
# costs SQLite and sqlite3 more than the rest of a row: this one's saves a tenth of the inserts'
# CPU.
_BUT_ENVIRONMENT = [name for name in EVENT_COLUMNS.split(", ") if name != "environment_id"]
_ONE_ENVIRONMENT_COLUMNS = ", ".join(["environment_id", *_BUT_ENVIRONMENT])
_row_but_environment = attrgetter(*_BUT_ENVIRONMENT)  # FlagEvent's attributes are the columns'
_INSERTS_ONE_ENVIRONMENT = {
    rows: f"INSERT INTO events ({_ONE_ENVIRONMENT_COLUMNS}) VALUES "
    + ", ".join(["(?1, ?, ?, ?, ?, ?, ?)"] * rows)
    for rows in _CHUNKS
}
_INSERT_TRANSITION = (
    f"INSERT INTO transitions ({TRANSITION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_CONFIG_DIFF = f"INSERT INTO config_diffs ({CONFIG_DIFF_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
_INSERT_ANSWER = f"INSERT INTO merged_answers ({ANSWER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_INSERT_OUTAGE = f"INSERT INTO outages ({OUTAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
_REVISE_OUTAGE = (
    "UPDATE outages SET replayed = ?, may_have_missed = ?"
    " WHERE started_at = ? AND ended_at = ? AND received_at = ?"
)
_REPLACE_LAST_VALUE = (
    f"INSERT OR REPLACE INTO context_last_values ({LAST_VALUE_COLUMNS})"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
# An older program's mark replaces the row whole: its `moves_within` is NULL, not this one's.
_REPLACE_WATCHED_UNTIL = (
    "INSERT OR REPLACE INTO watched_until (id, at, moves_within) VALUES (1, ?, ?)"
)
_REPLACE_LAST_CONFIG = (
    f"INSERT OR REPLACE INTO last_configs ({LAST_CONFIG_COLUMNS}) VALUES (?, ?, ?, ?)"
)
_DELETE_LAST_CONFIG = "DELETE FROM last_configs WHERE environment_id = ? AND flag_key = ?"
_REPLACE_ENVIRONMENT = (
    "INSERT OR REPLACE INTO environments (environment_id, environment_key) VALUES (?, ?)"
)


class SqliteSink:
    """The writer's connection; retention every `RETENTION_EVERY` events, in the batch's
    transaction."""

    def __init__(self, conn: sqlite3.Connection, retention: Retention) -> None:
        self.conn = conn
        self._retention = retention
        self._since_retention = 0

    def write(self, events: list[FlagEvent], ops: list[WriteOp]) -> None:
        conn = self.conn
        with conn:
            if events:
                insert_events(conn, events)
            for op in ops:
                match op:
                    case AppendTransition(transition):
                        conn.execute(_INSERT_TRANSITION, transition_row(transition))
                    case AppendConfigDiff(stored):
                        conn.execute(_INSERT_CONFIG_DIFF, config_diff_row(stored))
                    case AppendAnswer(answer):
                        conn.execute(_INSERT_ANSWER, answer_row(answer))
                    case AppendOutage(outage):
                        conn.execute(_INSERT_OUTAGE, outage_row(outage))
                    case ReviseOutage(outage):
                        conn.execute(_REVISE_OUTAGE, outage_revision_row(outage))
                    case SetLastValue(value):
                        conn.execute(_REPLACE_LAST_VALUE, last_value_row(value))
                    case SetLastConfig(last):
                        if last.config is None:
                            conn.execute(_DELETE_LAST_CONFIG, (last.environment_id, last.flag_key))
                        else:
                            conn.execute(_REPLACE_LAST_CONFIG, last_config_row(last))
                    case SetEnvironmentNames(names):
                        conn.executemany(_REPLACE_ENVIRONMENT, names)
                    case SetWatchedUntil(at, by):
                        within = None if by is None else by.moves_within
                        conn.execute(_REPLACE_WATCHED_UNTIL, (at, within))
                    case FlushMark():
                        pass  # answered by the writer once this commit is done
            self._since_retention += len(events)
            if self._since_retention >= RETENTION_EVERY:
                self._since_retention = 0
                apply_retention(conn, self._retention)

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        self.conn.close()


def insert_events(conn: sqlite3.Connection, events: list[FlagEvent]) -> None:
    # Many rows per statement: executemany would release and retake the GIL once per row
    # (around each sqlite3_step), and every hand-over stalls the monitor's event loop.
    start, end = 0, len(events)
    for rows in _CHUNKS:
        while end - start >= rows:
            stop = start + rows
            chunk = events[start:stop]
            environments = list(map(environment_of, chunk))
            if environments.count(environments[0]) == rows:  # one environment (in C)
                params = [environments[0]]
                params.extend(chain.from_iterable(map(_row_but_environment, chunk)))
                conn.execute(_INSERTS_ONE_ENVIRONMENT[rows], params)
            else:
                conn.execute(_INSERTS[rows], list(chain.from_iterable(map(event_row, chunk))))
            start = stop
