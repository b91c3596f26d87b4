"""Crash-safe writes, and the one inter-process lock (profiles.toml's writers, the journal's
recorder).

`atomic_write` never leaves a half-written file behind: the new content goes to a temporary
file in the same folder (same file system, so the rename is atomic), is fsynced, gets its mode
(0600 by default: profile files may hold secrets) *before* any byte is written, and replaces the
target with `os.replace`; then the folder is fsynced so the rename itself survives a crash.

`FileLock` is the one inter-process lock: an advisory lock on a sidecar file
(`profiles.toml.lock`, `<journal>.lock`); locking the target itself would not work, since a
rename swaps the inode under the lock. `file_lock` waits for it (writers of `profiles.toml` take
turns); the journal takes it without waiting (one recorder per journal: a second one records
nothing rather than journal every event twice).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(fd: int, wait: bool) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_LOCK if wait else msvcrt.LK_NBLCK, 1)
        except OSError:
            if wait:
                raise
            return False
        return True

    def _unlock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fd: int, wait: bool) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class LockBusy(Exception):
    """Another process holds the lock (only raised when not waiting for it)."""


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


class FileLock:
    """An exclusive advisory lock on `<path>.lock`, held from `acquire` until `release`.

    The kernel releases it if the process dies. `release` is idempotent.
    """

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd
        self._guard = threading.Lock()  # release() may race itself (a close and a late writer)

    @classmethod
    def acquire(cls, path: Path, *, wait: bool = True) -> FileLock:
        """Take the lock of `path`: block until it is free, or with `wait=False` raise
        LockBusy at once. OSError if the lock file cannot be made."""
        fd = os.open(lock_path(path), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            taken = _lock(fd, wait)
        except BaseException:
            os.close(fd)
            raise
        if not taken:
            os.close(fd)
            raise LockBusy(str(path))
        return cls(fd)

    def release(self) -> None:
        with self._guard:
            fd, self._fd = self._fd, None
        if fd is not None:
            try:
                _unlock(fd)
            finally:
                os.close(fd)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock for writing `path` (blocks until other writers are done)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock.acquire(path)
    try:
        yield
    finally:
        lock.release()


def atomic_write(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Replace `path` with `data` atomically; the result has permission bits `mode`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _temp_beside(path, mode) as fd, os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


@contextlib.contextmanager
def atomic_text(path: Path, *, mode: int = 0o600) -> Iterator[TextIO]:
    """A UTF-8 text handle whose content replaces `path` when the block ends; if the block
    raises, `path` is left as it was and nothing is left behind. The folder must exist."""
    with _temp_beside(path, mode) as fd, os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
        yield out
        out.flush()
        os.fsync(out.fileno())


@contextlib.contextmanager
def _temp_beside(path: Path, mode: int) -> Iterator[int]:
    """A temporary file in `path`'s folder (same file system: the rename is atomic), with its
    mode set before any byte is written; renamed over `path` when the block ends cleanly. A
    symbolic link is followed: the file it points to is replaced, and the link stays (a
    dotfiles repository's `profiles.toml` must not fork into a copy)."""
    if os.path.islink(path):
        path = Path(os.path.realpath(path))
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with contextlib.suppress(AttributeError, NotImplementedError):  # no fchmod on Windows
            os.fchmod(fd, mode)
        yield fd  # the caller writes, fsyncs and closes it
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    # Makes the rename durable; not possible (nor needed) on every platform.
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
