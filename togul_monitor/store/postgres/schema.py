"""The PostgreSQL journal's tables, and the migrations that make them.

One database holds the journals of any number of profiles: every table has a `profile` column
and every read says which. `schema_version` (one row) says which of `MIGRATIONS` have run; a
recorder runs the missing ones when it opens the journal for writing, in one transaction that
holds an advisory lock, so recorders opening at once (a fleet restarting) migrate once and
never see half a schema. A reader never migrates: it reads what is there (`store/postgres/
reader.py`) and a database of no journal yet reads as empty ones.

Each event is journalled once, however many recorders of the profile saw it: a unique index on
the event's identity in its stream, and every insert is `ON CONFLICT DO NOTHING`:
- with an SSE id: (profile, id, flag, environment, type, version, timestamp): ids are per
  environment's stream, and a restarted server numbers its events from 1 again, so the id alone
  does not tell its events from the earlier life's (the stream client keeps them as news by
  their time or version: client/items_run.py `is_news`); a replay carries all of it again;
- without: (profile, environment, flag, type, version, timestamp), what the server sends.
Transitions are keyed by (profile, event id, flag, context, event_seq), `event_seq` the seq of
the event row the change belongs to, of the profile's environment (found when it is written:
store/postgres/sink.py; 0 for an event journalled before step 4, whose changes keep that key):
another recorder's copy of one is not written again, but a different change of that event and
context (a replay, the value moved meanwhile) replaces it, the newest kept as SQLite keeps it;
a restarted server's event of the same id has a row of its own, and so its changes do.
Configuration diffs are keyed by (profile, environment, flag, event id, event_seq), `event_seq`
found as a transition's is (0 for a diff of an event journalled before step 6), or, when there
is no id, by the flag's id and the version (a change found on a re-fetch: the version of the
configuration read, store/model.py): a flag deleted and created again is another flag whose
versions start again. A transition without an event id has no identity two recorders share
(each computes its own time): the check against the journal's last value keeps its copies out
(store/postgres/account.py).

Why indexes on events here and not in SQLite (store/sqlite/schema.py): PostgreSQL inserts in
batches on a server of its own, so an index costs the recorder's loop nothing, and a shared
history is read by many; the flag index keeps a rare flag's history fast at 10 M events
(benchmarks/journal_10m.py).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

# psycopg only when PostgreSQL is used: a SQLite-only run never imports it (it costs ~90 ms).
if TYPE_CHECKING:
    from psycopg import Connection

from togul_monitor.store.model import JournalError

log = logging.getLogger(__name__)

#: Columns added after their table's step, with a default: `migrate` adds each when missing,
#: without a new version, so an older program still reads and writes the journal (its inserts
#: leave the default; it never reads the column), and a reader of a database no recorder has
#: opened since reads the default (`store/postgres/reader.py`). Table → (column, definition).
#: `merged_answers.first_version` (NULL: a row of a program that did not keep it, which claims
#: nothing: store/model.py `ANSWERS_CHECKABLE`) is one too, though its table is step 5's: that
#: step had run on databases before the column came, and an edited step never runs again.
ADDED_COLUMNS = (
    ("transitions", "includes_unseen", "integer NOT NULL DEFAULT 0"),
    # The schema version of the program that journalled the event (NULL: one older than step
    # 4). A value change of such an event keeps the key it had before step 4 (`event_seq` 0);
    # and such rows journalled now are an older recorder's still running (sink.py).
    ("events", "written_by_schema", "integer"),
    ("merged_answers", "first_version", "bigint"),
    # The environment evaluate asked for (its key), of a value change and of a last value:
    # NULL in a row written before it was kept, or by an older program, read as not known
    # (docs/journal.md, "The environment of a value").
    ("transitions", "environment_key", "text"),
    ("context_last_values", "environment_key", "text"),
    # The seconds within which a recorder moves its own mark again while it watches (its pace
    # and its stream's heartbeat): NULL in a run of a program that did not say it, judged by
    # the reader's own (core/watched.py `promised_within`). Its table is one of ADDED_TABLES,
    # made first.
    ("watched_by", "moves_within", "double precision"),
    # The row's `at` when its value was not in doubt (store/model.py `LastValue.in_doubt`):
    # NULL, or another time than `at` (an older program's upsert leaves the column as it
    # was), reads as in doubt.
    ("context_last_values", "certain_at", "double precision"),
)

#: Tables added as `ADDED_COLUMNS` are, without a new version: an older program ignores them.
#: `watched_by`: each recorder's own "watched until" mark, with when its watch began (the
#: profile's `watched_until` keeps only the newest, which cannot say who watched through a
#: time another recorder did not: core/covered.py). `last_configs`: each flag's configuration
#: as last read (store/model.py `LastConfig`), a row per flag, which the next run's first read
#: of it is compared with (core/configs.py). Name → its CREATE statement.
ADDED_TABLES = (
    (
        "watched_by",
        """CREATE TABLE IF NOT EXISTS watched_by (
            profile text NOT NULL,
            recorder text NOT NULL,
            began double precision NOT NULL,
            at double precision NOT NULL,
            PRIMARY KEY (profile, recorder)
        )""",
    ),
    (
        "last_configs",
        """CREATE TABLE IF NOT EXISTS last_configs (
            profile text NOT NULL,
            environment_id text NOT NULL,
            flag_key text NOT NULL,
            config text NOT NULL,
            at double precision NOT NULL,
            PRIMARY KEY (profile, environment_id, flag_key)
        )""",
    ),
)

#: Every step, by the version it brings the schema to. Never edit a released step: add one.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE events (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            profile text NOT NULL,
            event_id text,
            type text NOT NULL,
            flag_key text NOT NULL,
            environment_id text NOT NULL,
            version bigint NOT NULL,
            timestamp double precision NOT NULL,
            received_at double precision NOT NULL
        )""",
        # The identity of an event in its stream: see the docstring.
        """CREATE UNIQUE INDEX events_identity_by_id ON events (profile, environment_id, event_id)
            WHERE event_id IS NOT NULL""",
        """CREATE UNIQUE INDEX events_identity_by_content
            ON events (profile, environment_id, flag_key, type, version, timestamp)
            WHERE event_id IS NULL""",
        # The backfill (newest events) and a flag's history, newest first.
        "CREATE INDEX events_by_profile ON events (profile, seq)",
        "CREATE INDEX events_by_flag ON events (profile, flag_key, seq)",
        """CREATE TABLE transitions (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            profile text NOT NULL,
            flag_key text NOT NULL,
            event_id text,
            at double precision NOT NULL,
            before text,
            after text,
            context text NOT NULL DEFAULT 'default'
        )""",
        """CREATE UNIQUE INDEX transitions_identity
            ON transitions (profile, event_id, flag_key, context) WHERE event_id IS NOT NULL""",
        "CREATE INDEX transitions_by_profile ON transitions (profile, seq)",
        "CREATE INDEX transitions_by_flag ON transitions (profile, flag_key, seq)",
        """CREATE TABLE outages (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            profile text NOT NULL,
            started_at double precision NOT NULL,
            ended_at double precision NOT NULL,
            replayed integer,
            may_have_missed integer NOT NULL,
            received_at double precision NOT NULL
        )""",
        "CREATE INDEX outages_by_profile ON outages (profile, seq)",
        """CREATE TABLE environments (
            profile text NOT NULL,
            environment_id text NOT NULL,
            environment_key text NOT NULL,
            PRIMARY KEY (profile, environment_id)
        )""",
        """CREATE TABLE config_diffs (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            profile text NOT NULL,
            flag_key text NOT NULL,
            environment_id text NOT NULL,
            event_id text,
            version bigint,
            at double precision NOT NULL,
            diff text NOT NULL
        )""",
        """CREATE UNIQUE INDEX config_diffs_identity_by_id
            ON config_diffs (profile, environment_id, flag_key, event_id)
            WHERE event_id IS NOT NULL""",
        """CREATE UNIQUE INDEX config_diffs_identity_by_version
            ON config_diffs (profile, environment_id, flag_key, version)
            WHERE event_id IS NULL AND version IS NOT NULL""",
        "CREATE INDEX config_diffs_by_profile ON config_diffs (profile, seq)",
        "CREATE INDEX config_diffs_by_flag ON config_diffs (profile, flag_key, seq)",
        """CREATE TABLE context_last_values (
            profile text NOT NULL,
            context text NOT NULL,
            flag_key text NOT NULL,
            evaluation text,
            at double precision NOT NULL,
            deleted integer NOT NULL,
            PRIMARY KEY (profile, context, flag_key)
        )""",
    ),
    # Until when a recorder of the profile watched its live stream: one row per profile, the
    # newest mark of its recorders (docs/journal.md, "Watched until").
    2: (
        """CREATE TABLE IF NOT EXISTS watched_until (
            profile text PRIMARY KEY,
            at double precision NOT NULL
        )""",
    ),
    # A flag deleted and created again with its key starts its versions at 1 again: keyed by
    # version alone, its diffs were taken for the first flag's and dropped. The flag's id (the
    # server's, new for each flag) tells the two apart; a diff journalled before this step has
    # none and keeps its old identity.
    3: (
        "ALTER TABLE config_diffs ADD COLUMN IF NOT EXISTS flag_id text",
        "DROP INDEX IF EXISTS config_diffs_identity_by_version",
        """CREATE UNIQUE INDEX IF NOT EXISTS config_diffs_identity_by_flag_version
            ON config_diffs (profile, environment_id, flag_key, coalesce(flag_id, ''), version)
            WHERE event_id IS NULL AND version IS NOT NULL""",
    ),
    # A restarted server numbers its events from 1 again (and a world without its state starts
    # its versions again): keyed by its id alone, its events were taken for the earlier life's
    # and dropped, and their value changes replaced that life's. An event's identity is now all
    # the server sends, its id too (the earlier rows are unique under it: it only widens), and
    # a transition's holds the event it was journalled with (`event_seq`: the seq of its flag's
    # newest event of the id received by then, as domain/change_owners.py ties it, written by a
    # program of this step or later: store/postgres/sink.py). The index leads with the id and
    # the flag: what that look-up asks.
    # Nothing is filled in: a row journalled before keeps 0, the key it had (the old index
    # held one change per id, flag and context, so none breaks the new one), and a change of an
    # event journalled before the step (`events.written_by_schema` NULL: `ADDED_COLUMNS`) is
    # keyed 0 too, so another recorder's copy of it, or a replay's, still finds it. So the step
    # costs two index builds, not a pass over every transition: it holds `transitions` (ALTER
    # TABLE) to its end, and every reader and recorder of the database waits meanwhile.
    # `events` is only read meanwhile (CREATE INDEX): its old index goes last.
    # A recorder of an older program still running on the database names the dropped
    # `transitions_identity` in its inserts, and PostgreSQL cannot keep an index it would
    # infer without refusing the second life's rows (an arbiter's key is exactly its columns):
    # its batches that hold a value change are refused. The migrating recorder warns
    # (`migrate`), a recorder says so when it sees such a program's rows (older.py
    # `OlderRecorders`), and docs/journal.md "Upgrading" asks to stop them first.
    4: (
        """CREATE UNIQUE INDEX IF NOT EXISTS events_identity_by_id_and_content
            ON events (profile, event_id, flag_key, environment_id, type, version, timestamp)
            WHERE event_id IS NOT NULL""",
        "ALTER TABLE transitions ADD COLUMN IF NOT EXISTS event_seq bigint NOT NULL DEFAULT 0",
        """CREATE UNIQUE INDEX IF NOT EXISTS transitions_identity_by_event
            ON transitions (profile, event_id, flag_key, context, event_seq)
            WHERE event_id IS NOT NULL""",
        "DROP INDEX IF EXISTS transitions_identity",
        "DROP INDEX IF EXISTS events_identity_by_id",
    ),
    # An evaluation answer that may have answered several events of its flag (domain/merged.py):
    # at most one per flag and context an answer, never one per event. Each recorder's own rows
    # (its answers, stamped by its clock), as outages are: no identity key.
    5: (
        """CREATE TABLE IF NOT EXISTS merged_answers (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            profile text NOT NULL,
            flag_key text NOT NULL,
            environment_id text NOT NULL,
            context text NOT NULL,
            since double precision NOT NULL,
            version bigint NOT NULL,
            received_at double precision NOT NULL,
            at double precision NOT NULL
        )""",
        """CREATE INDEX IF NOT EXISTS merged_answers_by_flag
            ON merged_answers (profile, flag_key, seq)""",
    ),
    # A restarted server's diff of an id the earlier life used was taken for that life's diff
    # and dropped (keyed by the id alone; a seeded world's flags keep their ids and start their
    # versions again, so neither tells the lives apart: only the event's row does). A diff with
    # an id is keyed by its event's row too (`event_seq`, as a transition's since step 4: the
    # seq of its flag's newest event of the id in its environment received by then, looked up
    # when it is written, store/postgres/sink.py), so another recorder's copy of it is still
    # written once. As step 4, nothing is filled in: a diff journalled before keeps 0, the key
    # it had (the old index held one per id, flag and environment, so none breaks the new
    # one), and so does a diff of an event journalled by a program before this step
    # (`DIFFS_BY_EVENT`), so a copy of it journalled after still finds it. `ADD COLUMN` with a
    # constant default rewrites no row: the step's time is one index build, holding
    # `config_diffs` (a small table: one row per change of a flag's configuration).
    6: (
        "ALTER TABLE config_diffs ADD COLUMN IF NOT EXISTS event_seq bigint NOT NULL DEFAULT 0",
        """CREATE UNIQUE INDEX IF NOT EXISTS config_diffs_identity_by_event
            ON config_diffs (profile, environment_id, flag_key, event_id, event_seq)
            WHERE event_id IS NOT NULL""",
        "DROP INDEX IF EXISTS config_diffs_identity_by_id",
    ),
}
SCHEMA_VERSION = max(MIGRATIONS)

#: The first version an older program's recorder cannot write to: step 4 drops the index its
#: inserts of value changes name (see the step).
BREAKS_OLDER_RECORDERS = 4
#: The first version whose programs key a diff by its event's row (step 6): a diff of an event
#: an older program journalled (`events.written_by_schema` below it, or NULL) is keyed 0, as
#: the diffs journalled before the step are.
DIFFS_BY_EVENT = 6
#: What this program's connections call themselves (`pg_stat_activity`); a program older than
#: `BREAKS_OLDER_RECORDERS` calls its own `OLDER_PROGRAM`.
APPLICATION_NAME = f"togul-monitor (journal schema {SCHEMA_VERSION})"
OLDER_PROGRAM = "togul-monitor"

# Any constant fixed for this program: every recorder of any profile migrating this database
# takes the same lock. ("togul" in ASCII, a 64-bit key as pg_advisory_xact_lock takes.)
MIGRATION_LOCK = 0x746F67756C


def migrate(conn: Connection[tuple[Any, ...]]) -> int:
    """Bring the database's journal schema to SCHEMA_VERSION (a recorder, at open); the version
    found. JournalError for a newer program's schema. Commits."""
    with conn.transaction():
        # Held to the end of the transaction: a second recorder waits here, then finds the
        # schema made and runs nothing.
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
        row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
        found = int(row[0]) if row is not None and row[0] is not None else 0
        if found > SCHEMA_VERSION:
            raise JournalError(f"schema version {found} is newer than this program's")
        if 0 < found < SCHEMA_VERSION:
            # A step may take a table's lock every reader waits behind: not forever when a long
            # read holds it (the open fails and says so), as for `_add_columns`.
            conn.execute("SET LOCAL lock_timeout = '10s'")
        for version in range(found + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[version]:
                conn.execute(statement)  # literal SQL from above, never data
        if found < SCHEMA_VERSION:
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version VALUES (%s)", (SCHEMA_VERSION,))
        _add_columns(conn)
        older = _older_programs(conn) if 0 < found < BREAKS_OLDER_RECORDERS else None
    if older is not None:
        # Loud: a running older recorder goes on, failing batch after batch (its own status
        # says only a write error), and nothing here can stop it.
        log.warning(
            "journal schema moved from version %d to %d: a recorder of an older togul-monitor"
            " still running on this database (any profile) can no longer journal value"
            " changes, and loses every batch that holds one, its events too; stop every older"
            " recorder and run this version instead (docs/journal.md, Upgrading). Connections"
            " of an older togul-monitor open now (readers too): %d",
            found,
            SCHEMA_VERSION,
            older,
        )
    return found


def _older_programs(conn: Connection[tuple[Any, ...]]) -> int:
    """How many connections to this database an older program holds (by their name)."""
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND application_name = %s",
        (OLDER_PROGRAM,),
    ).fetchone()
    return int(row[0]) if row is not None else 0


def _add_columns(conn: Connection[tuple[Any, ...]]) -> None:
    """Each of `ADDED_COLUMNS` that is missing. Looked up first: `ALTER TABLE` needs the
    table's owner (a recorder may run as another role) and takes a lock every reader of the
    table waits behind, even when the column is there; and not forever when a long read holds
    the table (the open fails and says so)."""
    for table, create in ADDED_TABLES:  # first: a column may be added to one of them
        if not has_table(conn, table):
            conn.execute(create)  # literal SQL from above, never data
    for table, column, definition in ADDED_COLUMNS:
        if not has_column(conn, table, column):
            conn.execute("SET LOCAL lock_timeout = '10s'")
            conn.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {definition}")


def has_table(conn: Connection[tuple[Any, ...]], table: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
    return row is not None and bool(row[0])


def has_column(conn: Connection[tuple[Any, ...]], table: str, column: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = %s AND column_name = %s",
        (table, column),
    ).fetchone()
    return row is not None


def schema_version(conn: Connection[tuple[Any, ...]]) -> int:
    """The version a database holds (0: none yet), without migrating."""
    row = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if row is None or not row[0]:
        return 0
    found = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(found[0]) if found is not None and found[0] is not None else 0
