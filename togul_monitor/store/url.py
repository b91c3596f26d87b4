"""A journal URL, as the store reads it: support/journal_url.py parses and masks it (below the
configuration stage, which checks a profile's URL with it); here its errors are `JournalError`s,
the store's one kind of error."""

from __future__ import annotations

from pathlib import Path

from togul_monitor.store.model import JournalError
from togul_monitor.support.journal_url import (
    SQLITE,
    JournalUrlError,
    PostgresUrl,
    mask_url,
    not_shown,
)
from togul_monitor.support.journal_url import parse_journal_url as _parse

__all__ = ["SQLITE", "PostgresUrl", "mask_url", "not_shown", "parse_journal_url"]


def parse_journal_url(url: str | None) -> Path | PostgresUrl | None:
    """None for the profile's own SQLite file; a Path; or a PostgreSQL address. JournalError
    (its message masked) for anything else."""
    try:
        return _parse(url)
    except JournalUrlError as exc:
        raise JournalError(str(exc)) from None
