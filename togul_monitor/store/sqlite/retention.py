"""Retention in SQLite: how long the journal keeps what it recorded.

Rows older than `max_age_days` and events (and transitions, configuration diffs) beyond the
newest `max_events` are deleted: when the journal opens (`store/sqlite/journal.py`) and then every
`RETENTION_EVERY` appended events (`store/sqlite/sink.py`). Transitions are counted all together,
whatever their context: the bound is on the journal's size, not per context.

The last values (`context_last_values`, one row per context and flag) are kept whatever their
age, as the version-1 `last_values` were: a value is the starting point of the next run (shown
stale until re-evaluated), however long ago it was recorded, and the rows are bounded by the
flags and contexts there are, not by time.
"""

from __future__ import annotations

import sqlite3

from togul_monitor.store.model import Retention


def apply_retention(conn: sqlite3.Connection, retention: Retention) -> None:
    """Delete what is too old or too many (inside the caller's transaction)."""
    cutoff = retention.cutoff()
    # Events: by count (seq is dense, so this keeps the newest max_events) and by age.
    # received_at grows with seq, so the first young row splits old from young without an
    # index on received_at (which would slow every insert).
    conn.execute(
        "DELETE FROM events WHERE seq <= (SELECT MAX(seq) FROM events) - ?",
        (retention.max_events,),
    )
    first_young = conn.execute(
        "SELECT seq FROM events WHERE received_at >= ? ORDER BY seq LIMIT 1", (cutoff,)
    ).fetchone()
    if first_young is None:
        conn.execute("DELETE FROM events")
    else:
        conn.execute("DELETE FROM events WHERE seq < ?", (first_young[0],))
    conn.execute("DELETE FROM transitions WHERE at < ?", (cutoff,))
    conn.execute(
        "DELETE FROM transitions WHERE seq <= (SELECT MAX(seq) FROM transitions) - ?",
        (retention.max_events,),
    )
    conn.execute("DELETE FROM merged_answers WHERE at < ?", (cutoff,))
    conn.execute(
        "DELETE FROM merged_answers WHERE seq <= (SELECT MAX(seq) FROM merged_answers) - ?",
        (retention.max_events,),
    )
    conn.execute("DELETE FROM outages WHERE received_at < ?", (cutoff,))
    conn.execute("DELETE FROM config_diffs WHERE at < ?", (cutoff,))
    conn.execute(
        "DELETE FROM config_diffs WHERE seq <= (SELECT MAX(seq) FROM config_diffs) - ?",
        (retention.max_events,),
    )
