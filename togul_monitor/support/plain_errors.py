"""Connection errors in plain words, the one source of them: what `tail` says on stderr while the
stream is down (cli/render.py `TailPrinter`) and what the TUI's status bar says (ui/view/status.py
`status_info`).

Each known failure has its reason (`nothing accepted the connection`) and the place it names
(`cannot connect to 127.0.0.1:9`): `tail` prints the place first, as a sentence; the status bar,
short of room, leads with the reason and names only the host after it (`brief`), so a cut
loses the host, never the reason. An error's text may quote what a server was sent: every secret
the run holds is masked in it (support/known_secrets.py).
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import urlsplit

from togul_monitor.support.known_secrets import scrub
from togul_monitor.support.text import safe_text

_ERRNO = re.compile(r"\[Errno -?\d+\]\s*")
#: Low-level connect failures (as the resolver, the OS or anyio word them) → what they mean:
#: the place (`{host}`, `{where}`: host:port) and the reason.
_CONNECT_FAILURES: tuple[tuple[tuple[str, ...], str, str, str], ...] = (
    (
        (
            "name or service not known",
            "nodename nor servname",
            "no address associated",
            "getaddrinfo failed",
            "no such host",
        ),
        "cannot find host {host}",
        "the name does not resolve",
        "{host}",
    ),
    (
        ("temporary failure in name resolution",),
        "cannot look up host {host}",
        "no name server answered",
        "{host}",
    ),
    (
        ("connection refused", "all connection attempts failed"),
        "cannot connect to {where}",
        "nothing accepted the connection",
        "{where}",
    ),
    (
        ("network is unreachable",),
        "cannot reach {where}",
        "the network is unreachable",
        "{where}",
    ),
    (("no route to host",), "cannot reach {where}", "no route to host", "{where}"),
)


#: How Python's ssl module words a certificate the client would not trust; what follows it says
#: why (`self-signed certificate`, `certificate has expired`, `Hostname mismatch, …`).
_CERTIFICATE = "certificate verify failed"
_SSL_SOURCE = re.compile(r"\s*\(_ssl\.c:\d+\)\s*$")
#: Where a private CA's certificate is given (httpx reads these for every `https://` client):
#: said when the signer is what was not trusted, not for an expired certificate or another host's.
CA_HINT = "SSL_CERT_FILE (or SSL_CERT_DIR) may name the CA that signed it"
_UNKNOWN_SIGNER = ("self-signed", "self signed", "issuer")


class PlainError(NamedTuple):
    """A stream error in words: `text` whole (tail's line), `reason` the words that matter
    (None: not a failure this module knows; `text` is all there is), `brief` the reason first."""

    text: str
    reason: str | None = None
    target: str = ""  # the host (and port) the reason is about

    @property
    def brief(self) -> str:
        """The reason first, then the host it names (`nothing accepted the connection:
        127.0.0.1:9`); `text` for an error without a known reason."""
        if self.reason is None:
            return self.text
        return f"{self.reason}: {self.target}" if self.target else self.reason


def _where(url: str) -> tuple[str, str]:
    """The host of `url`, and `host:port`."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or url
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return safe_text(url), safe_text(url)
    return safe_text(host), safe_text(f"{host}:{port}")


def plain_words(error: str, url: str) -> PlainError:
    """A stream error as a person reads it: `cannot find host api.example: the name does not
    resolve` rather than `cannot connect: [Errno -2] Name or service not known`."""
    text = safe_text(scrub(_ERRNO.sub("", error)))
    lower = text.lower()
    host, where = _where(url)
    if lower.startswith("cannot connect"):
        if _CERTIFICATE in lower:
            return _untrusted(text, where)
        for needles, place, reason, target in _CONNECT_FAILURES:
            if any(needle in lower for needle in needles):
                said = place.format(host=host, where=where)
                return PlainError(
                    f"{said}: {reason}", reason, target.format(host=host, where=where)
                )
        detail = text.partition(":")[2].strip() or text
        return PlainError(f"cannot connect to {where}: {detail}")
    if lower.startswith("connect timed out"):
        return PlainError(f"{where} did not answer: {text}", "did not answer", where)
    return PlainError(text)


def _untrusted(text: str, where: str) -> PlainError:
    """A certificate failure: why the certificate was refused and, when its signer is unknown
    here, where a private CA goes: a retry meets the same certificate until the server's or
    this machine's trust changes, so the words say what would change it."""
    why = text[text.lower().index(_CERTIFICATE) + len(_CERTIFICATE) :].lstrip(" :")
    why = _SSL_SOURCE.sub("", why).rstrip(". ") or "not trusted"
    reason = f"certificate refused ({why})"
    # OpenSSL's phrase only: what follows a comma may quote a host name (`issuer-api.…`).
    phrase = why.split(",", 1)[0].lower()
    hint = f"; {CA_HINT}" if any(word in phrase for word in _UNKNOWN_SIGNER) else ""
    return PlainError(f"cannot trust {where}: {reason}{hint}", reason, where)


def plain_error(error: str, url: str) -> str:
    """`plain_words`'s whole text: `tail`'s line."""
    return plain_words(error, url).text
