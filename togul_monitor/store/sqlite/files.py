"""Where a profile's journal lives, and what happens to a journal file nobody can read.

`journal/<profile>.sqlite3` in the data directory, one file per profile.

A file that is not a database, or a damaged one, is never deleted: it is renamed aside
(`<name>.unreadable-<UTC time>` or `<name>.damaged-<UTC time>`, with its -wal/-shm files) and a
new journal starts. Any other failure to open (locked, an I/O error, no permission, a newer
program's schema) leaves the file alone: it may be healthy, for instance held by a concurrent
`tail --profile` recorder.
`is_unreadable` tells the two kinds of failure apart.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from pathlib import Path

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")

# SQLite's result codes for "this file is not (or no longer) a database": only such a file
# is moved aside; every other failure leaves it where it is.
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26


def journal_path(profile_name: str, directory: Path | None = None) -> Path:
    """`<data dir>/journal/<profile>.sqlite3`; odd characters in the name become `_`."""
    if directory is None:
        from togul_monitor.config import paths

        directory = paths.journal_dir()
    name = _SAFE_NAME.sub("_", profile_name) or "_"
    if name.startswith("."):
        name = "_" + name[1:]
    return directory / f"{name}.sqlite3"


def _primary_code(exc: BaseException) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    return code & 0xFF if isinstance(code, int) else None


def is_unreadable(exc: BaseException) -> bool:
    """The error says the file is not a database, or a corrupt one (so it may be moved aside)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = _primary_code(exc)
    if code is not None:
        return code in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    text = str(exc)
    return "not a database" in text or "malformed" in text


def is_not_a_database(exc: BaseException) -> bool:
    """The file was never a database (rather than a database with damaged pages)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = _primary_code(exc)
    return code == _SQLITE_NOTADB if code is not None else "not a database" in str(exc)


def move_aside(path: Path, label: str = "unreadable") -> Path:
    """Rename `path` (and its -wal/-shm files) to `<name>.<label>-<UTC time>`; the new name."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = path.with_name(f"{path.name}.{label}-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.{label}-{stamp}-{n}")
    os.replace(path, target)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, target.with_name(target.name + suffix))
    return target
