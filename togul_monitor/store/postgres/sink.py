"""What a writer's batch becomes in PostgreSQL: one transaction, events inserted as columns
(`unnest` of one array per column: one statement and one round trip per 10,000 events), every
insert `ON CONFLICT DO NOTHING` so that what another recorder of the profile already journalled
is not journalled twice (the identity keys: `store/postgres/schema.py`). `store/writer.py` owns
the queues and the thread; this is only the writing.

Recorders of one profile take turns: each batch's transaction first takes the profile's advisory
lock (`take_turn`), held until it commits. Their batches overlap (the same events, transitions,
last values, in whatever order each one's evaluations finished), and two transactions inserting
overlapping unique keys in different orders wait on each other: PostgreSQL breaks that deadlock by
failing one batch. One lock taken first is an order both agree on, and it keeps each batch's rows
in arrival order (`seq`, which readers and `export` follow). Other profiles' rows never collide:
every key holds the profile."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

# psycopg only when PostgreSQL is used: a SQLite-only run never imports it (it costs ~90 ms).
if TYPE_CHECKING:
    from psycopg import Connection

from togul_monitor.domain.change_owners import CLOCKS_APART
from togul_monitor.domain.events import FlagEvent
from togul_monitor.store.model import (
    ANSWER_COLUMNS,
    CONFIG_DIFF_COLUMNS,
    EVENT_COLUMNS,
    LAST_CONFIG_COLUMNS,
    LAST_VALUE_COLUMNS,
    OUTAGE_COLUMNS,
    TRANSITION_COLUMNS,
    Retention,
    answer_from_row,
    answer_row,
    config_diff_row,
    event_row,
    last_config_row,
    last_value_row,
    outage_revision_row,
    outage_row,
    transition_from_row,
    transition_row,
)
from togul_monitor.store.postgres.account import Account, event_seq_of
from togul_monitor.store.postgres.older import OlderRecorders
from togul_monitor.store.postgres.retention import apply_retention
from togul_monitor.store.postgres.schema import DIFFS_BY_EVENT, SCHEMA_VERSION
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

_ROWS_PER_INSERT = 10_000
_TAKE_TURN = "SELECT pg_advisory_xact_lock(%s)"
RETENTION_PAUSE = 60.0  # seconds between two retentions of one recorder, at least
# The arrays go in binary (%b): about half the time of text arrays, measured.
# Each row says the schema of the program that wrote it (schema.py `ADDED_COLUMNS`).
_INSERT_EVENTS = (
    f"INSERT INTO events (profile, {EVENT_COLUMNS}, written_by_schema)"
    f" SELECT %s, *, {SCHEMA_VERSION} FROM unnest("
    "%b::text[], %b::text[], %b::text[], %b::text[], %b::bigint[], %b::float8[], %b::float8[]"
    ") ON CONFLICT DO NOTHING"
)
# One row per (event, flag, context). The event is the row of the flag's newest event of the
# id received by the time the change was computed (`event_seq`; a clock apart for another
# recorder's row), of the profile's environment when the sink knows it, as the readers tie a
# change to its event (domain/change_owners.py: a token's stream carries every environment,
# whose ids repeat): a restarted server's event of an id the earlier life used has a row of its
# own, and so its changes do. 0: no such row (its batch given up), or one journalled before
# schema step 4 (`written_by_schema` NULL), whose changes keep the key they had then
# (store/postgres/schema.py, step 4). The event is journalled before its answer comes (an
# earlier batch, or earlier in this one), and the look-up runs on the events' identity index.
# Another recorder's copy (the same change) is left alone; a different change of the same event
# and context (the event replayed after an outage, and the value moved meanwhile) replaces it
# and moves to the end, as SQLite keeps the newest (store/sqlite/reader.py
# `read_transitions_for`), when it is the flag's last change in that context
# (store/postgres/account.py says what else).
_TRANSITION_PARAMS = TRANSITION_COLUMNS.split(", ")  # named: the look-up binds some twice


def _insert_transition(environment: bool) -> str:
    """The insert of a transition, its event looked up in the profile's environment only
    (`environment`: the statement takes `%(environment_id)s`) or in any."""
    return (
        f"INSERT INTO transitions (profile, {TRANSITION_COLUMNS}, event_seq)"
        f" VALUES (%(profile)s, {', '.join(f'%({c})s' for c in _TRANSITION_PARAMS)},"
        f" {event_seq_of(environment)})"
        " ON CONFLICT (profile, event_id, flag_key, context, event_seq)"
        " WHERE event_id IS NOT NULL"
        " DO UPDATE SET seq = DEFAULT, at = excluded.at, before = excluded.before,"
        " after = excluded.after, includes_unseen = excluded.includes_unseen,"
        " environment_key = excluded.environment_key"
        " WHERE (transitions.before, transitions.after)"
        " IS DISTINCT FROM (excluded.before, excluded.after)"
    )


_INSERT_TRANSITION = _insert_transition(environment=False)
_INSERT_TRANSITION_OF_ENVIRONMENT = _insert_transition(environment=True)
# `flag_id` and `event_seq` are parts of the diff's identity only (store/postgres/schema.py,
# steps 3 and 6): read back, the diff's text has the flag's id. `event_seq` is the row of the
# event the diff explains, found as a transition's (above) and as the readers tie a diff
# (store/recorded.py): the newest event of its id, flag and environment received by the time
# it was computed (a clock apart for another recorder's row), so a restarted server's diff of
# an id the earlier life used is kept beside that life's, and another recorder's copy is not;
# 0 without an id, without such a row, or for an event a program before step 6 journalled
# (the key its diffs have). No conflict target: either identity index (with an id, or by
# version without) leaves a copy out.
_CONFIG_DIFF_PARAMS = [*CONFIG_DIFF_COLUMNS.split(", "), "flag_id"]
_INSERT_CONFIG_DIFF = (
    f"INSERT INTO config_diffs (profile, {CONFIG_DIFF_COLUMNS}, flag_id, event_seq)"
    f" VALUES (%(profile)s, {', '.join(f'%({c})s' for c in _CONFIG_DIFF_PARAMS)},"
    " coalesce((SELECT CASE WHEN coalesce(written_by_schema, 0) < "
    f"{DIFFS_BY_EVENT} THEN 0 ELSE seq END FROM events"
    " WHERE profile = %(profile)s AND event_id = %(event_id)s AND flag_key = %(flag_key)s"
    " AND environment_id = %(environment_id)s AND event_id IS NOT NULL"
    f" AND received_at <= %(at)s + {CLOCKS_APART!r} ORDER BY seq DESC LIMIT 1), 0))"
    " ON CONFLICT DO NOTHING"
)
# Each recorder's answers are its own rows, as its outages are (no identity key), written
# only when they agree with the journal's value changes (store/postgres/account.py).
_INSERT_ANSWER = (
    f"INSERT INTO merged_answers (profile, {ANSWER_COLUMNS})"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
# Outages are what this recorder saw of its own connection: each recorder's are its own rows.
_INSERT_OUTAGE = f"INSERT INTO outages (profile, {OUTAGE_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)"
_REVISE_OUTAGE = (
    "UPDATE outages SET replayed = %s, may_have_missed = %s"
    " WHERE started_at = %s AND ended_at = %s AND received_at = %s AND profile = %s"
)
# The newest value wins, whichever recorder wrote it last.
_UPSERT_LAST_VALUE = (
    f"INSERT INTO context_last_values (profile, {LAST_VALUE_COLUMNS})"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (profile, context, flag_key) DO UPDATE"
    " SET evaluation = excluded.evaluation, at = excluded.at, deleted = excluded.deleted,"
    " environment_key = excluded.environment_key, certain_at = excluded.certain_at"
    " WHERE context_last_values.at <= excluded.at"
)
# The newest read wins, whichever recorder made it; a flag gone is deleted unless read since.
_UPSERT_LAST_CONFIG = (
    f"INSERT INTO last_configs (profile, {LAST_CONFIG_COLUMNS}) VALUES (%s, %s, %s, %s, %s)"
    " ON CONFLICT (profile, environment_id, flag_key) DO UPDATE SET config = excluded.config,"
    " at = excluded.at WHERE last_configs.at <= excluded.at"
)
_DELETE_LAST_CONFIG = (
    "DELETE FROM last_configs WHERE profile = %s AND environment_id = %s AND flag_key = %s"
    " AND at <= %s"
)
# Several recorders of one profile: the newest mark wins (whichever watched last).
_UPSERT_WATCHED_UNTIL = (
    "INSERT INTO watched_until (profile, at) VALUES (%s, %s) ON CONFLICT (profile) DO UPDATE"
    " SET at = excluded.at WHERE watched_until.at < excluded.at"
)
# Each recorder's own mark (`watched_by`): its newest, with when its watch began. A restarted
# recorder is a new one, so the rows of runs long gone are dropped as the marks are written.
_UPSERT_WATCHED_BY = (
    "INSERT INTO watched_by (profile, recorder, began, at, moves_within)"
    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (profile, recorder) DO UPDATE"
    " SET began = excluded.began, at = excluded.at, moves_within = excluded.moves_within"
)
_DROP_OLD_WATCHERS = "DELETE FROM watched_by WHERE profile = %s AND at < %s"
#: Seconds a gone recorder's row is kept: far longer than any outage it could cover is looked
#: at (core/covered.py looks within a minute of the outage's end).
WATCHER_KEPT = 86_400.0
_UPSERT_ENVIRONMENT = (
    "INSERT INTO environments (profile, environment_id, environment_key) VALUES (%s, %s, %s)"
    " ON CONFLICT (profile, environment_id) DO UPDATE SET environment_key = excluded.environment_key"
)


class PostgresSink:
    """The writer's connection (autocommit off: one transaction per batch)."""

    def __init__(
        self,
        conn: Connection[tuple[Any, ...]],
        profile: str,
        retention: Retention,
        environment_id: str | None = None,
    ) -> None:
        self.conn: Connection[tuple[Any, ...]] | None = conn  # None: taken again when needed
        self.profile = profile
        # The profile's environment (None: not known): only its events own a value change.
        self._environment_id = environment_id
        self.older = OlderRecorders()
        self.account = Account(profile, environment_id)  # one account of each value
        self._turn = turn_key(profile)
        self._retention = retention
        self._since_retention = 0
        self._next_retention = time.monotonic() + RETENTION_PAUSE  # it ran at open
        self.nul_rows_cleaned = 0  # batches written again with their NULs replaced

    def write(self, events: list[FlagEvent], ops: list[WriteOp]) -> None:
        import psycopg

        # What the account remembers of the batch goes if the batch does (written again, or
        # given up: store/postgres/journal.py).
        kept = self.account.remembered()
        try:
            try:
                self._write(events, ops, _as_is)
            except psycopg.DataError:
                # PostgreSQL text holds no NUL, which a server's flag key, type or id may
                # carry: written again with each NUL as U+FFFD (docs/journal.md), rather than
                # one such row losing the whole batch. Anything else the database refuses
                # fails it as before.
                if not _has_nul(events, ops):
                    raise
                self.account.restore(kept)  # written again from the start
                self._write(events, ops, _storable)
                self.nul_rows_cleaned += 1
        except BaseException:
            self.account.restore(kept)
            raise

    def _write(self, events: list[FlagEvent], ops: list[WriteOp], clean: _Clean) -> None:
        conn, profile = self.conn, self.profile
        assert conn is not None, "a sink writes on a connection"
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(_TAKE_TURN, (self._turn,))  # held to the commit: see the docstring
            for start in range(0, len(events), _ROWS_PER_INSERT):
                rows = map(event_row, events[start : start + _ROWS_PER_INSERT])
                if clean is not _as_is:
                    rows = map(clean, rows)
                ids, types, keys, envs, versions, stamps, received = zip(*rows, strict=True)
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
                        row = clean(transition_row(transition))
                        # Checked against the journal's account (store/postgres/account.py).
                        kept = self.account.change(cur, transition_from_row(row))
                        if kept is None:
                            continue
                        row = transition_row(kept)
                        params = dict(zip(_TRANSITION_PARAMS, row, strict=True))
                        if self._environment_id is None:
                            cur.execute(_INSERT_TRANSITION, {"profile": profile, **params})
                        else:
                            params["environment_id"] = clean((self._environment_id,))[0]
                            cur.execute(
                                _INSERT_TRANSITION_OF_ENVIRONMENT, {"profile": profile, **params}
                            )
                    case AppendConfigDiff(stored):
                        row = clean((*config_diff_row(stored), stored.diff.flag_id))
                        params = dict(zip(_CONFIG_DIFF_PARAMS, row, strict=True))
                        cur.execute(_INSERT_CONFIG_DIFF, {"profile": profile, **params})
                    case AppendAnswer(answer):
                        row = clean(answer_row(answer))
                        if self.account.answer_stands(cur, answer_from_row(row)):
                            cur.execute(_INSERT_ANSWER, (profile, *row))
                    case AppendOutage(outage):
                        cur.execute(_INSERT_OUTAGE, (profile, *outage_row(outage)))
                    case ReviseOutage(outage):
                        cur.execute(_REVISE_OUTAGE, (*outage_revision_row(outage), profile))
                    case SetLastValue(value):
                        row = clean(last_value_row(value))
                        if self.account.last_value_stands(row[0], row[4], row[2]):
                            cur.execute(_UPSERT_LAST_VALUE, (profile, *row))
                    case SetLastConfig(last):
                        if last.config is None:
                            where = (last.environment_id, last.flag_key, last.at)
                            cur.execute(_DELETE_LAST_CONFIG, (profile, *clean(where)))
                        else:
                            cur.execute(
                                _UPSERT_LAST_CONFIG, (profile, *clean(last_config_row(last)))
                            )
                    case SetEnvironmentNames(names):
                        cur.executemany(_UPSERT_ENVIRONMENT, [(profile, *clean(n)) for n in names])
                    case SetWatchedUntil(at, by):
                        cur.execute(_UPSERT_WATCHED_UNTIL, (profile, at))
                        if by is not None:
                            watcher = (profile, by.recorder, by.began, by.at, by.moves_within)
                            cur.execute(_UPSERT_WATCHED_BY, watcher)
                            cur.execute(_DROP_OLD_WATCHERS, (profile, by.at - WATCHER_KEPT))
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
        self.older.look(conn)

    def rollback(self) -> None:
        if self.conn is not None:
            self.conn.rollback()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


_Clean = Callable[[tuple[Any, ...]], tuple[Any, ...]]


def _as_is(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return row


def _storable(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """`row` with every NUL of its text as U+FFFD: PostgreSQL text cannot hold NUL."""
    return tuple(v.replace("\x00", "\ufffd") if isinstance(v, str) else v for v in row)


def _has_nul(events: list[FlagEvent], ops: list[WriteOp]) -> bool:
    """Whether some text of the batch holds a NUL (JSON columns escape theirs: `\u0000`)."""
    texts: list[str | None] = []
    for e in events:
        texts += (e.event_id, e.type, e.flag_key, e.environment_id)
    for op in ops:
        match op:
            case AppendTransition(t):
                texts += (t.flag_key, t.event_id, t.context, t.environment_key)
            case AppendConfigDiff(stored):
                d = stored.diff
                texts += (d.flag_key, d.environment_id, d.event_id, d.flag_id)
            case SetLastValue(value):
                texts += (value.flag_key, value.context, value.environment_key)
            case SetLastConfig(last):
                texts += (last.environment_id, last.flag_key)
            case AppendAnswer(a):
                texts += (a.flag_key, a.environment_id, a.context)
            case SetEnvironmentNames(names):
                texts += [text for pair in names for text in pair]
            case _:
                pass
    return any(text is not None and "\x00" in text for text in texts)


def _floats(values: tuple[Any, ...]) -> list[float]:
    return [float(v) for v in values]


def turn_key(profile: str) -> int:
    """The advisory lock key of `profile`'s writers: the same in every recorder (a stable hash,
    not Python's per-process `hash`), a signed 64-bit integer as `pg_advisory_xact_lock` takes."""
    digest = hashlib.blake2b(f"togul-journal-writer:{profile}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def take_turn(conn: Connection[tuple[Any, ...]], profile: str) -> None:
    """Wait for the other writers of `profile` to commit; held to the end of the caller's
    transaction."""
    conn.execute(_TAKE_TURN, (turn_key(profile),))
