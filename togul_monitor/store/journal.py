"""The journal: one SQLite database per profile, so history survives restarts.

`journal/<profile>.sqlite3` in the data directory, WAL mode. Writes (events, outages, value
transitions, last known values) go through a bounded queue to a writer thread that commits
them in batches: the event loop only appends to a deque, it never waits on the disk. Reads open
their own short-lived connection (WAL lets readers run beside the writer), so any thread can
read: the TUI, the CLI, a test.

Retention: at open and then every `RETENTION_EVERY` appended events, rows older than
`max_age_days` and events beyond the newest `max_events` are deleted.

Why no index on the events' flag key: every index entry is written on the hot path (once per
event), and measured it was the largest single cost of recording. A flag's history is read
newest first with a LIMIT, so SQLite walks back from the end and stops early for an active
flag; for a rare flag it scans the table (about 50 ms for 1,000,000 events). Transitions, which
are few, keep their index.

A file that is not a database, or a corrupt one, is never deleted: it is renamed aside
(`<name>.unreadable-<UTC time>`, with its -wal/-shm files) and a new journal starts;
`Journal.notice` then says so in plain words. Any other failure to open (locked, an I/O error,
no permission, a newer program's schema) leaves the file alone and raises `JournalError`: the
file may be healthy, for instance held by a concurrent `tail --profile` recorder.
"""

from __future__ import annotations

import contextlib
import json
import logging
import operator
import os
import re
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.history import HistoryEntry, merge_history
from togul_monitor.domain.values import (
    Evaluation,
    ValueTransition,
    evaluation_from_json,
    evaluation_to_json,
)
from togul_monitor.support.files import FileLock, LockBusy

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
DEFAULT_MAX_EVENTS = 1_000_000
DEFAULT_MAX_AGE_DAYS = 90.0
DEFAULT_MAX_QUEUE = 200_000
RETENTION_EVERY = 50_000
CLOSE_TIMEOUT = 10.0  # how long close() waits for the writer to commit what is queued

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    event_id TEXT,
    type TEXT NOT NULL,
    flag_key TEXT NOT NULL,
    environment_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    timestamp REAL NOT NULL,
    received_at REAL NOT NULL
);
-- No index on flag_key: see "Why no index" in the module docstring.
CREATE TABLE IF NOT EXISTS transitions (
    seq INTEGER PRIMARY KEY,
    flag_key TEXT NOT NULL,
    event_id TEXT,
    at REAL NOT NULL,
    before TEXT,
    after TEXT
);
CREATE INDEX IF NOT EXISTS transitions_by_flag ON transitions (flag_key, seq);
CREATE INDEX IF NOT EXISTS transitions_by_event ON transitions (event_id);
CREATE TABLE IF NOT EXISTS outages (
    seq INTEGER PRIMARY KEY,
    started_at REAL NOT NULL,
    ended_at REAL NOT NULL,
    replayed INTEGER,
    may_have_missed INTEGER NOT NULL,
    received_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS environments (
    environment_id TEXT PRIMARY KEY,
    environment_key TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS last_values (
    flag_key TEXT PRIMARY KEY,
    evaluation TEXT,
    at REAL NOT NULL,
    deleted INTEGER NOT NULL
);
"""


class JournalError(Exception):
    """The journal cannot be used at all (even a fresh one could not be created)."""


@dataclass(frozen=True, slots=True)
class LastValue:
    flag_key: str
    evaluation: Evaluation | None
    at: float
    deleted: bool


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def journal_path(profile_name: str, directory: Path | None = None) -> Path:
    """`<data dir>/journal/<profile>.sqlite3`; odd characters in the name become `_`."""
    if directory is None:
        from togul_monitor.config import paths

        directory = paths.journal_dir()
    name = _SAFE_NAME.sub("_", profile_name) or "_"
    if name.startswith("."):
        name = "_" + name[1:]
    return directory / f"{name}.sqlite3"


# SQLite's result codes for "this file is not (or no longer) a database": only such a file
# is moved aside; every other failure leaves it where it is.
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26


def _unreadable(exc: BaseException) -> bool:
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    text = str(exc)
    return "not a database" in text or "malformed" in text


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=10.0, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 10000")
    return conn


_ROWS_PER_INSERT = 4000  # 28,000 parameters: under SQLite's 32,766 (since 3.32)
_SINGLE_INSERT = (
    "INSERT INTO events (event_id, type, flag_key, environment_id, version, timestamp,"
    " received_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_MULTI_INSERT = (
    "INSERT INTO events (event_id, type, flag_key, environment_id, version, timestamp,"
    " received_at) VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * _ROWS_PER_INSERT)
)

# FlagEvent → row, in C (the writer converts every event: this is its hot path).
_event_row = operator.attrgetter(
    "event_id", "type", "flag_key", "environment_id", "version", "timestamp", "received_at"
)


def _event_from_row(row: tuple) -> FlagEvent:
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


def _dumps(evaluation: Evaluation | None) -> str | None:
    data = evaluation_to_json(evaluation)
    return None if data is None else json.dumps(data, separators=(",", ":"), default=repr)


def _loads(text: str | None) -> Evaluation | None:
    if text is None:
        return None
    try:
        return evaluation_from_json(json.loads(text))
    except ValueError:
        return None


def _transition_from_row(row: tuple) -> ValueTransition:
    flag_key, event_id, at, before, after = row
    return ValueTransition(flag_key, _loads(before), _loads(after), event_id, at)


def _outage_from_row(row: tuple) -> Outage:
    started_at, ended_at, replayed, may_have_missed, received_at = row
    return Outage(started_at, ended_at, replayed, bool(may_have_missed), received_at)


class Journal:
    """Open with `Journal.open(path)`; append from the event loop; `close()` flushes."""

    def __init__(
        self,
        path: Path,
        *,
        max_events: int = DEFAULT_MAX_EVENTS,
        max_age_days: float = DEFAULT_MAX_AGE_DAYS,
        max_queue: int = DEFAULT_MAX_QUEUE,
        clock: Callable[[], float] = time.time,
        batch_pause: float = 0.05,
    ) -> None:
        self.path = path
        self.max_events = max_events
        self.max_age_days = max_age_days
        self.max_queue = max_queue
        self.batch_pause = batch_pause
        self.notice: str | None = None  # set when an unreadable file was moved aside
        self.moved_to: Path | None = None
        self.dropped = 0  # appends refused because the writer fell max_queue behind
        self.write_error: str | None = None
        self._clock = clock
        # Two queues, both appended without a lock (deque.append is atomic): events, which
        # are the hot path, and everything else (transitions, outages, values, flush marks).
        # Order between the two does not matter: they go to different tables.
        self._events: deque[FlagEvent] = deque()
        self._other: deque[tuple[str, object]] = deque()
        self._wake = threading.Event()
        self._writer_sleeping = False
        self._since_retention = 0
        self._closing = False
        self._writer_done = False  # the writer thread has ended (closed, or died)
        # Notified after every batch and when the writer ends: for `wait_pending_below`.
        self._progress = threading.Condition()
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        self._recorder_lock: FileLock | None = None

    # --- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, **kwargs: object) -> Journal:
        journal = cls(path, **kwargs)  # type: ignore[arg-type]
        journal._open()
        return journal

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise JournalError(
                f"cannot create the journal folder {self.path.parent}: {exc}"
            ) from exc
        try:
            self._recorder_lock = FileLock.acquire(self.path, wait=False)
        except LockBusy:
            raise JournalError(
                f"another togul-monitor (the TUI or `tail --profile`) is recording {self.path}; "
                "this one shows the stream without recording it, so nothing is journalled twice"
            ) from None
        except OSError as exc:
            raise JournalError(f"cannot lock journal {self.path}: {exc}") from exc
        try:
            self._open_locked()
        except BaseException:
            self._release_lock()
            raise

    def _release_lock(self) -> None:
        if self._recorder_lock is not None:
            self._recorder_lock.release()
            self._recorder_lock = None

    def _open_locked(self) -> None:
        try:
            self._conn = self._init_db()
        except (sqlite3.Error, OSError, JournalError) as exc:
            if not self.path.exists():
                raise JournalError(f"cannot create journal {self.path}: {exc}") from exc
            if not _unreadable(exc):
                # Locked, an I/O error, no permission, a newer program's schema: the file
                # may well be healthy (another recorder may hold it), so it is left alone.
                if isinstance(exc, JournalError):
                    raise JournalError(f"cannot use journal {self.path}: {exc}") from exc
                raise JournalError(f"cannot open journal {self.path}: {exc}") from exc
            moved = self._move_aside()
            self.moved_to = moved
            self.notice = (
                f"The journal {self.path} could not be opened ({exc}). It was moved aside to "
                f"{moved.name} (nothing was deleted) and a new journal was started."
            )
            log.warning("%s", self.notice)
            try:
                self._conn = self._init_db()
            except (sqlite3.Error, OSError, JournalError) as exc2:
                raise JournalError(f"cannot create journal {self.path}: {exc2}") from exc2
        try:
            self._retain(self._conn)
            self._conn.commit()
        except sqlite3.Error as exc:
            self._conn.close()
            self._conn = None
            raise JournalError(f"cannot open journal {self.path}: {exc}") from exc
        self._thread = threading.Thread(
            target=self._writer, name=f"journal-{self.path.stem}", daemon=True
        )
        self._thread.start()

    def _init_db(self) -> sqlite3.Connection:
        existed = self.path.exists()
        conn = _connect(self.path)
        try:
            if not existed:
                os.chmod(self.path, 0o600)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise JournalError(f"schema version {version} is newer than this program's")
            conn.execute("PRAGMA journal_mode = WAL")
            # NORMAL in WAL mode: a commit survives a crash of the process; only a power loss
            # may drop the last commits. The journal is a flight recorder, not a ledger.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.executescript(_SCHEMA)
            if version == 0:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.commit()
        except BaseException:
            conn.close()
            raise
        return conn

    def _move_aside(self) -> Path:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target = self.path.with_name(f"{self.path.name}.unreadable-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.name}.unreadable-{stamp}-{n}")
        os.replace(self.path, target)
        for suffix in ("-wal", "-shm"):
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                os.replace(side, target.with_name(target.name + suffix))
        return target

    # --- appending (any thread; never blocks on the disk) ----------------------------------

    def append_event(self, event: FlagEvent) -> None:
        # The hot path (once per event on the monitor's loop): no lock, no tuple.
        if self._closing:
            return
        events = self._events
        if len(events) >= self.max_queue:
            self.dropped += 1
            return
        events.append(event)
        if self._writer_sleeping:
            self._wake.set()

    def append_events(self, batch: list[FlagEvent]) -> None:
        """Many events at once (one deque.extend: atomic, and C-speed)."""
        if self._closing:
            return
        events = self._events
        room = self.max_queue - len(events)
        if room < len(batch):
            self.dropped += len(batch) - max(room, 0)
            if room <= 0:
                return
            batch = batch[:room]
        events.extend(batch)
        if self._writer_sleeping:
            self._wake.set()

    def append_outage(self, outage: Outage) -> None:
        self._put("o", outage)

    def append_transition(self, transition: ValueTransition) -> None:
        self._put("t", transition)

    def set_last_value(
        self, flag_key: str, evaluation: Evaluation | None, at: float, *, deleted: bool = False
    ) -> None:
        self._put("v", LastValue(flag_key, evaluation, at, deleted))

    def set_environment_names(self, names: dict[str, str]) -> None:
        """Remember environment id → key, so `env:production` works in `export --filter`."""
        self._put("n", dict(names))

    def _put(self, kind: str, item: object) -> None:
        if self._closing:
            return
        if len(self._other) >= self.max_queue:
            self.dropped += 1
            return
        self._other.append((kind, item))
        self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._events) + len(self._other)

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until everything appended so far is committed; False on timeout."""
        thread = self._thread
        if thread is None or not thread.is_alive() or self._writer_done:
            return not self.pending
        done = threading.Event()
        self._other.append(("flush", done))
        self._wake.set()
        if self._writer_done:  # it ended just now: nobody will answer the mark
            return not self.pending
        return done.wait(timeout)

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Commit what is queued, stop the writer thread, close the database."""
        self._closing = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                # Still committing (a slow disk): the writer closes the connection itself
                # when it ends; closing it under the writer's feet would lose the batch.
                log.warning("journal %s: writer still busy after %.0f s", self.path, timeout)
                self._thread = None
                return  # the writer releases the recorder lock when it ends
            self._thread = None
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
            self._conn = None
        self._release_lock()

    # --- the writer thread -----------------------------------------------------------------

    @property
    def writing(self) -> bool:
        """The writer thread runs: what is appended will be committed."""
        return self._thread is not None and not self._writer_done

    def wait_pending_below(self, limit: int, timeout: float) -> bool:
        """Block until at most `limit` items are pending, or the writer has ended (then
        nothing will drain: waiting longer would stall the caller for good). False on timeout."""
        with self._progress:
            return self._progress.wait_for(
                lambda: self.pending <= limit or self._writer_done, timeout
            )

    def _notify_progress(self) -> None:
        with self._progress:
            self._progress.notify_all()

    def _writer(self) -> None:
        try:
            self._write_loop()
        except BaseException as exc:  # noqa: BLE001 - reported: the journal stops recording
            self.write_error = f"journal writer stopped: {exc!r}"
            log.error("%s", self.write_error)
        finally:
            self._writer_done = True
            if self._closing and self._thread is None and self._conn is not None:
                # close() gave up waiting for this thread: the connection is ours to close.
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn = None
                self._release_lock()
            # Nobody will answer a flush mark now: release their waiters.
            for kind, item in list(self._other):
                if kind == "flush":
                    item.set()  # type: ignore[attr-defined]
            self._notify_progress()

    def _write_loop(self) -> None:
        conn = self._conn
        assert conn is not None
        events, other = self._events, self._other
        while True:
            if not events and not other:
                if self._closing:
                    return
                self._writer_sleeping = True
                if not events and not other:  # re-check: an append may have just missed the flag
                    self._wake.wait(0.5)  # the timeout is only a backstop
                self._writer_sleeping = False
                self._wake.clear()
                continue
            # Take what is there now; appends may continue meanwhile (popleft is atomic).
            # Other items first: a flush mark must not be answered before the events that
            # were appended before it, which are already in `events` by then.
            taken_other = [other.popleft() for _ in range(len(other))]
            taken_events = [events.popleft() for _ in range(len(events))]
            marks = [item for kind, item in taken_other if kind == "flush"]
            try:
                self._write(conn, taken_events, taken_other)
            except Exception as exc:
                # Keep running: a full disk may clear, and one value SQLite refuses (an
                # integer over 64 bits, a lone surrogate) must not end recording for good.
                # What failed is counted as dropped.
                self.write_error = str(exc) or type(exc).__name__
                log.warning("journal write failed: %r", exc)
                try:
                    conn.rollback()
                except sqlite3.Error:
                    pass
                self.dropped += len(taken_events) + len(taken_other) - len(marks)
            for mark in marks:
                mark.set()  # type: ignore[attr-defined]
            self._notify_progress()
            if self.batch_pause > 0 and not self._closing and not marks:
                # Let the queue fill for a moment: a few large transactions cost the event
                # loop less (fewer GIL hand-overs) than many small ones under a firehose.
                self._wake.clear()
                self._wake.wait(self.batch_pause)

    def _write(
        self,
        conn: sqlite3.Connection,
        events: list[FlagEvent],
        other: list[tuple[str, object]],
    ) -> None:
        with conn:
            if events:
                self._insert_events(conn, events)
            for kind, item in other:
                if kind == "t":
                    t: ValueTransition = item  # type: ignore[assignment]
                    conn.execute(
                        "INSERT INTO transitions (flag_key, event_id, at, before, after)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (t.flag_key, t.event_id, t.at, _dumps(t.before), _dumps(t.after)),
                    )
                elif kind == "o":
                    o: Outage = item  # type: ignore[assignment]
                    conn.execute(
                        "INSERT INTO outages (started_at, ended_at, replayed, may_have_missed,"
                        " received_at) VALUES (?, ?, ?, ?, ?)",
                        (
                            o.started_at,
                            o.ended_at,
                            o.replayed,
                            int(o.may_have_missed),
                            o.received_at,
                        ),
                    )
                elif kind == "n":
                    conn.executemany(
                        "INSERT OR REPLACE INTO environments (environment_id, environment_key)"
                        " VALUES (?, ?)",
                        list(item.items()),  # type: ignore[attr-defined]
                    )
                elif kind == "v":
                    v: LastValue = item  # type: ignore[assignment]
                    conn.execute(
                        "INSERT OR REPLACE INTO last_values (flag_key, evaluation, at, deleted)"
                        " VALUES (?, ?, ?, ?)",
                        (v.flag_key, _dumps(v.evaluation), v.at, int(v.deleted)),
                    )
            self._since_retention += len(events)
            if self._since_retention >= RETENTION_EVERY:
                self._since_retention = 0
                self._retain(conn)

    @staticmethod
    def _insert_events(conn: sqlite3.Connection, events: list[FlagEvent]) -> None:
        # Many rows per statement: executemany would release and retake the GIL once per row
        # (around each sqlite3_step), and every hand-over stalls the monitor's event loop.
        full = len(events) - len(events) % _ROWS_PER_INSERT
        for start in range(0, full, _ROWS_PER_INSERT):
            chunk = events[start : start + _ROWS_PER_INSERT]
            conn.execute(_MULTI_INSERT, list(chain.from_iterable(map(_event_row, chunk))))
        rest = events[full:]
        if len(rest) == 1:
            conn.execute(_SINGLE_INSERT, _event_row(rest[0]))
        elif rest:
            conn.execute(
                _SINGLE_INSERT + ", (?, ?, ?, ?, ?, ?, ?)" * (len(rest) - 1),
                list(chain.from_iterable(map(_event_row, rest))),
            )

    def _retain(self, conn: sqlite3.Connection) -> None:
        cutoff = self._clock() - self.max_age_days * 86400.0
        # Events: by count (seq is dense, so this keeps the newest max_events) and by age.
        # received_at grows with seq, so the first young row splits old from young without an
        # index on received_at (which would slow every insert).
        conn.execute(
            "DELETE FROM events WHERE seq <= (SELECT MAX(seq) FROM events) - ?",
            (self.max_events,),
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
            (self.max_events,),
        )
        conn.execute("DELETE FROM outages WHERE received_at < ?", (cutoff,))

    # --- importing (synchronous; for tools and tests) --------------------------------------

    def import_events(self, events: Iterable[FlagEvent]) -> int:
        """Append events read back from an export; returns how many. Goes through the queue."""
        n = 0
        for event in events:
            self.append_event(event)
            n += 1
        self.flush()
        return n

    # --- reading (any thread; a fresh connection each time) --------------------------------

    def _reader(self) -> sqlite3.Connection:
        return open_reader(self.path)

    def recent_events(self, limit: int) -> list[FlagEvent]:
        return read_recent_events(self.path, limit)

    def last_values(self) -> dict[str, LastValue]:
        return read_last_values(self.path)

    def history(self, flag_key: str, limit: int = 500) -> list[HistoryEntry]:
        return read_history(self.path, flag_key, limit)

    def transition_for(self, event_id: str) -> ValueTransition | None:
        return read_transition_for(self.path, event_id)

    def count_events(self) -> int:
        conn = self._reader()
        try:
            return conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        finally:
            conn.close()


# --- read functions: usable without a writer (the CLI reads a journal a `tail` is writing) ----


def open_reader(path: Path) -> sqlite3.Connection:
    """A connection for reading; the file must exist (a reader never creates a journal)."""
    if not path.exists():
        raise JournalError(f"no journal at {path}")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0)
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("SELECT 1 FROM events LIMIT 1")
    except sqlite3.Error as exc:
        raise JournalError(f"cannot read journal {path}: {exc}") from exc
    return conn


_EVENT_COLUMNS = "event_id, type, flag_key, environment_id, version, timestamp, received_at"


def read_recent_events(path: Path, limit: int) -> list[FlagEvent]:
    """The newest `limit` events, oldest first."""
    conn = open_reader(path)
    try:
        rows = conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events ORDER BY seq DESC LIMIT ?", (limit,)
        ).fetchall()
    finally:
        conn.close()
    rows.reverse()
    return [_event_from_row(r) for r in rows]


def read_last_values(path: Path) -> dict[str, LastValue]:
    conn = open_reader(path)
    try:
        rows = conn.execute("SELECT flag_key, evaluation, at, deleted FROM last_values").fetchall()
    finally:
        conn.close()
    return {k: LastValue(k, _loads(ev), at, bool(d)) for k, ev, at, d in rows}


def read_environment_names(path: Path) -> dict[str, str]:
    conn = open_reader(path)
    try:
        return dict(conn.execute("SELECT environment_id, environment_key FROM environments"))
    except sqlite3.Error:
        return {}
    finally:
        conn.close()


def read_history(path: Path, flag_key: str, limit: int = 500) -> list[HistoryEntry]:
    """Events, value transitions and outages around them for one flag, newest first."""
    conn = open_reader(path)
    try:
        events = [
            _event_from_row(r)
            for r in conn.execute(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE flag_key = ? ORDER BY seq DESC LIMIT ?",
                (flag_key, limit),
            )
        ]
        transitions = [
            _transition_from_row(r)
            for r in conn.execute(
                "SELECT flag_key, event_id, at, before, after FROM transitions"
                " WHERE flag_key = ? ORDER BY seq DESC LIMIT ?",
                (flag_key, limit),
            )
        ]
        times = [e.received_at for e in events] + [t.at for t in transitions]
        outages: list[Outage] = []
        if times:
            # Outages inside the span the flag's history covers: they explain its gaps.
            outages = [
                _outage_from_row(r)
                for r in conn.execute(
                    "SELECT started_at, ended_at, replayed, may_have_missed, received_at"
                    " FROM outages WHERE received_at >= ? ORDER BY seq DESC LIMIT ?",
                    (min(times), limit),
                )
            ]
    finally:
        conn.close()
    return merge_history(transitions, events, outages, limit=limit)


def read_transition_for(path: Path, event_id: str) -> ValueTransition | None:
    conn = open_reader(path)
    try:
        row = conn.execute(
            "SELECT flag_key, event_id, at, before, after FROM transitions WHERE event_id = ?"
            " ORDER BY seq DESC LIMIT 1",
            (event_id,),
        ).fetchone()
    finally:
        conn.close()
    return None if row is None else _transition_from_row(row)


def iter_journal_events(path: Path, since: float | None = None) -> Iterator[FlagEvent]:
    """Every event (received at or after `since`), oldest first, read in chunks."""
    conn = open_reader(path)
    try:
        start = 0
        if since is not None:
            row = conn.execute(
                "SELECT seq FROM events WHERE received_at >= ? ORDER BY seq LIMIT 1", (since,)
            ).fetchone()
            if row is None:
                return
            start = row[0]
        cursor = conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE seq >= ? ORDER BY seq", (start,)
        )
        while True:
            rows = cursor.fetchmany(2000)
            if not rows:
                return
            for r in rows:
                yield _event_from_row(r)
    finally:
        conn.close()
