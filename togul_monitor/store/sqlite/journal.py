"""The SQLite journal: one database file per profile, so history survives restarts.

`SqliteJournal` ties the parts together; each part has its own module:
- `store/sqlite/files.py`: where the file lives, and moving an unreadable one aside;
- `store/sqlite/schema.py`: the tables, the pragmas, the migration (rows ↔ objects are
  `store/model.py`, shared with PostgreSQL);
- `store/writer.py`: the writer thread the appends go to (shared), `store/sqlite/sink.py` what
  a batch becomes here;
- `store/sqlite/retention.py`: what is deleted, and when;
- `store/sqlite/reader.py`: the reads, which need no `Journal` (the CLI reads a journal that a
  `tail --profile` is writing).

Only one process records a journal at a time: `Journal.open` takes the journal's recorder lock
(`support/files.py`) without waiting, and a second recorder gets a `JournalError` instead of
journalling every event twice.

A file that is not a database, or one whose pages are damaged (`PRAGMA quick_check` runs before
anything is written), is moved aside and a new journal starts; `Journal.notice` then says so in
plain words. Any other failure to open raises `JournalError` and leaves the file
alone (see `store/sqlite/files.py`).
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

from togul_monitor.store.interface import CLOSE_TIMEOUT, Journal
from togul_monitor.store.model import JournalDamaged, JournalError, RecorderBusy
from togul_monitor.store.sqlite.files import is_not_a_database, is_unreadable, move_aside
from togul_monitor.store.sqlite.reader import SqliteReads
from togul_monitor.store.sqlite.retention import apply_retention
from togul_monitor.store.sqlite.schema import open_database
from togul_monitor.store.sqlite.sink import SqliteSink
from togul_monitor.support.files import FileLock, LockBusy

__all__ = ["SqliteJournal"]

log = logging.getLogger(__name__)


class SqliteJournal(SqliteReads, Journal):
    """Open with `SqliteJournal.open(path)` (or `Journal.open(path)`); append from the event
    loop; `close()` flushes."""

    def __init__(self, path: Path, **options: Any) -> None:
        super().__init__(**options)
        self.path = path
        self.location = str(path)
        self._recorder_lock: FileLock | None = None

    @classmethod
    def accepts(cls, target: object) -> bool:
        return isinstance(target, Path) or (isinstance(target, str) and "://" not in target)

    @classmethod
    def _create(cls, target: Any, **options: Any) -> SqliteJournal:
        return cls(Path(target), **options)

    # --- opening and closing ---------------------------------------------------------------

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
                SqliteSink(conn, self._retention),
                name=f"journal-{self.path.stem}",
                on_late_close=self._release_lock,
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
            apply_retention(conn, self._retention)
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
