"""How one connection attempt of the stream client ended, in words a user can act on.

The reconnect policy (docs/stream-client.md) decides from the answer alone whether to retry or
stop; this module holds that decision for everything short of a readable stream: a refused
status, a wrong content type, a timeout before the answer. Kept apart from `stream.py` so that
the connection loop reads as a loop, and the wording is tested in one place.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import msgspec

from togul_monitor.client.http import (
    describe,
    parse_retry_after,
    read_error_text,
    server_text,
    timeout_words,
    unwrap,
)
from togul_monitor.client.tokens import TokenKeeper, rejection_hint
from togul_monitor.config.validate import is_loopback
from togul_monitor.support.text import safe_text

RETRYABLE_4XX = frozenset({400, 408, 429})
#: A connection after one that went silent, until its first byte (stream.py `_read`).
NO_DATA_YET = "connected, no data yet: the last connection went silent"


class Outcome(msgspec.Struct, frozen=True):
    """How one connection attempt ended."""

    error: str
    stop: bool = False
    retry_after: float | None = None
    credentials_rejected: bool = False


def shown_origin(url: httpx.URL) -> str:
    port = f":{url.port}" if url.port is not None else ""
    return safe_text(f"{url.scheme}://{url.host}{port}")


def timed_out(exc: httpx.TimeoutException, timeout: httpx.Timeout) -> Outcome:
    """A timeout before the response headers: which wait ran out says where to look."""
    if isinstance(exc, httpx.ReadTimeout):
        # The TCP connection (and TLS) is up: the server, or a proxy before it, took the
        # request and never answered. Calling that a connect timeout sends people to check
        # the host and port, which are fine.
        return Outcome(
            "the server accepted the connection but sent no response headers within "
            f"{timeout.read or 0:g} s"
        )
    return Outcome(timeout_words(exc, timeout))


def not_sent(exc: Exception, timeout: httpx.Timeout) -> Outcome:
    """The request failed before any response: a timeout, a URL it cannot go to, the network."""
    if isinstance(exc, httpx.TimeoutException):
        return timed_out(exc, timeout)
    if isinstance(exc, (httpx.InvalidURL, httpx.UnsupportedProtocol)):
        return Outcome(f"invalid URL: {server_text(exc)}", stop=True)
    if isinstance(exc, httpx.HTTPError):
        return Outcome(describe(exc))
    # Not an httpx error: raised under the transport (anyio wraps it in a group). A value the
    # URL cannot work with is permanent; anything else may pass.
    inner = unwrap(exc)
    if isinstance(inner, (OverflowError, ValueError)):
        return Outcome(f"invalid URL: {server_text(inner)}", stop=True)
    return Outcome(f"cannot connect: {type(inner).__name__}: {server_text(inner)}")


def not_an_event_stream(response: httpx.Response) -> Outcome | None:
    content_type = response.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() == "text/event-stream":
        return None
    shown = safe_text(content_type[:80]) or "none"
    return Outcome(f"not an event stream (content type: {shown}); check the base URL", stop=True)


async def refused(
    response: httpx.Response,
    *,
    tokens: TokenKeeper | None,
    credentials: dict[str, str],
    clock: Callable[[], float],
    elsewhere: bool,
) -> Outcome:
    """A status other than 200. `elsewhere`: a redirect led to another origin, where the
    credentials were (rightly) not sent."""
    status = response.status_code
    what = await read_error_text(response)
    if status in (401, 403) and elsewhere:
        # The server never saw the credentials, so it cannot have rejected them: saying so
        # would send the user to edit a profile that is right.
        return Outcome(
            f"the server redirected the stream to another origin ({shown_origin(response.url)}), "
            f"where the credentials are not sent; it answered {what}",
            stop=True,
        )
    if status in (401, 403):
        why = "credentials rejected" if status == 401 else "credentials not allowed here"
        hint = rejection_hint(tokens, credentials) if status == 401 else ""
        return Outcome(f"{why} ({what}){hint}", stop=True, credentials_rejected=True)
    if status == 204:
        return Outcome("server closed the stream (HTTP 204: do not reconnect)", stop=True)
    if status == 404:
        return Outcome(f"stream not found ({what}); check the base URL", stop=True)
    if status >= 500 or status in RETRYABLE_4XX:
        retry_after = parse_retry_after(response.headers.get("retry-after"), clock())
        return Outcome(what, retry_after=retry_after)
    return Outcome(what, stop=True)


def redirect_target(response: httpx.Response, *, allow_insecure: bool) -> httpx.URL | Outcome:
    """Where a redirect leads, or why it is not followed. The target must pass the rule the
    base URL passed (config/validate.py `check_url`): plain http:// only to a loopback host
    unless the profile allows it. Otherwise a loopback (or https) server could hand the stream
    to a plain-HTTP host on the network, whose events nobody can vouch for."""
    status = response.status_code
    location = response.headers.get("location", "").strip()
    if not location:
        return Outcome(f"HTTP {status} redirect without a Location", stop=True)
    try:
        url = response.url.join(location)
    except httpx.InvalidURL:
        return Outcome(f"HTTP {status} redirect to an invalid URL", stop=True)
    if url.scheme == "http" and not allow_insecure and not is_loopback(url.host):
        return Outcome(
            f"the server redirected the stream to plain http:// on {shown_origin(url)}, which "
            "is refused: only loopback hosts may use http (allow_insecure = true in the "
            "profile allows it)",
            stop=True,
        )
    return url
