"""One recorder per journal: an exclusive, non-blocking lock beside the SQLite file.

Two processes recording the same profile (the TUI and a `tail --profile`, say) would each
journal every event and every transition, so `history` and `export` would show them twice. The
second recorder therefore does not record; it still shows the stream. The lock is an advisory
`flock` (POSIX) or `msvcrt` byte lock (Windows), released by the kernel if the process dies.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


class RecorderBusy(Exception):
    """Another process holds the journal's recorder lock."""


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class RecorderLock:
    """Held from `acquire` until `release`; `release` is idempotent."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, journal: Path) -> RecorderLock:
        """Take the lock of `journal` or raise RecorderBusy (OSError if the file cannot be made)."""
        fd = os.open(journal.with_name(journal.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        if not _try_lock(fd):
            os.close(fd)
            raise RecorderBusy(str(journal))
        return cls(fd)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                _unlock(fd)
            finally:
                os.close(fd)
