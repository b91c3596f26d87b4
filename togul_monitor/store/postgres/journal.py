"""The PostgreSQL journal: one database shared by every recorder of every profile.

Unlike SQLite's (store/sqlite/journal.py), it takes no recorder lock: recorders of one profile
on several machines write side by side, and each event is journalled once (the identity keys,
store/postgres/schema.py). Opening runs the missing migrations under an advisory lock, then
retention, then starts the writer (`store/writer.py`, the same as SQLite's) with a connection of
the pool for its own; reads take another connection of the pool each.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from psycopg_pool import PoolTimeout

from togul_monitor.store.interface import CLOSE_TIMEOUT, Journal
from togul_monitor.store.model import JournalError
from togul_monitor.store.postgres.reader import PostgresReads, make_pool
from togul_monitor.store.postgres.schema import migrate
from togul_monitor.store.postgres.sink import PostgresSink, apply_retention
from togul_monitor.store.url import PostgresUrl

__all__ = ["PostgresJournal"]

log = logging.getLogger(__name__)

_POOL_SIZE = 4  # the writer's connection, and readers (the TUI's history pane, backfill)


class PostgresJournal(PostgresReads, Journal):
    """`profile`'s journal in the database at `url`: `PostgresJournal.open((url, profile))`,
    or `store/journal.py` `open_journal_at`."""

    def __init__(self, url: PostgresUrl, profile: str, **options: Any) -> None:
        super().__init__(**options)
        self.url = url
        self.profile = profile
        self.location = f"{url} (profile {profile})"

    def __repr__(self) -> str:
        return f"PostgresJournal({self.location!r})"

    @classmethod
    def accepts(cls, target: object) -> bool:
        return (
            isinstance(target, tuple)
            and len(target) == 2
            and isinstance(target[0], PostgresUrl)
            and isinstance(target[1], str)
        )

    @classmethod
    def _create(cls, target: Any, **options: Any) -> PostgresJournal:
        url, profile = target
        return cls(url, profile, **options)

    def _open(self) -> None:
        self._pool = make_pool(self.url, max_size=_POOL_SIZE, name=f"journal-{self.profile}")
        try:
            # The writer keeps one connection of its own for as long as it runs.
            conn = self._pool.getconn(timeout=15.0)
            try:
                migrate(conn)
                with conn.transaction():
                    apply_retention(conn, self.profile, self._retention)
            except BaseException:
                self._pool.putconn(conn)
                raise
        except (psycopg.Error, PoolTimeout) as exc:
            self._pool.close()
            raise JournalError(
                f"cannot open journal {self.location}: {self.url.scrub(str(exc))}"
            ) from None
        except BaseException:
            self._pool.close()
            raise
        self._writer_conn = conn
        self._writer.start(
            _PooledSink(self, conn), name=f"journal-{self.profile}", on_late_close=self._close_pool
        )

    def _close_pool(self) -> None:
        self._pool.close()

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Commit what is queued, stop the writer thread, hand its connection back, close the
        pool."""
        if self._writer.stop(timeout):
            self._close_pool()
        else:
            log.warning("journal %s: writer still busy after %.0f s", self.location, timeout)


class _PooledSink(PostgresSink):
    """The sink whose connection comes from the pool: handed back when the writer ends, and
    replaced when the server dropped it (a restart, a network cut)."""

    def __init__(self, journal: PostgresJournal, conn: psycopg.Connection[tuple[Any, ...]]):
        super().__init__(conn, journal.profile, journal._retention)
        self._journal = journal

    def rollback(self) -> None:
        if not self.conn.broken and not self.conn.closed:
            super().rollback()
            return
        # The failed batch is counted as dropped (store/writer.py); the next one gets a new
        # connection, or fails as this one did until the server is back.
        pool = self._journal._pool
        pool.putconn(self.conn)  # a broken connection is discarded, not reused
        self.conn = pool.getconn(timeout=5.0)

    def close(self) -> None:
        self._journal._pool.putconn(self.conn)
