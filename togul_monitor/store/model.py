"""What both journal backends store, and how: the errors, the rows ↔ objects, the retention
policy.

SQLite (`store/sqlite/`) and PostgreSQL (`store/postgres/`) keep the same columns in the same
order, converted by the same helpers below, so a row means the same in either, and an event
read back from either equals the one that was appended. Each backend's SQL names the columns
from the constants here: a reader and a writer cannot drift apart.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Container
from typing import Any

import msgspec

from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.flag_config import ConfigDiff, FlagConfig, diff_from_json, diff_to_json
from togul_monitor.domain.merged import MergedAnswer
from togul_monitor.domain.values import (
    DEFAULT_CONTEXT,
    Evaluation,
    ValueTransition,
    evaluation_from_json,
    evaluation_to_json,
)

# The columns each row helper below reads and writes, in their order.
EVENT_COLUMNS = "event_id, type, flag_key, environment_id, version, timestamp, received_at"
TRANSITION_COLUMNS = (
    "flag_key, event_id, at, before, after, context, includes_unseen, environment_key"
)
# Columns added to `transitions` after its first release, and what a journal no recorder has
# opened since reads in their place (in either backend): `includes_unseen` its default,
# `environment_key` NULL, the environment not known (as in a row written before it was kept).
TRANSITION_ADDED = (("includes_unseen", "0"), ("environment_key", "NULL"))


def transition_columns_of(present: Container[str]) -> str:
    """TRANSITION_COLUMNS to SELECT from a table whose columns are `present`."""
    columns = TRANSITION_COLUMNS
    for column, read_as in TRANSITION_ADDED:
        if column not in present:
            columns = columns.replace(column, read_as)
    return columns


OUTAGE_COLUMNS = "started_at, ended_at, replayed, may_have_missed, received_at"
LAST_VALUE_COLUMNS = "flag_key, evaluation, at, deleted, context, environment_key, certain_at"
# Columns added to `context_last_values` after its first release: a journal no recorder has
# opened since reads NULL in their place (the environment not known; the value in doubt).
LAST_VALUE_ADDED = ("environment_key", "certain_at")


def last_value_columns_of(present: Container[str]) -> str:
    """LAST_VALUE_COLUMNS to SELECT from a table whose columns are `present`."""
    columns = LAST_VALUE_COLUMNS
    for column in LAST_VALUE_ADDED:
        if column not in present:
            columns = columns.replace(column, "NULL")
    return columns


CONFIG_DIFF_COLUMNS = "flag_key, environment_id, event_id, version, at, diff"
LAST_CONFIG_COLUMNS = "environment_id, flag_key, config, at"
ANSWER_COLUMNS = "flag_key, environment_id, context, since, first_version, version, received_at, at"
# Answer rows a reader takes: a row written without `first_version` (by a program that did not
# keep it: NULL) does not say which versions it covered, so it claims nothing (domain/merged.py).
ANSWERS_CHECKABLE = "first_version IS NOT NULL"

Row = tuple[Any, ...]  # what a driver returns: the column types are the database's to decide


class JournalError(Exception):
    """The journal cannot be used at all (even a fresh one could not be created)."""


class RecorderBusy(JournalError):
    """Another process records this journal: this one must not write it too."""


class JournalDamaged(JournalError):
    """SQLite's integrity check found damaged pages: the file must not be written on."""


class LastValue(msgspec.Struct, frozen=True):
    flag_key: str
    evaluation: Evaluation | None
    at: float
    deleted: bool
    context: str = DEFAULT_CONTEXT  # the named context the value was evaluated for
    # The environment evaluate asked for (its key): a value of another environment than the
    # profile's now is no baseline of its values. None: not known (written before it was kept).
    environment_key: str | None = None
    # The value may hide changes the stream did not show: when it was written, a time the
    # stream may have missed changes had come after it, and no answer had read it again since
    # (domain/unseen.py `in_doubt`). A next run's proof of the time between the runs proves
    # nothing of that time, so its first change stays marked. Kept as `certain_at`, the row's
    # `at` when it was not in doubt: NULL (a row of a program that did not keep it), or another
    # time than `at` (an older program rewrote the row and left the column), reads as in doubt.
    in_doubt: bool = False


class Watcher(msgspec.Struct, frozen=True):
    """One recorder's watch of a shared journal's stream: it watched from `began` to `at`
    without a break (docs/journal.md, "Watched until"). `recorder` names the run, new for
    each: a restarted recorder is another watcher than the one it was."""

    recorder: str
    began: float
    at: float
    # Seconds within which its run moves the mark again while it watches (its pace and its
    # stream's heartbeat: core/watched.py). None: a run of a program that did not say it.
    moves_within: float | None = None


class WatchedUntil(msgspec.Struct, frozen=True):
    """A journal's "watched until" mark (the newest of its recorders'), and the seconds within
    which the recorder that wrote it promised to move it again while it watches (its pace and
    its stream's heartbeat); None: not said (an older program's mark), judged by the reader's
    own (core/watched.py `promised_within`)."""

    at: float
    moves_within: float | None = None


class StoredDiff(msgspec.Struct, frozen=True):
    """A configuration diff as the journal keeps it: with the time it was computed."""

    diff: ConfigDiff
    at: float


class LastConfig(msgspec.Struct, frozen=True):
    """A flag's configuration as the recorder last read it (`config` None: the flag is gone, its
    row deleted): what the next run's first read of it is compared with (core/configs.py)."""

    environment_id: str
    flag_key: str
    config: FlagConfig | None
    at: float


class Retention(msgspec.Struct, frozen=True):
    """How long a journal keeps what it recorded: the newest `max_events` events (and as many
    transitions and diffs), none older than `max_age_days`. The last values are kept whatever
    their age (each backend's `retention` module says how it applies this)."""

    max_events: int
    max_age_days: float
    clock: Callable[[], float]

    def cutoff(self) -> float:
        """Rows received before this time are too old."""
        return self.clock() - self.max_age_days * 86400.0


# --- rows ↔ objects ---------------------------------------------------------------------------

# FlagEvent → row (EVENT_COLUMNS), in C: the writer converts every event, this is its hot path.
event_row = operator.attrgetter(
    "event_id", "type", "flag_key", "environment_id", "version", "timestamp", "received_at"
)


def event_from_row(row: Row) -> FlagEvent:
    event_id, type_, flag_key, environment_id, version, timestamp, received_at = row
    # Timestamps that were integers on the wire come back as floats from a REAL column;
    # keep integral values as int so an export of the journal equals the live event.
    if isinstance(timestamp, float) and timestamp.is_integer():
        timestamp = int(timestamp)
    return FlagEvent(
        type=type_,
        flag_key=flag_key,
        environment_id=environment_id,
        version=version,
        timestamp=timestamp,
        event_id=event_id,
        received_at=received_at,
    )


def evaluation_dumps(evaluation: Evaluation | None) -> str | None:
    data = evaluation_to_json(evaluation)
    return None if data is None else json.dumps(data, separators=(",", ":"), default=repr)


def evaluation_loads(text: str | None) -> Evaluation | None:
    """None for NULL, and for text that does not read back as an evaluation."""
    if text is None:
        return None
    try:
        return evaluation_from_json(json.loads(text))
    except ValueError:
        return None


def transition_row(t: ValueTransition) -> Row:
    before, after = evaluation_dumps(t.before), evaluation_dumps(t.after)
    unseen = int(t.includes_unseen)
    return (t.flag_key, t.event_id, t.at, before, after, t.context, unseen, t.environment_key)


def span_clause(
    since: float | None, until: float | None, placeholder: str
) -> tuple[str, tuple[float, ...]]:
    """The SQL that keeps transitions computed at or after `since` and before `until` (each
    when given), and its parameters: `placeholder` is the backend's (`?`, `%s`)."""
    clause, bounds = "", []
    if since is not None:
        clause += f" AND at >= {placeholder}"
        bounds.append(since)
    if until is not None:
        clause += f" AND at < {placeholder}"
        bounds.append(until)
    return clause, tuple(bounds)


def transition_from_row(row: Row) -> ValueTransition:
    flag_key, event_id, at, before, after, context, unseen, environment_key = row
    return ValueTransition(
        flag_key,
        evaluation_loads(before),
        evaluation_loads(after),
        event_id,
        at,
        context,
        bool(unseen),
        environment_key,
    )


def outage_row(o: Outage) -> Row:
    return (o.started_at, o.ended_at, o.replayed, int(o.may_have_missed), o.received_at)


def outage_revision_row(o: Outage) -> Row:
    """What `UPDATE outages SET replayed, may_have_missed WHERE started_at, ended_at,
    received_at` binds: an outage's row is found by its window and when it was received."""
    return (o.replayed, int(o.may_have_missed), o.started_at, o.ended_at, o.received_at)


def outage_from_row(row: Row) -> Outage:
    started_at, ended_at, replayed, may_have_missed, received_at = row
    return Outage(started_at, ended_at, replayed, bool(may_have_missed), received_at)


def last_value_row(v: LastValue) -> Row:
    evaluation = evaluation_dumps(v.evaluation)
    certain_at = None if v.in_doubt else v.at
    return (v.flag_key, evaluation, v.at, int(v.deleted), v.context, v.environment_key, certain_at)


def last_value_from_row(row: Row) -> LastValue:
    flag_key, evaluation, at, deleted, context, environment_key, certain_at = row
    value = evaluation_loads(evaluation)
    doubt = certain_at != at  # NULL too: see `LastValue.in_doubt`
    return LastValue(flag_key, value, at, bool(deleted), context, environment_key, doubt)


def config_diff_row(stored: StoredDiff) -> Row:
    d = stored.diff
    text = json.dumps(diff_to_json(d), separators=(",", ":"), default=repr)
    # The `version` column is the diff's identity where it has no event id (docs/journal.md),
    # with the flag's id (PostgreSQL's `flag_id`): its event's version, or a re-fetch's
    # configuration version, which two recorders that found one change share. The diff itself
    # (`text`) keeps which it was.
    version = d.version if d.version is not None else d.fetched_version
    return (d.flag_key, d.environment_id, d.event_id, version, stored.at, text)


def config_diff_from_row(row: Row) -> StoredDiff | None:
    """None for a row whose text does not read back as a diff."""
    text, at = row[5], row[4]
    try:
        return StoredDiff(diff_from_json(json.loads(text)), at)
    except (TypeError, ValueError):
        return None


def last_config_row(c: LastConfig) -> Row:
    text = msgspec.json.encode(c.config).decode()  # a NUL is escaped: PostgreSQL takes it
    return (c.environment_id, c.flag_key, text, c.at)


def last_config_from_row(row: Row) -> FlagConfig | None:
    """None for a row whose text does not read back as a configuration (nothing is claimed)."""
    try:
        return msgspec.json.decode(row[2], type=FlagConfig)
    except (msgspec.DecodeError, TypeError):
        return None


def answer_row(a: MergedAnswer) -> Row:
    return (
        a.flag_key,
        a.environment_id,
        a.context,
        a.since,
        a.first_version,
        a.version,
        a.received_at,
        a.at,
    )


def answer_from_row(row: Row) -> MergedAnswer:
    flag_key, environment_id, context, since, first_version, version, received_at, at = row
    return MergedAnswer(
        flag_key, environment_id, context, since, first_version, version, received_at, at
    )
