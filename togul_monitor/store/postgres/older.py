"""An older program's recorder still running on a shared PostgreSQL journal, seen by the rows
it journals (store/postgres/schema.py `ADDED_COLUMNS`: `events.written_by_schema`, which it
leaves NULL). Since schema step 4 such a recorder's batches that hold a value change are refused
(its insert names an index the step dropped), its events with them, and its own status says only
a write error: a recorder of this version, writing beside it, says so instead
(store/postgres/sink.py looks after each batch, at its pace)."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

# psycopg only when PostgreSQL is used: a SQLite-only run never imports it (it costs ~90 ms).
if TYPE_CHECKING:
    from psycopg import Connection

from togul_monitor.support.text import safe_text

log = logging.getLogger(__name__)

#: Seconds between two looks for an older program's recorder (`OlderRecorders`), at least.
OLDER_LOOK_PAUSE = 60.0
#: A look reads at most the newest this many events (of every profile): one still running
#: journals among them.
OLDER_LOOK_ROWS = 100_000


class OlderRecorders:
    """The profiles an older program's recorder still journals in the database: the events
    journalled since the last look without `written_by_schema` (schema.py `ADDED_COLUMNS`).
    Such a recorder's batches that hold a value change are refused since schema step 4 (its
    insert names an index the step dropped), its events with them: the profiles are said in
    the log and the status (`PostgresJournal.trouble`) until a look finds none."""

    def __init__(self) -> None:
        self.profiles: tuple[str, ...] = ()
        self._after: int | None = None  # the newest event's seq at the last look
        self._next = 0.0  # time.monotonic() of the next look

    def look(self, conn: Connection[tuple[Any, ...]]) -> None:
        """Look, if it is time, in a transaction of its own (after a batch's: no other
        recorder of the profile waits on it)."""
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + OLDER_LOOK_PAUSE
        import psycopg

        try:
            with conn.transaction():
                row = conn.execute("SELECT max(seq) FROM events").fetchone()
                newest = int(row[0]) if row is not None and row[0] is not None else 0
                after, self._after = self._after, newest
                if after is None:
                    return  # the first look: where the next one starts
                rows = conn.execute(
                    "SELECT DISTINCT profile FROM events WHERE seq > %s AND seq <= %s"
                    " AND written_by_schema IS NULL",
                    (max(after, newest - OLDER_LOOK_ROWS), newest),
                ).fetchall()
        except psycopg.Error as exc:
            # The batch is in: a failed look must not fail it (it would be written again).
            # A broken connection is the next batch's to find.
            log.info("journal: no look for an older recorder: %s", str(exc).splitlines()[0])
            return
        found = tuple(sorted(safe_text(r[0]) for r in rows))
        for profile in set(found) - set(self.profiles):
            log.warning(
                "journal: an older togul-monitor records profile '%s' in this database: since"
                " schema step 4 it loses every batch that holds a value change, its events"
                " too; stop it and run this version instead (docs/journal.md, Upgrading)",
                profile,
            )
        self.profiles = found

    def notice(self) -> str | None:
        """What the status says while one is seen; None otherwise."""
        if not self.profiles:
            return None
        names = ", ".join(f"'{p}'" for p in self.profiles)  # safe text already
        return (
            f"an older togul-monitor records {names} here and loses its value changes:"
            " stop it (docs/journal.md, Upgrading)"
        )
