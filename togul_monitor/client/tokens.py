"""Bearer tokens: a JWT's lifetime, login, refresh, and one profile's token kept fresh.

docs/protocol.md (resources and credentials): `POST /api/v1/login` (`{username, password}`)
returns `{token, refresh_token, ...}`; the access token is a JWT that lives an hour; `POST
/api/v1/refresh-token` (`{refresh_token}`) returns a new pair and invalidates the old refresh
token (it rotates: two refreshes with one refresh token cannot both succeed).

`TokenKeeper` holds one profile's token and refresh token for the monitor and the stream client:
- it refreshes before the token expires: at `exp` minus a minute or a tenth of the token's
  lifetime, whichever is less (`exp` and `iat` are read from the JWT without verifying it: the
  server checks the signature, the client only needs the dates);
- after a 401 it refreshes once (`renew`), and a caller that meets a 401 for a token another
  caller has already replaced just uses the new one;
- every rotation is handed to `on_rotated` (the monitor writes it back to the profile file when
  the refresh token was a literal there);
- a refresh refused (its refresh token spent: another monitor on the same profile renewed first
  and wrote its pair to the file) asks `reload` once for the pair where the token came from,
  and goes on with it when it is another one; only then is the refresh token given up;
- without a usable refresh token, `rejection_hint` says when the token expired and how to log in.

No secret ever reaches an error message: only HTTP statuses, the server's error code, and dates.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from togul_monitor.client.http import network_failure, server_text
from togul_monitor.client.tls import trust_env_for, verify_for
from togul_monitor.support.known_secrets import remember_secret

log = logging.getLogger(__name__)

LOGIN_PATH = "/api/v1/login"
REFRESH_PATH = "/api/v1/refresh-token"
EARLY_AT_MOST = 60.0  # refresh at most this long before the token expires...
EARLY_FRACTION = 0.1  # ...or this part of its lifetime before, whichever is less
RETRY_AFTER_FAILURE = 30.0  # a refresh that failed on the network is tried again after this


def jwt_times(token: str | None) -> tuple[float | None, float | None]:
    """The `(iat, exp)` claims of a JWT, unverified; None for either when absent or unreadable."""
    parts = (token or "").split(".")
    if len(parts) != 3:
        return None, None
    try:
        raw = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None, None
    if not isinstance(claims, dict):
        return None, None

    def number(name: str) -> float | None:
        value = claims.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return float(value)

    return number("iat"), number("exp")


def refresh_time(issued_at: float | None, expires_at: float, first_seen: float) -> float:
    """When to refresh a token that expires at `expires_at`: a minute or a tenth of its lifetime
    before, whichever is less (the lifetime runs from `iat`, or from when it was first seen)."""
    start = issued_at if issued_at is not None and issued_at < expires_at else first_seen
    lifetime = max(0.0, expires_at - start)
    return expires_at - min(EARLY_AT_MOST, EARLY_FRACTION * lifetime)


def utc(when: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(when))


class TokenError(Exception):
    """A login or refresh that did not give a token; `status` is the HTTP status (None: no
    answer). The message is secret-free."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class TokenPair:
    token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        remember_secret(self.token, self.refresh_token)  # from now on masked in shown text


def _error_code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return ""
    code = body.get("code") if isinstance(body, dict) else None
    return f" ({server_text(code, 80)})" if isinstance(code, str) and code else ""


async def _post(
    base_url: str, path: str, body: dict[str, str], *, timeout: float, verify: bool
) -> TokenPair:
    url = base_url.rstrip("/") + path
    try:
        async with httpx.AsyncClient(
            timeout=timeout, verify=verify_for(url, verify), trust_env=trust_env_for(url)
        ) as client:
            response = await client.post(url, json=body, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise TokenError(f"{path}: no answer ({network_failure(exc, url, timeout)})") from None
    if response.status_code != 200:
        raise TokenError(
            f"{path} answered HTTP {response.status_code}{_error_code(response)}",
            response.status_code,
        )
    try:
        payload = response.json()
    except (ValueError, UnicodeDecodeError):
        payload = None
    token = payload.get("token") if isinstance(payload, dict) else None
    if not isinstance(token, str) or not token:
        raise TokenError(f"{path} answered without a token", response.status_code)
    refresh = payload.get("refresh_token") if isinstance(payload, dict) else None
    return TokenPair(token, refresh if isinstance(refresh, str) and refresh else None)


async def login(
    base_url: str, username: str, password: str, *, timeout: float = 10.0, verify: bool = True
) -> TokenPair:
    """`POST /api/v1/login`: a token and a refresh token (TokenError with 401 for a bad login)."""
    body = {"username": username, "password": password}
    return await _post(base_url, LOGIN_PATH, body, timeout=timeout, verify=verify)


async def refresh(
    base_url: str, refresh_token: str, *, timeout: float = 10.0, verify: bool = True
) -> TokenPair:
    """`POST /api/v1/refresh-token`: a new pair; the old refresh token is dead from now on."""
    body = {"refresh_token": refresh_token}
    return await _post(base_url, REFRESH_PATH, body, timeout=timeout, verify=verify)


class TokenKeeper:
    """One profile's Bearer token, refreshed before it expires and once after a 401.

    Lives on one event loop (the monitor's). `token` is what to send now.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        refresh_token: str | None = None,
        *,
        login_hint: str = "",
        clock: Callable[[], float] = time.time,
        on_rotated: Callable[[TokenPair], None] | None = None,
        reload: Callable[[], Awaitable[TokenPair | None]] | None = None,
        verify: bool = True,
        timeout: float = 10.0,
    ) -> None:
        self._base_url = base_url
        self._token = token
        self._refresh_token = refresh_token
        self._clock = clock
        self._verify = verify
        self._timeout = timeout
        #: "log in again: ..." (empty: nothing to suggest): ends the text of a rejected token.
        self.login_hint = login_hint
        self.on_rotated = on_rotated
        self.reload = reload
        self.refreshes = 0  # successful refreshes so far
        self.last_error: str | None = None  # why the last refresh failed (secret-free)
        self._dead = False  # the refresh token was refused: nothing more to try
        self._lock = asyncio.Lock()
        self._times(clock())

    def _times(self, now: float) -> None:
        self.issued_at, self.expires_at = jwt_times(self._token)
        self._first_seen = now

    @property
    def token(self) -> str:
        return self._token

    @property
    def can_refresh(self) -> bool:
        return self._refresh_token is not None and not self._dead

    def refresh_at(self) -> float | None:
        """When `run` refreshes next (None: the token's expiry is unknown)."""
        if self.expires_at is None:
            return None
        return refresh_time(self.issued_at, self.expires_at, self._first_seen)

    async def refresh(self) -> bool:
        """Ask for a new pair now; True when the token was replaced."""
        async with self._lock:
            return await self._refresh_locked()

    async def _refresh_locked(self) -> bool:
        refresh_token = self._refresh_token
        if refresh_token is None or self._dead:
            return False
        try:
            pair = await refresh(
                self._base_url, refresh_token, timeout=self._timeout, verify=self._verify
            )
        except TokenError as exc:
            self.last_error = str(exc)
            refused = exc.status in (400, 401, 403)
            if refused and await self._take_reloaded(refresh_token):
                return True
            if refused:
                self._dead = True  # refused, not lost: asking again cannot succeed
            log.warning("token refresh failed: %s", exc)
            return False
        self._token = pair.token
        # A server that does not rotate keeps the old refresh token valid: keep using it.
        self._refresh_token = pair.refresh_token or refresh_token
        self._times(self._clock())
        self.refreshes += 1
        self.last_error = None
        log.info("token refreshed (expires %s)", self._expiry())
        if self.on_rotated is not None:
            self.on_rotated(TokenPair(self._token, self._refresh_token))
        return True

    async def _take_reloaded(self, spent: str) -> bool:
        """After the refresh token `spent` was refused: the pair `reload` finds where the token
        came from, taken when it holds another refresh token (True)."""
        if self.reload is None:
            return False
        pair = await self.reload()
        if pair is None or pair.refresh_token in (None, spent):
            return False
        self._token, self._refresh_token = pair.token, pair.refresh_token
        self._times(self._clock())
        self.last_error = None
        log.info("token renewed elsewhere taken from the profile (expires %s)", self._expiry())
        return True

    def _expiry(self) -> str:
        return utc(self.expires_at) if self.expires_at else "?"

    async def renew(self, rejected: str | None) -> bool:
        """After a 401 for the token `rejected` (None: the current one): True when there is a
        newer token to try, refreshing once if no one else has yet."""
        async with self._lock:
            if rejected is not None and rejected != self._token:
                return True  # refreshed meanwhile: try the new one
            return await self._refresh_locked()

    async def run(self) -> None:
        """Refresh before every expiry, for as long as the task runs (cancel it to stop)."""
        while self.can_refresh:
            due = self.refresh_at()
            if due is None:
                return  # not a JWT with an `exp`: a 401 will tell (`renew`)
            await asyncio.sleep(max(0.0, due - self._clock()))
            if not await self.refresh() and self.can_refresh:
                left = (self.expires_at or 0.0) - self._clock()
                await asyncio.sleep(max(1.0, min(RETRY_AFTER_FAILURE, left / 2)))

    def rejection_hint(self) -> str:
        """What to tell a user whose token was refused (no secret in it)."""
        parts = []
        now = self._clock()
        if self.expires_at is not None and self.expires_at <= now:
            parts.append(f"the token expired at {utc(self.expires_at)}")
        if self._refresh_token is None:
            parts.append("there is no refresh token to renew it")
        elif self.last_error:
            parts.append(f"renewing it failed: {self.last_error}")
        if self.login_hint:
            parts.append(self.login_hint)
        return "; ".join(parts)


# --- for the stream client (stream.py): a Bearer token taken from a keeper, per connection ---


def auth_headers(tokens: TokenKeeper | None, credentials: dict[str, str]) -> dict[str, str]:
    """The credential headers of one connection: the keeper's current token when the stream
    authenticates with a Bearer token, else `credentials` as they are."""
    if tokens is not None and "Authorization" in credentials:
        return {"Authorization": f"Bearer {tokens.token}"}
    return credentials


async def renew_once(
    tokens: TokenKeeper | None, sent: Mapping[str, object], already: bool = False
) -> bool:
    """A 401 for the request whose headers were `sent`: True when a newer token is there to try
    (never twice for one connection attempt, `already`; and only for a token the request
    carried: a redirect to another origin carried none)."""
    header = sent.get("Authorization")
    if tokens is None or already or not isinstance(header, str):
        return False
    return await tokens.renew(header.removeprefix("Bearer "))


def rejection_hint(tokens: TokenKeeper | None, credentials: dict[str, str]) -> str:
    """`: the token expired at ...; log in again: ...` for a refused Bearer token, or ""."""
    if tokens is None or "Authorization" not in credentials:
        return ""
    hint = tokens.rejection_hint()
    return f": {hint}" if hint else ""
