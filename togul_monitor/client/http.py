"""HTTP details the clients share: headers as bytes, origins, errors in words, Retry-After."""

from __future__ import annotations

import email.utils
import json

import httpx

from togul_monitor.support.known_secrets import scrub
from togul_monitor.support.plain_errors import plain_error
from togul_monitor.support.text import safe_text

ERROR_BODY_LIMIT = 4096


def unwrap(exc: BaseException) -> BaseException:
    """The first leaf of an exception group (anyio raises groups from its task groups)."""
    # Duck-typed: Python 3.10 has no built-in BaseExceptionGroup (anyio uses a backport there).
    inner = getattr(exc, "exceptions", None)
    while isinstance(inner, (tuple, list)) and inner and isinstance(inner[0], BaseException):
        exc = inner[0]
        inner = getattr(exc, "exceptions", None)
    return exc


def raw_headers(headers: dict[str, str | bytes]) -> list[tuple[bytes, bytes]]:
    """Headers as bytes: `Last-Event-ID` is sent as UTF-8 bytes, which a str header cannot be.
    Text values must be ASCII (a credential that is not raises UnicodeEncodeError)."""
    return [
        (name.encode("ascii"), value if isinstance(value, bytes) else value.encode("ascii"))
        for name, value in headers.items()
    ]


def origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


def server_text(value: object, limit: int | None = None) -> str:
    """Text a server sent (a string of its error body), or an exception's text, as it may be
    shown: every secret the run holds masked (a server or a proxy may quote the credential it
    was sent; support/known_secrets.py), cut to `limit`, control characters escaped."""
    return safe_text(scrub(str(value))[:limit])


def describe(exc: Exception, read_timeout: float | None = None) -> str:
    """An exception of a request in words, the run's secrets masked."""
    if isinstance(exc, httpx.ReadTimeout):
        limit = f"{read_timeout:g} s" if read_timeout is not None else "the read timeout"
        return f"no data for {limit} (read timeout)"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {server_text(exc) or type(exc).__name__}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"connection broken: {server_text(exc) or type(exc).__name__}"
    if isinstance(exc, httpx.ReadError):
        return f"connection lost: {server_text(exc) or type(exc).__name__}"
    text = server_text(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def timeout_words(exc: httpx.TimeoutException, timeout: httpx.Timeout) -> str:
    """Which wait ran out before a response, but the read's (its words are the caller's): an
    httpx timeout has no text of its own."""
    if isinstance(exc, httpx.WriteTimeout):
        return f"sending the request timed out after {timeout.write or 0:g} s"
    if isinstance(exc, httpx.PoolTimeout):
        return f"no connection available within {timeout.pool or 0:g} s"
    return f"connect timed out after {timeout.connect or 0:g} s"


def network_failure(exc: Exception, url: str, timeout: float | None) -> str:
    """A request that failed on the network (evaluate, the management API, the tokens, the
    environment check) in the words the stream's failure is said in: the same cause reads the
    same wherever it is met (`timeout`: the client's, for every wait)."""
    if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ReadTimeout):
        return plain_error(timeout_words(exc, httpx.Timeout(timeout)), url)
    return plain_error(describe(exc, timeout), url)


def json_body(response: httpx.Response) -> object:
    """The JSON of a response that was read whole; None when its body is none."""
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: `[[[[…`
        return None


def error_fields(payload: object) -> tuple[str, str]:
    """The `code` and `message` of a `{code, message, details}` error body as sent ("" for
    what it lacks): what a caller decides on (the quota's code, say)."""
    if not isinstance(payload, dict):
        return "", ""
    code, message = payload.get("code"), payload.get("message")
    return (code if isinstance(code, str) else ""), (message if isinstance(message, str) else "")


def error_text(status: int, payload: object) -> str:
    """A refused request in the one wording of every request the monitor makes (the stream,
    evaluate, the environment check): `HTTP 401 unauthorized: Invalid or revoked API key`, the
    status, the body's code and its message (`error_fields`), as safe text (`server_text`)."""
    code, message = error_fields(payload)
    text = f"HTTP {status}" + (f" {server_text(code, 100)}" if code else "")
    return text + (f": {server_text(message, 300)}" if message else "")


async def read_error_text(response: httpx.Response) -> str:
    """`error_text` of a streamed response, its body read up to ERROR_BODY_LIMIT bytes."""
    body = b""
    try:
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) >= ERROR_BODY_LIMIT:
                break
    except httpx.HTTPError:
        pass
    try:
        payload = json.loads(body[:ERROR_BODY_LIMIT])
    except (ValueError, RecursionError):
        payload = None
    return error_text(response.status_code, payload)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None if absent or invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(int(value[:9]))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now)
