"""A base URL as the profile form shows it: its secrets masked, given back on save.

A base URL may carry a password (`https://user:pass@host`) or a token in its query or fragment;
every other place shows it without them (config/validate.py `display_url`). The form must let the
URL be edited, so it keeps the URL's shape and shows each secret part as `…`: a part still `…`
when the form is saved takes the saved URL's own back, and one typed anew replaces it.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit, urlunsplit

MASK = "…"


def _split(url: str) -> SplitResult | None:
    try:
        return urlsplit(url)
    except ValueError:
        return None


def _password(parts: SplitResult) -> tuple[str, str, str] | None:
    """(user, password, host) of a netloc holding a password, else None."""
    userinfo, at, host = parts.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    return (user, password, host) if at and colon else None


def masked_url(url: str) -> str:
    """`url` with its password, query and fragment shown as `…` (each only if present)."""
    parts = _split(url)
    if parts is None:  # unparsable: nothing of it can be told a secret, so none is shown
        return MASK if url else ""
    held = _password(parts)
    netloc = f"{held[0]}:{MASK}@{held[2]}" if held else parts.netloc
    query, fragment = (MASK if part else "" for part in (parts.query, parts.fragment))
    return urlunsplit(parts._replace(netloc=netloc, query=query, fragment=fragment))


def unmasked_url(typed: str, saved: str) -> str:
    """`typed`, each part still `…` given back from `saved` (the URL the profile holds)."""
    parts, old = _split(typed), _split(saved)
    if parts is None or old is None:
        return saved if typed == MASK else typed
    held, old_held = _password(parts), _password(old)
    netloc = parts.netloc
    if held is not None and held[1] == MASK and old_held is not None:
        netloc = f"{held[0]}:{old_held[1]}@{held[2]}"
    query = old.query if parts.query == MASK else parts.query
    fragment = old.fragment if parts.fragment == MASK else parts.fragment
    return urlunsplit(parts._replace(netloc=netloc, query=query, fragment=fragment))
