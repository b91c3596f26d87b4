"""The pool of connections a PostgreSQL journal reads and writes through (store/postgres/reader.py,
journal.py): a wrong address or password said at once, a lost database tried again promptly."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# psycopg only when PostgreSQL is used: a SQLite-only run never imports it (it costs ~90 ms).
if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

from togul_monitor.store.model import JournalError
from togul_monitor.store.postgres.schema import APPLICATION_NAME
from togul_monitor.store.url import PostgresUrl

if TYPE_CHECKING:
    Conn = psycopg.Connection[tuple[Any, ...]]

# How long the pool keeps trying one connection before it gives up on it. Its tries come 1, 2, 4,
# 8… s apart from the first failure, so after a long outage the next one may be a minute after
# the database is back, and a batch retried meanwhile (journal.py, 60 s) could be dropped with the
# database up. A try given up is made afresh at once: for whoever waits for a connection then
# (`_try_again_for_waiting`), else at the next request.
RECONNECT_SECONDS = 5.0


def _try_again_for_waiting(pool: ConnectionPool[Conn]) -> None:
    """The pool gave a try at a connection up: a caller still waiting for one (a reader waits up
    to 30 s) gets a fresh try, as a new request would (`check` starts one)."""
    if pool.get_stats().get("requests_waiting", 0):
        pool.check()


def make_pool(url: PostgresUrl, *, max_size: int, name: str) -> ConnectionPool[Conn]:
    """A pool of connections to `url`; JournalError at once if none can be made."""
    import psycopg
    from psycopg_pool import ConnectionPool, PoolTimeout

    # A name that tells this program's connections from an older one's (schema.py `migrate`).
    kwargs = {"connect_timeout": 10, "application_name": APPLICATION_NAME}
    try:
        # One connection first: a pool retries a refused one until its timeout, while a wrong
        # address or password should be said at once.
        psycopg.connect(url.conninfo, **kwargs).close()  # type: ignore[arg-type]
    except psycopg.Error as exc:
        raise JournalError(f"cannot connect to the journal {url}: {url.scrub(str(exc))}") from None
    pool: ConnectionPool[Conn] = ConnectionPool(
        url.conninfo,
        min_size=1,
        max_size=max_size,
        open=False,
        name=name,
        kwargs=kwargs,
        reconnect_timeout=RECONNECT_SECONDS,
        reconnect_failed=_try_again_for_waiting,
    )
    try:
        pool.open(wait=True, timeout=15.0)
    except (psycopg.Error, PoolTimeout) as exc:
        pool.close()
        raise JournalError(f"cannot connect to the journal {url}: {url.scrub(str(exc))}") from None
    return pool
