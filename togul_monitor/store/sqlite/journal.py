"""The journal: one SQLite database per profile, so history survives restarts.

`Journal` ties the parts together; each part has its own module:
- `store/files.py`: where the file lives, and moving an unreadable one aside;
- `store/schema.py`: the tables, the pragmas, rows ↔ objects;
- `store/writer.py`: the writer thread the appends go to;
- `store/retention.py`: what is deleted, and when;
- `store/reader.py`: the reads, which need no `Journal` (the CLI reads a journal that a
  `tail --profile` is writing).

Only one process records a journal at a time: `Journal.open` takes the journal's recorder lock
(`support/files.py`) without waiting, and a second recorder gets a `JournalError` instead of
journalling every event twice.

A file that is not a database, or one whose pages are damaged (`PRAGMA quick_check` runs before
anything is written), is moved aside and a new journal starts; `Journal.notice` then says so in
plain words. Any other failure to open raises `JournalError` and leaves the file
alone (see `store/files.py`).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.flag_config import ConfigDiff
from togul_monitor.domain.history import HistoryEntry
from togul_monitor.domain.values import DEFAULT_CONTEXT, Evaluation, ValueTransition
from togul_monitor.store.files import is_not_a_database, is_unreadable, journal_path, move_aside
from togul_monitor.store.reader import (
    read_config_diffs,
    read_event_count,
    read_history,
    read_last_values,
    read_recent_events,
    read_transitions_for,
)
from togul_monitor.store.retention import Retention
from togul_monitor.store.schema import (
    JournalDamaged,
    JournalError,
    LastValue,
    RecorderBusy,
    StoredDiff,
    open_database,
)
from togul_monitor.store.writer import (
    AppendConfigDiff,
    AppendOutage,
    AppendTransition,
    Mark,
    SetEnvironmentNames,
    SetLastValue,
    Writer,
)
from togul_monitor.support.files import FileLock, LockBusy

__all__ = [
    "CLOSE_TIMEOUT",
    "DEFAULT_MAX_AGE_DAYS",
    "DEFAULT_MAX_EVENTS",
    "DEFAULT_MAX_QUEUE",
    "Journal",
    "JournalDamaged",
    "JournalError",
    "LastValue",
    "Mark",
    "RecorderBusy",
    "journal_path",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_EVENTS = 1_000_000
DEFAULT_MAX_AGE_DAYS = 90.0
DEFAULT_MAX_QUEUE = 200_000
CLOSE_TIMEOUT = 10.0  # how long close() waits for the writer to commit what is queued


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
        self.notice: str | None = None  # set when an unreadable file was moved aside
        self.moved_to: Path | None = None
        self._retention = Retention(max_events, max_age_days, clock)
        self._writer = Writer(
            max_queue=max_queue, batch_pause=batch_pause, retention=self._retention
        )
        self._recorder_lock: FileLock | None = None

    # --- opening and closing ---------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, **options: Any) -> Journal:
        """Open (or create) the journal at `path` and start its writer; `options` are those of
        the constructor. JournalError if it cannot be used."""
        journal = cls(path, **options)
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
            raise RecorderBusy(
                f"another togul-monitor (the TUI or `tail --profile`) is recording {self.path}; "
                "this one shows the stream without recording it, so nothing is journalled twice"
            ) from None
        except OSError as exc:
            raise JournalError(f"cannot lock journal {self.path}: {exc}") from exc
        try:
            conn = self._open_database()
            self._writer.start(
                conn, name=f"journal-{self.path.stem}", on_late_close=self._release_lock
            )
        except BaseException:
            self._release_lock()
            raise

    def _open_database(self) -> sqlite3.Connection:
        """The writer's connection, retention applied; an unreadable or damaged file is first
        moved aside."""
        try:
            return self._connect()
        except (sqlite3.Error, OSError, JournalError) as exc:
            if not self.path.exists():
                raise JournalError(f"cannot create journal {self.path}: {exc}") from exc
            if not (isinstance(exc, JournalDamaged) or is_unreadable(exc)):
                # Locked, an I/O error, no permission, a newer program's schema: the file
                # may well be healthy (another recorder may hold it), so it is left alone.
                if isinstance(exc, JournalError):
                    raise JournalError(f"cannot use journal {self.path}: {exc}") from exc
                raise JournalError(f"cannot open journal {self.path}: {exc}") from exc
            self._set_aside(exc)
        try:
            return self._connect()
        except (sqlite3.Error, OSError, JournalError) as exc:
            raise JournalError(f"cannot create journal {self.path}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        conn = open_database(self.path)
        try:
            # Retention reads the tables: on a damaged file it is what fails first.
            self._retention.apply(conn)
            conn.commit()
        except BaseException:
            conn.close()
            raise
        return conn

    def _set_aside(self, exc: BaseException) -> None:
        """Move the file aside (its bytes kept) and say so once, in plain words."""
        if is_not_a_database(exc):
            label, what = "unreadable", f"could not be opened ({exc})"
        else:
            label, what = "damaged", f"is damaged ({exc})"
        try:
            moved = move_aside(self.path, label)
        except OSError as error:
            raise JournalError(
                f"the journal {self.path} {what}, and it cannot be moved aside: {error}"
            ) from error
        self.moved_to = moved
        self.notice = (
            f"The journal {self.path} {what}. It was moved aside to {moved.name} (nothing "
            "was deleted) and a new journal was started."
        )
        log.warning("%s", self.notice)

    def _release_lock(self) -> None:
        if self._recorder_lock is not None:
            self._recorder_lock.release()
            self._recorder_lock = None

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Commit what is queued, stop the writer thread, close the database."""
        if self._writer.stop(timeout):
            self._release_lock()
        else:
            # Still committing (a slow disk): the writer closes the database and releases
            # the recorder lock itself when it ends.
            log.warning("journal %s: writer still busy after %.0f s", self.path, timeout)

    # --- appending (any thread; never blocks on the disk) ----------------------------------

    def append_event(self, event: FlagEvent) -> None:
        self._writer.append_event(event)

    def append_events(self, batch: list[FlagEvent]) -> None:
        """Many events at once (one deque.extend: atomic, and C-speed)."""
        self._writer.append_events(batch)

    def append_outage(self, outage: Outage) -> None:
        self._writer.put(AppendOutage(outage))

    def append_transition(self, transition: ValueTransition) -> None:
        self._writer.put(AppendTransition(transition))

    def append_config_diff(self, diff: ConfigDiff, at: float) -> None:
        self._writer.put(AppendConfigDiff(StoredDiff(diff, at)))

    def set_last_value(
        self,
        flag_key: str,
        evaluation: Evaluation | None,
        at: float,
        *,
        deleted: bool = False,
        context: str = DEFAULT_CONTEXT,
    ) -> None:
        """Remember `flag_key`'s last value for the named `context` (one row per both)."""
        self._writer.put(SetLastValue(LastValue(flag_key, evaluation, at, deleted, context)))

    def set_environment_names(self, names: dict[str, str]) -> None:
        """Remember environment id → key, so `env:production` works in `export --filter`."""
        self._writer.put(SetEnvironmentNames(tuple(names.items())))

    # --- the writer's state ----------------------------------------------------------------

    @property
    def dropped(self) -> int:
        """Appends refused because the writer fell `max_queue` behind, or lost to a failed
        write."""
        return self._writer.dropped

    @property
    def write_error(self) -> str | None:
        """The last write failure (or why the writer thread stopped); None if none."""
        return self._writer.write_error

    @property
    def pending(self) -> int:
        """Appended, not yet committed."""
        return self._writer.pending

    @property
    def writing(self) -> bool:
        """The writer thread runs: what is appended will be committed."""
        return self._writer.running

    @property
    def appended(self) -> Mark:
        """What has been appended so far: `written(mark)` says when it is all committed. Read
        it on the thread that appends (the monitor's loop)."""
        return self._writer.appended

    def written(self, mark: Mark) -> bool:
        """Everything appended up to `mark` is committed (or lost and counted in `dropped`, or
        the writer has ended)."""
        return self._writer.written(mark)

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call `listener` on the writer thread after every commit (it must be quick)."""
        self._writer.add_listener(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        self._writer.remove_listener(listener)

    def wait_pending_below(self, limit: int, timeout: float) -> bool:
        """Block until at most `limit` items are pending, or the writer has ended (then
        nothing will drain: waiting longer would stall the caller for good). False on timeout."""
        return self._writer.wait_pending_below(limit, timeout)

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until everything appended so far is committed; False on timeout."""
        return self._writer.flush(timeout)

    # --- reading (any thread; a fresh connection each time) --------------------------------

    def recent_events(self, limit: int) -> list[FlagEvent]:
        return read_recent_events(self.path, limit)

    def last_values(self) -> dict[str, dict[str, LastValue]]:
        """Context name → flag key → the last value recorded for it."""
        return read_last_values(self.path)

    def history(self, flag_key: str, limit: int = 500) -> list[HistoryEntry]:
        return read_history(self.path, flag_key, limit)

    def transitions_for(self, event_id: str) -> list[ValueTransition]:
        """The value changes the event caused, one per context, in the order recorded."""
        return read_transitions_for(self.path, event_id)

    def config_diffs(self, flag_key: str | None, limit: int = 500) -> list[StoredDiff]:
        """Configuration diffs (of one flag, or all), newest first."""
        return read_config_diffs(self.path, flag_key, limit)

    def count_events(self) -> int:
        """How many events are committed (`benchmarks/pipeline.py` checks it)."""
        return read_event_count(self.path)
