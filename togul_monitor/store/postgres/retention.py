"""Retention of a PostgreSQL journal: a profile's rows that are too old or too many, deleted
in the writer's transaction (store/postgres/sink.py, journal.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from togul_monitor.store.model import Retention

if TYPE_CHECKING:
    from psycopg import Connection


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
        ("merged_answers", "at"),
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
