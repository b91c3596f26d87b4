"""The PostgreSQL journal: one database shared by every recorder of every profile.

Unlike SQLite's (store/sqlite/journal.py), it takes no recorder lock: recorders of one profile
on several machines write side by side, and each event is journalled once (the identity keys,
store/postgres/schema.py). Opening runs the missing migrations under an advisory lock, then
retention, then starts the writer (`store/writer.py`, the same as SQLite's) with a connection of
the pool for its own; reads take another connection of the pool each.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

# psycopg only when PostgreSQL is used: a SQLite-only run never imports it (it costs ~90 ms).
if TYPE_CHECKING:
    import psycopg

from togul_monitor.domain.events import FlagEvent
from togul_monitor.store.interface import CLOSE_TIMEOUT, Journal
from togul_monitor.store.model import JournalError
from togul_monitor.store.postgres.pool import make_pool
from togul_monitor.store.postgres.reader import PostgresReads
from togul_monitor.store.postgres.retention import apply_retention
from togul_monitor.store.postgres.schema import migrate
from togul_monitor.store.postgres.sink import PostgresSink, take_turn
from togul_monitor.store.url import PostgresUrl
from togul_monitor.store.writer import WriteOp

__all__ = ["PostgresJournal"]

log = logging.getLogger(__name__)

_POOL_SIZE = 4  # the writer's connection, and readers (the TUI's history pane, backfill)
#: How long a batch is retried while the database cannot be reached, before it is dropped.
RETRY_SECONDS = 60.0
UNREACHABLE = "journal: database unreachable, retrying"
_FIRST_DELAY, _MAX_DELAY = 0.25, 5.0  # the backoff between two tries of one batch
_GETCONN_TIMEOUT = 5.0  # one try at a connection from the pool
#: How many times a batch is written that a deadlock or a serialization failure rolled back.
CONFLICT_TRIES = 5
_CONFLICT_PAUSE = 0.05  # seconds, times the tries so far


class PostgresJournal(PostgresReads, Journal):
    """`profile`'s journal in the database at `url`: `PostgresJournal.open((url, profile))`,
    or `store/journal.py` `open_journal_at`."""

    def __init__(self, url: PostgresUrl, profile: str, **options: Any) -> None:
        super().__init__(**options)
        self.url = url
        self.profile = profile
        self.location = f"{url} (profile {profile})"
        self._trouble: str | None = None  # set by the writer's sink while it retries a batch
        self._sink: _PooledSink | None = None  # the writer's, once open

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
        import psycopg
        from psycopg_pool import PoolTimeout

        self._pool = make_pool(self.url, max_size=_POOL_SIZE, name=f"journal-{self.profile}")
        try:
            # The writer keeps one connection of its own for as long as it runs.
            conn = self._pool.getconn(timeout=15.0)
            try:
                migrate(conn)
                with conn.transaction():
                    take_turn(conn, self.profile)  # it deletes rows another recorder may hold
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
        self._sink = _PooledSink(self, conn)
        self._writer.start(
            self._sink, name=f"journal-{self.profile}", on_late_close=self._close_pool
        )

    @property
    def trouble(self) -> str | None:
        if self._trouble is not None:
            return self._trouble
        return None if self._sink is None else self._sink.older.notice()

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
    replaced when the server dropped it (a restart, a network cut).

    A batch that fails because the database cannot be reached is not dropped at once: the
    writer thread retries it, with backoff, for `RETRY_SECONDS` (meanwhile the writer's queue
    grows and, at its high-water mark, the intake stops reading the stream: the backpressure a
    slow disk gets), with `trouble` saying so. Only then is it given up, counted in `dropped`.
    A batch rolled back by a deadlock or a serialization failure (another transaction won a
    race) is written again, up to `CONFLICT_TRIES` times, before it counts as dropped.
    A connection is handed back to the pool once (a broken one the pool discards) and taken
    again only when a batch needs it."""

    def __init__(self, journal: PostgresJournal, conn: psycopg.Connection[tuple[Any, ...]]):
        super().__init__(conn, journal.profile, journal._retention, journal.environment_id)
        self._journal = journal

    def write(self, events: list[FlagEvent], ops: list[WriteOp]) -> None:
        import psycopg
        from psycopg.errors import DeadlockDetected, SerializationFailure
        from psycopg_pool import PoolTimeout

        journal = self._journal
        deadline = time.monotonic() + RETRY_SECONDS
        delay = _FIRST_DELAY
        conflicts = 0
        while True:
            try:
                if self.conn is None:
                    self.conn = journal._pool.getconn(timeout=_GETCONN_TIMEOUT)
                super().write(events, ops)
            except (DeadlockDetected, SerializationFailure) as exc:
                # Transient: the transaction lost a race with another one and was rolled back
                # (by `conn.transaction()`: nothing of it is kept), so the same batch is written
                # again once the other has had a moment to commit.
                conflicts += 1
                if conflicts >= CONFLICT_TRIES:
                    raise
                log.info("journal %s: %s, batch written again", journal.location, _first(exc))
                time.sleep(_CONFLICT_PAUSE * conflicts)  # the other transaction ends meanwhile
                continue
            except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as exc:
                if self.conn is not None and not self.conn.broken and not self.conn.closed:
                    raise  # the database answered and refused the batch: not an outage
                self._give_back()
                error = journal.url.scrub(str(exc) or type(exc).__name__)
                if time.monotonic() + delay > deadline:
                    journal._trouble = None
                    raise JournalError(
                        f"database unreachable for {RETRY_SECONDS:.0f} s: {error}"
                    ) from None
                if journal._trouble is None:  # once per outage, not once per try
                    log.warning("journal %s: %s: %s", journal.location, UNREACHABLE, error)
                journal._trouble = UNREACHABLE
                journal._writer.write_error = f"{UNREACHABLE}: {error}"
                time.sleep(delay)  # the writer thread's own pace: nothing else waits on it
                delay = min(delay * 2, _MAX_DELAY)
                continue
            if journal._trouble is not None:
                journal._trouble = None
                journal._writer.write_error = None  # the batch is in: nothing was lost
            return

    def rollback(self) -> None:
        if self.conn is not None and not self.conn.broken and not self.conn.closed:
            super().rollback()
            return
        self._give_back()  # the next batch takes a new connection (`write`)

    def _give_back(self) -> None:
        """Hand the connection back to the pool, once (a broken one is discarded there)."""
        conn, self.conn = self.conn, None
        if conn is not None:
            self._journal._pool.putconn(conn)

    def close(self) -> None:
        self._give_back()


def _first(error: BaseException) -> str:
    """The first line of a database error (its DETAIL lines name server processes)."""
    return (str(error) or type(error).__name__).splitlines()[0]
