"""A journal URL: which database a profile's journal is in (docs/journal.md).

- none, or `sqlite`: the profile's own SQLite file (`store/sqlite/files.py` `journal_path`);
- `sqlite:///absolute/path.sqlite3`: that SQLite file;
- `postgresql://user[:password]@host[:port]/database[?options]` (or `postgres://`): PostgreSQL,
  shared by every profile (rows carry the profile's name).

Here, below the configuration stage, so that config/validate.py checks a profile's URL whole at
its line and the store opens what it names with the same reading (store/url.py re-exports it).

The password never appears in logs, errors or a `repr`: everything shown goes through
`mask_url` (support/text.py `mask_secret`), both where libpq takes a password (`user:pw@`, and
the `password` or `sslpassword` query parameter). A URL that cannot be read cleanly (a password
with an unencoded `/`, `?` or `#` makes the parser end the address early, so it would see no
password at all) is never echoed: "the journal URL (not shown: …)" instead. The password is
better kept out of the URL altogether: libpq reads `PGPASSWORD` and `~/.pgpass`, and a whole URL
may come from an environment variable (a profile's `journal_url_env`, config/entry.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import SplitResult, quote, unquote, urlsplit, urlunsplit

from togul_monitor.support.text import mask_secret, safe_text

SQLITE = "sqlite"
POSTGRES_SCHEMES = ("postgresql", "postgres")
# Query parameters libpq takes a secret in (a URL's `?password=`, a client key's passphrase).
_SECRET_PARAMETERS = frozenset({"password", "sslpassword"})


class JournalUrlError(ValueError):
    """A journal URL that names no journal; its message never holds the URL's password, its
    `reason` not even the URL (config/validate.py says it at the URL's line)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PostgresUrl:
    """A PostgreSQL journal's address; `str` and `repr` show it with the password masked."""

    conninfo: str = field(repr=False)  # the URL as libpq takes it, password included
    masked: str
    # Every secret of the URL (its password, a `?password=`, an `sslpassword`), decoded, each
    # with its spelling in the URL: `scrub` masks each in every form a message may quote it.
    secrets: tuple[str, ...] = field(default=(), repr=False)
    written: tuple[str, ...] = field(default=(), repr=False)

    def __str__(self) -> str:
        return self.masked

    def scrub(self, text: str) -> str:
        """`text` (a driver's message) with the password, should it appear, masked: decoded,
        as the URL spells it (libpq quotes a value it cannot decode: `%00`), percent-encoded,
        and escaped as safe text, each as the decoded password's mask."""
        masks: dict[str, str] = {}
        for secret, spelled in zip(self.secrets, self.written, strict=True):
            mask = mask_secret(secret)
            for form in (spelled, secret, quote(secret, safe=""), safe_text(secret)):
                if form:
                    masks.setdefault(form, mask)
        for form in sorted(masks, key=len, reverse=True):
            text = text.replace(form, masks[form])
        return safe_text(text)


def not_shown(reason: str) -> str:
    """What is said in place of a URL that cannot be shown safely."""
    return f"the journal URL (not shown: {reason})"


def _split(url: str) -> tuple[SplitResult, str | None] | str:
    """`url` parsed, and its password; or why it cannot be read cleanly."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "it cannot be read"
    beyond = parts.query + parts.fragment
    if parts.netloc or parts.scheme.lower() != SQLITE:
        beyond += parts.path  # a SQLite file's path may hold an `@`
    if "@" in beyond:
        # An `@` past the address: a password holding `/`, `?` or `#` cut it short, so the
        # parser saw no password (or a wrong one) and the whole secret sits in the path.
        return "an @ after its address: a password's / ? # must be percent-encoded, %2F %3F %23"
    try:
        password = parts.password
        parts.port  # noqa: B018 - a port that is no number raises here, not at connect time
    except ValueError:
        return "its host or port cannot be read"
    return parts, password


def _query_secrets(query: str) -> list[str]:
    """The secret parameters' values as the URL spells them (percent-encoded, maybe)."""
    return [
        value
        for name, _, value in (item.partition("=") for item in query.split("&"))
        if unquote(name).strip().lower() in _SECRET_PARAMETERS and value
    ]


def _masked_query(query: str) -> str:
    items = []
    for item in query.split("&"):
        name, equals, value = item.partition("=")
        if unquote(name).strip().lower() in _SECRET_PARAMETERS and value:
            value = mask_secret(unquote(value))
        items.append(f"{name}{equals}{value}")
    return "&".join(items)


def mask_url(url: str) -> str:
    """`url` fit to show: every password in it replaced by its mask; a URL that cannot be read
    cleanly, or of a scheme no journal has, is not shown at all (it could be all password)."""
    split = _split(url)
    if isinstance(split, str):
        return not_shown(split)
    parts, password = split
    scheme = parts.scheme.lower()
    if scheme != SQLITE and scheme not in POSTGRES_SCHEMES:
        # `host=db password=…` (a libpq key=value string) or anything else: not a URL we read.
        return not_shown("not a sqlite or postgresql URL")
    query = _masked_query(parts.query)
    if not password and query == parts.query:
        return safe_text(url)
    netloc = parts.netloc
    if password:
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port is not None else ""
        netloc = f"{parts.username or ''}:{mask_secret(unquote(password))}@{host}{port}"
    return safe_text(urlunsplit((parts.scheme, netloc, parts.path, query, "")))


def parse_journal_url(url: str | None) -> Path | PostgresUrl | None:
    """None for the profile's own SQLite file; a Path; or a PostgreSQL address.
    JournalUrlError (its message never holds the password) for anything else."""
    if url is None or not url.strip() or url.strip() == SQLITE:
        return None
    text = url.strip()
    split = _split(text)
    if isinstance(split, str):
        raise JournalUrlError(f"cannot read {not_shown(split)}", split)
    parts, password = split
    scheme = parts.scheme.lower()
    if scheme == SQLITE:
        if not parts.path or parts.netloc:
            raise JournalUrlError(
                f"a SQLite journal URL names a file: sqlite:///path/to/file (not {mask_url(text)})",
                "a SQLite journal URL names a file: sqlite:///path/to/file",
            )
        return Path(unquote(parts.path))
    if scheme in POSTGRES_SCHEMES:
        if not parts.path.strip("/"):
            raise JournalUrlError(
                f"the journal URL {mask_url(text)} names no database", "it names no database"
            )
        written = [*_query_secrets(parts.query), *filter(None, [password])]
        return PostgresUrl(
            text,
            mask_url(text),
            tuple(unquote(spelled) for spelled in written),
            tuple(written),
        )
    reason = "it is neither sqlite nor postgresql://user@host/db"
    raise JournalUrlError(f"the journal URL (not shown: it may hold a password): {reason}", reason)
