"""The journal: what a monitor records, so history survives restarts (docs/journal.md).

This is the store's entry point: the interface (`Journal`, `JournalReader`:
`store/interface.py`) and the one way to open a profile's journal in either backend, chosen by
a journal URL (`store/url.py`, support/journal_url.py): the profile's SQLite file by default (`store/sqlite/`), or a
PostgreSQL database shared by recorders on any machine (`store/postgres/`).

- `open_journal_at(profile, url_or_path)`: for recording (a monitor, `record`);
- `open_reader_at(profile, url_or_path)`: for reading only (`history`, `export`);
- `Journal.open(path)`: the SQLite file at `path` (tests, benchmarks).

Only one process records a SQLite journal at a time (its recorder lock, `RecorderBusy` for a
second one). PostgreSQL takes any number of recorders of a profile, and journals each event
once; a monitor writes it only as the profile's recorder and otherwise reads it
(core/recording.py, store/reading.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from togul_monitor.store.interface import (
    CLOSE_TIMEOUT,
    DEFAULT_MAX_AGE_DAYS,
    DEFAULT_MAX_EVENTS,
    DEFAULT_MAX_QUEUE,
    Journal,
    JournalReader,
)
from togul_monitor.store.model import (
    JournalDamaged,
    JournalError,
    LastValue,
    RecorderBusy,
    StoredDiff,
)
from togul_monitor.store.postgres.journal import PostgresJournal
from togul_monitor.store.postgres.reader import PostgresReader
from togul_monitor.store.sqlite.files import journal_path
from togul_monitor.store.sqlite.journal import SqliteJournal
from togul_monitor.store.sqlite.reader import SqliteReader
from togul_monitor.store.url import PostgresUrl, mask_url, parse_journal_url
from togul_monitor.store.writer import Mark

__all__ = [
    "CLOSE_TIMEOUT",
    "DEFAULT_MAX_AGE_DAYS",
    "DEFAULT_MAX_EVENTS",
    "DEFAULT_MAX_QUEUE",
    "Journal",
    "JournalDamaged",
    "JournalError",
    "JournalReader",
    "LastValue",
    "Mark",
    "PostgresJournal",
    "RecorderBusy",
    "SqliteJournal",
    "StoredDiff",
    "journal_path",
    "journal_target",
    "mask_url",
    "open_journal_at",
    "open_reader_at",
]


def journal_target(
    profile_name: str, url_or_path: str | Path | None, directory: Path | None = None
) -> Path | tuple[PostgresUrl, str]:
    """Where `profile_name`'s journal is: a SQLite file (the profile's own under `directory`,
    or the data directory, when `url_or_path` is None or `sqlite`), or (a PostgreSQL
    address, the profile). JournalError for a URL that names neither."""
    if isinstance(url_or_path, Path):
        return url_or_path
    parsed = parse_journal_url(url_or_path)
    if parsed is None:
        return journal_path(profile_name, directory)
    if isinstance(parsed, Path):
        return parsed
    return (parsed, profile_name)


def open_journal_at(
    profile_name: str,
    url_or_path: str | Path | None = None,
    directory: Path | None = None,
    **options: Any,
) -> Journal:
    """`profile_name`'s journal, opened for recording; `options` are `Journal`'s
    (environment_id, max_events, max_age_days, max_queue, clock, batch_pause). JournalError
    (`RecorderBusy`: another process records this SQLite journal) when it cannot be used."""
    return Journal.open(journal_target(profile_name, url_or_path, directory), **options)


def open_reader_at(
    profile_name: str, url_or_path: str | Path | None = None, directory: Path | None = None
) -> JournalReader:
    """`profile_name`'s journal for reading only: nothing is created, nothing migrated. Close
    it after use. JournalError when there is none."""
    target = journal_target(profile_name, url_or_path, directory)
    if isinstance(target, Path):
        if not target.exists():
            raise JournalError(f"no journal at {target}")
        return SqliteReader(target)
    url, profile = target
    return PostgresReader(url, profile)
