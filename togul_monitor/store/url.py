"""A journal URL: which database a profile's journal is in (docs/journal.md).

- none, or `sqlite`: the profile's own SQLite file (`store/sqlite/files.py` `journal_path`);
- `sqlite:///absolute/path.sqlite3`: that SQLite file;
- `postgresql://user[:password]@host[:port]/database[?options]` (or `postgres://`): PostgreSQL,
  shared by every profile (rows carry the profile's name).

The password never appears in logs, errors or a `repr`: everything shown goes through `masked`
(support/text.py `mask_secret`). It is better kept out of the URL altogether: libpq reads
`PGPASSWORD` and `~/.pgpass`, and a whole URL may come from an environment variable
(a profile's `journal_url_env`, read by config/entry.py).
"""

from __future__ import annotations

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
