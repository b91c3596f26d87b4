"""Reading a PostgreSQL journal: one profile's rows, on a connection from the pool.

Every query names the profile and runs on an index (store/postgres/schema.py): the backfill
(newest events) on (profile, seq), a flag's history on (profile, flag_key, seq), an event's
transitions on their identity index. Every database error becomes a `JournalError` whose text
never shows the password (`PostgresUrl.scrub`).

`PostgresReads` offers these reads as the journal interface's methods (`store/interface.py`) to
`PostgresReader` (no writer: `history`, `export`) and `PostgresJournal`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

# psycopg only when PostgreSQL is used: a SQLite-only run never imports it (it costs ~90 ms).
if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.flag_config import FlagConfig
from togul_monitor.domain.history import HistoryEntry, merge_history
from togul_monitor.domain.merged import MergedAnswer
from togul_monitor.domain.values import ValueTransition
from togul_monitor.store.interface import (
    CLOSE_TIMEOUT,
    MAX_TRANSITIONS_PER_EVENT,
    JournalReader,
)
from togul_monitor.store.model import (
    ANSWER_COLUMNS,
    ANSWERS_CHECKABLE,
    CONFIG_DIFF_COLUMNS,
    EVENT_COLUMNS,
    LAST_CONFIG_COLUMNS,
    LAST_VALUE_ADDED,
    OUTAGE_COLUMNS,
    TRANSITION_ADDED,
    TRANSITION_COLUMNS,
    JournalError,
    LastValue,
    Row,
    StoredDiff,
    WatchedUntil,
    Watcher,
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
from togul_monitor.store.postgres.pool import make_pool
from togul_monitor.store.postgres.schema import (
    SCHEMA_VERSION,
    has_column,
    has_table,
    schema_version,
)
from togul_monitor.store.url import PostgresUrl

if TYPE_CHECKING:
    Conn = psycopg.Connection[tuple[Any, ...]]

_CHUNK = 2000  # rows fetched at once by `iter_events`


class PostgresReads:
    """The reads of `self.profile`'s journal through `self._pool`."""

    many_recorders = True

    profile: str
    url: PostgresUrl
    _pool: ConnectionPool[Conn]
    _transition_columns: str | None = None

    def _transitions(self, conn: Conn) -> str:
        """The transitions' columns to SELECT: `includes_unseen` reads as 0 and
        `environment_key` as NULL in a database no recorder has opened since they were added
        (store/postgres/schema.py `ADDED_COLUMNS`). Only their presence is kept: a recorder
        may add them while this reader lives."""
        if self._transition_columns is None:
            added = [column for column, _ in TRANSITION_ADDED]
            present = [column for column in added if has_column(conn, "transitions", column)]
            if len(present) < len(added):
                return transition_columns_of(present)
            self._transition_columns = TRANSITION_COLUMNS
        return self._transition_columns

    def _last_values(self, conn: Conn) -> str:
        """The last values' columns to SELECT: each added since the table came reads as NULL
        (not known) in a database no recorder has opened since it was added."""
        present = [c for c in LAST_VALUE_ADDED if has_column(conn, "context_last_values", c)]
        return last_value_columns_of(present)

    @contextmanager
    def _connection(self) -> Iterator[Conn]:
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            with self._pool.connection() as conn:
                yield conn
        except psycopg.errors.UndefinedTable:
            raise JournalError(
                f"no journal in {self.url} yet: no recorder has written to it"
            ) from None
        except (psycopg.Error, PoolTimeout) as exc:
            raise JournalError(
                f"cannot read journal {self.url}: {self.url.scrub(str(exc))}"
            ) from None

    def recent_events(self, limit: int) -> list[FlagEvent]:
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE profile = %s ORDER BY seq DESC LIMIT %s",
                (self.profile, limit),
            ).fetchall()
        rows.reverse()
        return [event_from_row(r) for r in rows]

    def last_values(self) -> dict[str, dict[str, LastValue]]:
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT {self._last_values(conn)} FROM context_last_values WHERE profile = %s",
                (self.profile,),
            ).fetchall()
        values: dict[str, dict[str, LastValue]] = {}
        for value in map(last_value_from_row, rows):
            values.setdefault(value.context, {})[value.flag_key] = value
        return values

    def history(
        self, flag_key: str, limit: int = 500, environment_id: str | None = None
    ) -> list[HistoryEntry]:
        profile = self.profile
        with self._connection() as conn:
            events = [
                event_from_row(r)
                for r in conn.execute(
                    f"SELECT {EVENT_COLUMNS} FROM events WHERE profile = %s AND flag_key = %s"
                    " ORDER BY seq DESC LIMIT %s",
                    (profile, flag_key, limit),
                )
            ]
            transitions = [
                transition_from_row(r)
                for r in conn.execute(
                    f"SELECT {self._transitions(conn)} FROM transitions"
                    " WHERE profile = %s AND flag_key = %s ORDER BY seq DESC LIMIT %s",
                    (profile, flag_key, limit),
                )
            ]
            times = [e.received_at for e in events] + [t.at for t in transitions]
            outages: list[Outage] = []
            if times:
                # Outages inside the span the flag's history covers: they explain its gaps.
                outages = [
                    outage_from_row(r)
                    for r in conn.execute(
                        f"SELECT {OUTAGE_COLUMNS} FROM outages WHERE profile = %s"
                        " AND received_at >= %s ORDER BY seq DESC LIMIT %s",
                        (profile, min(times), limit),
                    )
                ]
        return merge_history(
            transitions, events, outages, limit=limit, environment_id=environment_id
        )

    def transitions_for(
        self,
        event_id: str,
        flag_key: str,
        since: float | None = None,
        until: float | None = None,
    ) -> list[ValueTransition]:
        span, bounds = span_clause(since, until, "%s")
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT {self._transitions(conn)} FROM transitions WHERE profile = %s"
                f" AND event_id = %s AND flag_key = %s{span} ORDER BY seq DESC LIMIT %s",
                (self.profile, event_id, flag_key, *bounds, MAX_TRANSITIONS_PER_EVENT),
            ).fetchall()
        newest: dict[str, ValueTransition] = {}
        for transition in map(transition_from_row, rows):
            newest.setdefault(transition.context, transition)
        found = list(newest.values())
        found.reverse()  # read newest first: the order recorded is the reverse
        return found

    def config_diffs(
        self, flag_key: str | None, limit: int = 500, since: float | None = None
    ) -> list[StoredDiff]:
        where, args = "profile = %s AND at >= %s", [self.profile, float("-inf")]
        if since is not None:
            args[1] = since
        if flag_key is not None:
            where += " AND flag_key = %s"
            args.append(flag_key)
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT {CONFIG_DIFF_COLUMNS} FROM config_diffs WHERE {where}"
                " ORDER BY seq DESC LIMIT %s",
                (*args, limit),
            ).fetchall()
        return [d for d in map(config_diff_from_row, rows) if d is not None]

    def changes_since(
        self, since: float, limit: int, transition_limit: int | None = None
    ) -> tuple[list[ValueTransition], list[StoredDiff]]:
        with self._connection() as conn:
            transitions = [
                transition_from_row(r)
                for r in conn.execute(
                    f"SELECT {self._transitions(conn)} FROM transitions WHERE profile = %s"
                    " AND at >= %s ORDER BY seq DESC LIMIT %s",
                    (self.profile, since, limit if transition_limit is None else transition_limit),
                )
            ]
            rows = conn.execute(
                f"SELECT {CONFIG_DIFF_COLUMNS} FROM config_diffs WHERE profile = %s"
                " AND at >= %s ORDER BY seq DESC LIMIT %s",
                (self.profile, since, limit),
            ).fetchall()
        transitions.reverse()
        diffs = [d for d in map(config_diff_from_row, reversed(rows)) if d is not None]
        return transitions, diffs

    def merged_answers(self, flag_key: str | None, since: float, limit: int) -> list[MergedAnswer]:
        with self._connection() as conn:
            # A database no recorder has migrated since the table came (step 5) has none, and
            # one no recorder has opened since its rows kept their first version has only rows
            # that claim nothing (store/model.py `ANSWERS_CHECKABLE`).
            if not has_column(conn, "merged_answers", "first_version"):
                return []
            flag, args = ("", ()) if flag_key is None else (" AND flag_key = %s", (flag_key,))
            rows = conn.execute(
                f"SELECT {ANSWER_COLUMNS} FROM merged_answers WHERE profile = %s{flag}"
                f" AND {ANSWERS_CHECKABLE} AND at >= %s ORDER BY seq DESC LIMIT %s",
                (self.profile, *args, since, limit),
            ).fetchall()
        return [answer_from_row(r) for r in reversed(rows)]

    def environment_names(self) -> dict[str, str]:
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT environment_id, environment_key FROM environments WHERE profile = %s",
                (self.profile,),
            ).fetchall()
        return {str(k): str(v) for k, v in rows}

    def last_configs(self, environment_id: str) -> dict[str, FlagConfig]:
        with self._connection() as conn:
            # A database no recorder of this version has opened has none (`ADDED_TABLES`).
            if not has_table(conn, "last_configs"):
                return {}
            rows = conn.execute(
                f"SELECT {LAST_CONFIG_COLUMNS} FROM last_configs"
                " WHERE profile = %s AND environment_id = %s",
                (self.profile, environment_id),
            ).fetchall()
        read = ((str(row[1]), last_config_from_row(row)) for row in rows)
        return {key: config for key, config in read if config is not None}

    def iter_events(self, since: float | None = None) -> Iterator[FlagEvent]:
        for row in self._pages("events", lambda conn: EVENT_COLUMNS, "received_at", since):
            yield event_from_row(row)

    def iter_transitions(self, since: float | None = None) -> Iterator[ValueTransition]:
        for row in self._pages("transitions", self._transitions, "at", since):
            yield transition_from_row(row)

    def _pages(
        self, table: str, columns: Callable[[Conn], str], time: str, since: float | None
    ) -> Iterator[Row]:
        """The profile's rows of `table` (its `columns`, as the connection has them) whose
        `time` is `since` or later, oldest first, page by page by seq: each a short query, no
        cursor held open across the consumer's pace. `table` and `time` are this module's."""
        after = 0
        floor = float("-inf") if since is None else since
        while True:
            with self._connection() as conn:
                rows = conn.execute(
                    f"SELECT seq, {columns(conn)} FROM {table} WHERE profile = %s AND seq > %s"
                    f" AND {time} >= %s ORDER BY seq LIMIT %s",
                    (self.profile, after, floor, _CHUNK),
                ).fetchall()
            if not rows:
                return
            after = rows[-1][0]
            for row in rows:
                yield row[1:]

    def outages(self, since: float | None = None) -> list[Outage]:
        floor = float("-inf") if since is None else since
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT {OUTAGE_COLUMNS} FROM outages WHERE profile = %s AND ended_at >= %s"
                " ORDER BY seq",
                (self.profile, floor),
            ).fetchall()
        return [outage_from_row(r) for r in rows]

    def count_events(self) -> int:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT count(*) FROM events WHERE profile = %s", (self.profile,)
            ).fetchone()
        return int(row[0]) if row is not None else 0

    def watched_until(self) -> float | None:
        with self._connection() as conn:
            # A database no recorder has migrated since the table came (version 2) has none.
            if not has_table(conn, "watched_until"):
                return None
            row = conn.execute(
                "SELECT at FROM watched_until WHERE profile = %s", (self.profile,)
            ).fetchone()
        return float(row[0]) if row is not None else None

    def watched_until_mark(self) -> WatchedUntil | None:
        """The profile's newest mark, with the promise of the recorder whose mark it is (its
        own row in `watched_by`, of the same time); None when no such row says one (an older
        program's mark)."""
        at = self.watched_until()
        if at is None:
            return None
        promised = [w.moves_within for w in self.watchers() if w.at == at]
        known = [within for within in promised if within is not None]
        return WatchedUntil(at, max(known) if known else None)

    def watchers(self) -> list[Watcher]:
        with self._connection() as conn:
            # A database no recorder of this version has opened has none (schema.py
            # `ADDED_TABLES`), nor their promise (`ADDED_COLUMNS`: read as NULL).
            if not has_table(conn, "watched_by"):
                return []
            within = "moves_within" if has_column(conn, "watched_by", "moves_within") else "NULL"
            rows = conn.execute(
                f"SELECT recorder, began, at, {within} FROM watched_by WHERE profile = %s",
                (self.profile,),
            ).fetchall()
        return [
            Watcher(str(r[0]), float(r[1]), float(r[2]), None if r[3] is None else float(r[3]))
            for r in rows
        ]

    def check(self) -> None:
        with self._connection() as conn:
            found = schema_version(conn)
        if found == 0:
            raise JournalError(f"no journal in {self.url} yet: no recorder has written to it")
        if found > SCHEMA_VERSION:
            raise JournalError(f"the journal in {self.url} has a newer program's schema ({found})")


class PostgresReader(PostgresReads, JournalReader):
    """`profile`'s journal in the database at `url`, read only."""

    def __init__(self, url: PostgresUrl, profile: str) -> None:
        self.url = url
        self.profile = profile
        self.location = f"{url} (profile {profile})"
        self._pool = make_pool(url, max_size=2, name="journal-reader")

    def check(self) -> None:
        super().check()
        # A shared database holds every profile's rows: a mistyped name would read as an empty
        # journal, where a missing SQLite file says "no journal".
        with self._connection() as conn:
            row = conn.execute(_ANY_ROW, (self.profile,) * len(_TABLES)).fetchone()
        if row is None or not row[0]:
            raise JournalError(f"no journal for profile {self.profile!r} in {self.url}")

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        self._pool.close(timeout)


_TABLES = (
    "events",
    "transitions",
    "outages",
    "config_diffs",
    "context_last_values",
    "environments",
)
_ANY_ROW = "SELECT " + " OR ".join(
    f"EXISTS (SELECT 1 FROM {table} WHERE profile = %s)" for table in _TABLES
)
