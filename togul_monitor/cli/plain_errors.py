"""Connection errors in plain words: what `tail` says on stderr while the stream is down
(cli/render.py `TailPrinter`)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from togul_monitor.support.text import safe_text

_ERRNO = re.compile(r"\[Errno -?\d+\]\s*")
#: Low-level connect failures (as the resolver, the OS or anyio word them) → what they mean.
_CONNECT_FAILURES: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        (
            "name or service not known",
            "nodename nor servname",
            "no address associated",
            "getaddrinfo failed",
            "no such host",
        ),
        "cannot find host {host}: the name does not resolve",
    ),
    (
        ("temporary failure in name resolution",),
        "cannot look up host {host}: no name server answered",
    ),
    (
        ("connection refused", "all connection attempts failed"),
        "cannot connect to {where}: nothing accepted the connection",
    ),
    (("network is unreachable",), "cannot reach {where}: the network is unreachable"),
    (("no route to host",), "cannot reach {where}: no route to host"),
)


def _where(url: str) -> tuple[str, str]:
    """The host of `url`, and `host:port`."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or url
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return safe_text(url), safe_text(url)
    return safe_text(host), safe_text(f"{host}:{port}")


def plain_error(error: str, url: str) -> str:
    """A stream error as a person reads it: `cannot find host api.example: the name does not
    resolve` rather than `cannot connect: [Errno -2] Name or service not known`."""
    text = safe_text(_ERRNO.sub("", error))
    lower = text.lower()
    host, where = _where(url)
    if lower.startswith("cannot connect"):
        for needles, words in _CONNECT_FAILURES:
            if any(needle in lower for needle in needles):
                return words.format(host=host, where=where)
        detail = text.partition(":")[2].strip() or text
        return f"cannot connect to {where}: {detail}"
    if lower.startswith("connect timed out"):
        return f"{where} did not answer: {text}"
    return text
