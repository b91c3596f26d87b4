"""A journal URL: which database a profile's journal is in (docs/journal.md).

- none, or `sqlite`: the profile's own SQLite file (`store/sqlite/files.py` `journal_path`);
- `sqlite:///absolute/path.sqlite3`: that SQLite file;
- `postgresql://user[:password]@host[:port]/database[?options]` (or `postgres://`): PostgreSQL,
  shared by every profile (rows carry the profile's name).

The password never appears in logs, errors or a `repr`: everything shown goes through `masked`
(support/text.py `mask_secret`). It is better kept out of the URL altogether: libpq reads
`PGPASSWORD` and `~/.pgpass`, and a whole URL may come from an environment variable
(`journal_url_from`, for the profile file's `journal_url_env`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from togul_monitor.store.model import JournalError
from togul_monitor.support.text import mask_secret, safe_text

SQLITE = "sqlite"
_POSTGRES_SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True, slots=True)
class PostgresUrl:
    """A PostgreSQL journal's address; `str` and `repr` show it with the password masked."""

    conninfo: str = field(repr=False)  # the URL as libpq takes it, password included
    masked: str
    password: str | None = field(default=None, repr=False)

    def __str__(self) -> str:
        return self.masked

    def scrub(self, text: str) -> str:
        """`text` (a driver's message) with the password, should it appear, masked."""
        if self.password:
            text = text.replace(self.password, mask_secret(self.password))
        return safe_text(text)


def mask_url(url: str) -> str:
    """`url` fit to show: a password in it replaced by its mask."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "(a journal URL that cannot be read)"
    if not password:
        return safe_text(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port is not None else ""
    user = parts.username or ""
    netloc = f"{user}:{mask_secret(unquote(password))}@{host}{port}"
    return safe_text(urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")))


def parse_journal_url(url: str | None) -> Path | PostgresUrl | None:
    """None for the profile's own SQLite file; a Path; or a PostgreSQL address. JournalError
    (its message masked) for anything else."""
    if url is None or not url.strip() or url.strip() == SQLITE:
        return None
    text = url.strip()
    try:
        parts = urlsplit(text)
        password = parts.password
        parts.port  # noqa: B018 - a port that is no number raises here, not at connect time
    except ValueError as exc:
        raise JournalError(f"cannot read the journal URL {mask_url(text)}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme == SQLITE:
        if not parts.path or parts.netloc:
            raise JournalError(
                f"a SQLite journal URL names a file: sqlite:///path/to/file (not {mask_url(text)})"
            )
        return Path(unquote(parts.path))
    if scheme in _POSTGRES_SCHEMES:
        if not parts.path.strip("/"):
            raise JournalError(f"the journal URL {mask_url(text)} names no database")
        return PostgresUrl(text, mask_url(text), unquote(password) if password else None)
    raise JournalError(
        f"the journal URL {mask_url(text)} is neither sqlite nor postgresql://user@host/db"
    )


def journal_url_from(
    journal_url: str | None,
    journal_url_env: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """The journal URL a profile names: `journal_url_env`'s variable when it is set (so the
    password stays out of the profile file), else `journal_url`; None for the default (the
    profile's SQLite file). JournalError when the named variable is unset or empty, or the URL
    cannot be used; the message never shows a password."""
    env = os.environ if environ is None else environ
    url = journal_url
    if journal_url_env:
        url = env.get(journal_url_env)
        if not url or not url.strip():
            raise JournalError(
                f"journal_url_env names {safe_text(journal_url_env)}, which is not set"
            )
    parse_journal_url(url)  # refused now, with the line that named it, not at the first open
    return url
