"""The journal's two backends, as the store's tests see them: one fixture (`journal_backend`,
tests/conftest.py) runs a test against SQLite and against PostgreSQL.

PostgreSQL is the server `TOGUL_TEST_POSTGRES_URL` names (`.ci/postgres` starts one; CI exports
it). Without the variable the PostgreSQL runs are skipped, saying so; with it set and no server
answering they fail: CI must not pass by skipping. Each test gets a profile of its own (rows
are scoped by profile), so tests share the database without seeing each other's rows; a test
that needs an empty database of its own (migrations) takes a fresh schema (`fresh_schema_url`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from togul_monitor.store.journal import Journal, JournalReader, open_journal_at, open_reader_at

POSTGRES_ENV = "TOGUL_TEST_POSTGRES_URL"
NO_POSTGRES = (
    f"no PostgreSQL server for the journal's PostgreSQL tests: set {POSTGRES_ENV} "
    '(`eval "$(bash .ci/postgres)"` installs and starts one; CI does)'
)


def postgres_url() -> str:
    """The test server's URL, or skip the test saying why."""
    url = os.environ.get(POSTGRES_ENV, "").strip()
    if not url:
        pytest.skip(NO_POSTGRES)
    return url


@dataclass
class JournalBackend:
    """One backend's journal for one test: `open` it to record, `reader()` to read it as the
    CLI does (no writer)."""

    name: str
    profile: str
    target: str | Path  # what `open_journal_at` takes: a SQLite path, or the URL
    _readers: list[JournalReader] = field(default_factory=list)

    def open(self, **options: Any) -> Journal:
        return open_journal_at(self.profile, self.target, **options)

    def reader(self) -> JournalReader:
        reader = open_reader_at(self.profile, self.target)
        self._readers.append(reader)
        return reader

    def close(self) -> None:
        for reader in self._readers:
            reader.close()


@contextmanager
def backend(name: str, tmp_path: Path) -> Iterator[JournalBackend]:
    profile = f"test-{uuid.uuid4().hex[:12]}"
    if name == "sqlite":
        made = JournalBackend(name, profile, tmp_path / "j.sqlite3")
    else:
        made = JournalBackend(name, profile, postgres_url())
    try:
        yield made
    finally:
        made.close()
        if name == "postgres":
            forget_profile(str(made.target), profile)


PROFILE_TABLES = (
    "events",
    "transitions",
    "outages",
    "environments",
    "config_diffs",
    "context_last_values",
    "watched_until",
    "merged_answers",
    "watched_by",
)


def forget_profile(url: str, profile: str) -> None:
    """Delete a test profile's rows (the database outlives the test)."""
    import psycopg

    with psycopg.connect(url) as conn:
        for table in PROFILE_TABLES:
            made = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
            if made is not None and made[0]:  # `watched_by`: made by a recorder's open
                conn.execute(f"DELETE FROM {table} WHERE profile = %s", (profile,))  # type: ignore[arg-type]


@contextmanager
def scratch_profile(url: str) -> Iterator[str]:
    """A profile name of a test's own in the server at `url`, its rows deleted afterwards."""
    name = f"pg-{uuid.uuid4().hex[:10]}"
    try:
        yield name
    finally:
        forget_profile(url, name)


@contextmanager
def fresh_schema_url() -> Iterator[str]:
    """A URL whose tables go to an empty schema of their own, dropped afterwards."""
    import psycopg

    url = postgres_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")  # type: ignore[arg-type]
    joiner = "&" if "?" in url else "?"
    try:
        yield f"{url}{joiner}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")  # type: ignore[arg-type]
