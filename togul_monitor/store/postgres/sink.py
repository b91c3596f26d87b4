"""What a writer's batch becomes in PostgreSQL: one transaction, events inserted as columns
(`unnest` of one array per column: one statement and one round trip per 10,000 events), every
insert `ON CONFLICT DO NOTHING` so that what another recorder of the profile already journalled
is not journalled twice (the identity keys: `store/postgres/schema.py`). `store/writer.py` owns
the queues and the thread; this is only the writing."""

from __future__ import annotations

import time
from typing import Any

from psycopg import Connection

from togul_monitor.domain.events import FlagEvent
from togul_monitor.store.model import (
    CONFIG_DIFF_COLUMNS,
    EVENT_COLUMNS,
    LAST_VALUE_COLUMNS,
    OUTAGE_COLUMNS,
    TRANSITION_COLUMNS,
    Retention,
    config_diff_row,
    event_row,
    last_value_row,
    outage_row,
    transition_row,
)
from togul_monitor.store.writer import (
    RETENTION_EVERY,
    AppendConfigDiff,
    AppendOutage,
    AppendTransition,
    FlushMark,
    SetEnvironmentNames,
    SetLastValue,
    WriteOp,
)

_ROWS_PER_INSERT = 10_000
RETENTION_PAUSE = 60.0  # seconds between two retentions of one recorder, at least
# The arrays go in binary (%b): about half the time of text arrays, measured.
_INSERT_EVENTS = (
    f"INSERT INTO events (profile, {EVENT_COLUMNS}) SELECT %s, * FROM unnest("
    "%b::text[], %b::text[], %b::text[], %b::text[], %b::bigint[], %b::float8[], %b::float8[]"
    ") ON CONFLICT DO NOTHING"
)
# One row per (event, flag, context). Another recorder's copy (the same change) is left alone;
# a different change of the same event and context (the event replayed after an outage, and
# the value moved meanwhile) replaces it and moves to the end, as SQLite keeps the newest
# (store/sqlite/reader.py `read_transitions_for`).
_INSERT_TRANSITION = (
    f"INSERT INTO transitions (profile, {TRANSITION_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (profile, event_id, flag_key, context) WHERE event_id IS NOT NULL"
    " DO UPDATE SET seq = DEFAULT, at = excluded.at, before = excluded.before,"
    " after = excluded.after WHERE (transitions.before, transitions.after)"
    " IS DISTINCT FROM (excluded.before, excluded.after)"
)
_INSERT_CONFIG_DIFF = (
    f"INSERT INTO config_diffs (profile, {CONFIG_DIFF_COLUMNS})"
    " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
)
# Outages are what this recorder saw of its own connection: each recorder's are its own rows.
_INSERT_OUTAGE = f"INSERT INTO outages (profile, {OUTAGE_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)"
# The newest value wins, whichever recorder wrote it last.
_UPSERT_LAST_VALUE = (
    f"INSERT INTO context_last_values (profile, {LAST_VALUE_COLUMNS})"
    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (profile, context, flag_key) DO UPDATE SET"
    " evaluation = excluded.evaluation, at = excluded.at, deleted = excluded.deleted"
    " WHERE context_last_values.at <= excluded.at"
)
_UPSERT_ENVIRONMENT = (
    "INSERT INTO environments (profile, environment_id, environment_key) VALUES (%s, %s, %s)"
    " ON CONFLICT (profile, environment_id) DO UPDATE SET environment_key = excluded.environment_key"
)


class PostgresSink:
    """The writer's connection (autocommit off: one transaction per batch)."""

    def __init__(
        self, conn: Connection[tuple[Any, ...]], profile: str, retention: Retention
    ) -> None:
        self.conn = conn
        self.profile = profile
        self._retention = retention
        self._since_retention = 0
        self._next_retention = time.monotonic() + RETENTION_PAUSE  # it ran at open

    def write(self, events: list[FlagEvent], ops: list[WriteOp]) -> None:
        conn, profile = self.conn, self.profile
        with conn.transaction(), conn.cursor() as cur:
            for start in range(0, len(events), _ROWS_PER_INSERT):
                ids, types, keys, envs, versions, stamps, received = zip(
                    *map(event_row, events[start : start + _ROWS_PER_INSERT]), strict=True
                )
                # Lists (a tuple is a record to psycopg); a float8[] takes no mix of ints and
                # floats (timestamps are either on the wire).
                columns = (ids, types, keys, envs, versions)
                cur.execute(
                    _INSERT_EVENTS,
                    (profile, *map(list, columns), _floats(stamps), _floats(received)),
                )
            for op in ops:
                match op:
                    case AppendTransition(transition):
                        cur.execute(_INSERT_TRANSITION, (profile, *transition_row(transition)))
                    case AppendConfigDiff(stored):
                        cur.execute(_INSERT_CONFIG_DIFF, (profile, *config_diff_row(stored)))
                    case AppendOutage(outage):
                        cur.execute(_INSERT_OUTAGE, (profile, *outage_row(outage)))
                    case SetLastValue(value):
                        cur.execute(_UPSERT_LAST_VALUE, (profile, *last_value_row(value)))
                    case SetEnvironmentNames(names):
                        cur.executemany(_UPSERT_ENVIRONMENT, [(profile, *n) for n in names])
                    case FlushMark():
                        pass  # answered by the writer once this commit is done
            self._since_retention += len(events)
            now = time.monotonic()
            if self._since_retention >= RETENTION_EVERY and now >= self._next_retention:
                # Also at most once a minute: counting the newest max_events down the index
                # costs more here than SQLite's seq arithmetic (seq is shared by profiles).
                self._since_retention = 0
                self._next_retention = now + RETENTION_PAUSE
                apply_retention(conn, profile, self._retention)

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        self.conn.close()


def _floats(values: tuple[Any, ...]) -> list[float]:
    return [float(v) for v in values]


def apply_retention(conn: Connection[tuple[Any, ...]], profile: str, retention: Retention) -> None:
    """Delete the profile's rows that are too old or too many (in the caller's transaction).

    As in SQLite (store/sqlite/retention.py) but per profile, and seq is not dense here (the
    profiles share it): the newest `max_events` are counted down the (profile, seq) index. The
    first young event splits old from young (received_at grows with seq, near enough with
    several recorders) without an index on received_at. The last values are kept."""
    cutoff = retention.cutoff()
    for table, time_column in (
        ("events", "received_at"),
        ("transitions", "at"),
        ("config_diffs", "at"),
    ):
        row = conn.execute(
            f"SELECT seq FROM {table} WHERE profile = %s ORDER BY seq DESC OFFSET %s LIMIT 1",
            (profile, retention.max_events),
        ).fetchone()
        if row is not None:
            conn.execute(f"DELETE FROM {table} WHERE profile = %s AND seq <= %s", (profile, row[0]))
        young = conn.execute(
            f"SELECT seq FROM {table} WHERE profile = %s AND {time_column} >= %s"
            " ORDER BY seq LIMIT 1",
            (profile, cutoff),
        ).fetchone()
        if young is None:
            conn.execute(f"DELETE FROM {table} WHERE profile = %s", (profile,))
        else:
            conn.execute(
                f"DELETE FROM {table} WHERE profile = %s AND seq < %s", (profile, young[0])
            )
    conn.execute("DELETE FROM outages WHERE profile = %s AND received_at < %s", (profile, cutoff))
