"""Who may talk to the world: API keys and their scopes, the org token, bearer tokens from
login and refresh, and the credentials a client needs.

`Auth` shares the world's lock and runtime generator (`World` builds it): ids, salts and tokens
come from one sequence, so a seeded world driven by the same calls makes the same ones.

Token lifetimes (docs/protocol.md, resources and credentials): with a `token_ttl`, every access
token lives that many seconds, the org token included: it is issued when the world starts (a JWT
org token is re-signed with this run's `iat` and `exp`, so its claims tell the truth; any other
text is kept and expires all the same). Without one (`None`, the harness's default) the org
token never expires and login tokens live ACCESS_TOKEN_TTL. The org token comes with a refresh
token of its own (`org_refresh_token`, derived from the token, so a seeded world keeps making
the same one); refreshing rotates it like any other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import threading
from collections.abc import Callable
from typing import Any

import msgspec
import msgspec.structs

from togul_monitor.emulator.errors import unauthorized
from togul_monitor.emulator.jsondoc import parse
from togul_monitor.emulator.model import Organization, User, iso

SCOPES: tuple[str, ...] = ("server", "sdk", "stream")
_SECRET_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
ACCESS_TOKEN_TTL = 3600.0
REFRESH_TOKEN_TTL = 30 * 86400.0


class ApiKey(msgspec.Struct):
    id: str
    project_id: str
    environment_id: str
    name: str
    scope: str
    secret: str
    created_at: float
    revoked_at: float | None = None


class Credentials(msgspec.Struct, frozen=True):
    """What a client needs to talk to this world (secrets: never print them unmasked)."""

    org_token: str
    keys: dict[str, dict[str, str]]  # environment key -> scope -> secret
    environment_ids: dict[str, str]  # environment key -> environment id
    project_id: str
    username: str
    password: str
    org_refresh_token: str = ""  # POST /api/v1/refresh-token with it: a new org session


class _Token(msgspec.Struct):
    kind: str  # "access" or "refresh"
    expires_at: float | None


def jwt_claims(token: str) -> dict[str, Any] | None:
    """The payload of a JWT-shaped token (unverified), or None when it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        raw = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = parse(raw)
    except ValueError:  # not base64, not JSON, or JSON the emulator would not keep
        return None
    return claims if isinstance(claims, dict) else None


def make_jwt(claims: dict[str, Any], key: bytes) -> str:
    """An HS256 JWT, so the org token looks like what Togul hands out."""

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    signature = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


class Auth:
    """The API keys, the org token and the sessions of the world's one user."""

    def __init__(
        self,
        *,
        organization: Organization,
        user: User,
        api_keys: list[ApiKey],
        org_token: str,
        clock: Callable[[], float],
        lock: threading.RLock,
        rng: random.Random,
        seed: int | str,
        token_ttl: float | None = None,
    ) -> None:
        if token_ttl is not None and token_ttl <= 0:
            raise ValueError("token_ttl must be > 0 (None: the org token never expires)")
        self._lock = lock
        self._rng = rng
        self._clock = clock
        self._organization = organization
        self._user = user
        self._keys = {key.secret: key for key in api_keys}
        self._signing_key = hashlib.sha256(f"togul-emulator:{seed}".encode()).digest()
        self.token_ttl = token_ttl
        now = clock()
        # From the org token as given (the seed's, or a state file's): its refresh token is the
        # same on every run of that seed, though the token is signed anew with each run's time.
        digest = hashlib.sha256(b"togul-emulator-refresh:" + org_token.encode()).hexdigest()
        expires_at = None
        if token_ttl is not None:
            expires_at = now + token_ttl
            claims = jwt_claims(org_token)
            if claims is not None:
                claims.update(iat=int(now), exp=int(expires_at))
                org_token = make_jwt(claims, self._signing_key)
        self.org_token = org_token
        self._tokens: dict[str, _Token] = {org_token: _Token("access", expires_at)}
        self.org_refresh_token = "tgl_rt_" + digest[:40]
        self._tokens[self.org_refresh_token] = _Token("refresh", now + REFRESH_TOKEN_TTL)

    # -- API keys ------------------------------------------------------------------------------
    def api_key(self, secret: str | None) -> ApiKey:
        """The live key for `secret`; 401 when missing, unknown or revoked."""
        if not secret:
            raise unauthorized("Missing API key")
        with self._lock:
            key = self._keys.get(secret)
            if key is None or key.revoked_at is not None:
                raise unauthorized("Invalid or revoked API key")
            return key

    def api_keys(self) -> list[ApiKey]:
        """Copies of every key, revoked ones included."""
        with self._lock:
            return [msgspec.structs.replace(key) for key in self._keys.values()]

    def revoke_key(self, secret: str) -> bool:
        """Mark a key revoked; returns whether it existed. (Closing streams: faults.py.)"""
        with self._lock:
            key = self._keys.get(secret)
            if key is None:
                return False
            key.revoked_at = self._clock()
            return True

    # -- bearer tokens -------------------------------------------------------------------------
    def check_token(self, token: str | None) -> None:
        """Accept the org token or an unexpired access token; 401 otherwise."""
        if not token:
            raise unauthorized("Missing bearer token")
        with self._lock:
            info = self._tokens.get(token)
            if info is None or info.kind != "access":
                raise unauthorized("Invalid or expired token")
            if info.expires_at is not None and info.expires_at <= self._clock():
                raise unauthorized("Invalid or expired token")

    def login(self, username: str, password: str) -> dict[str, Any]:
        with self._lock:
            if username != self._user.email or password != self._user.password:
                raise unauthorized("Invalid username or password")
            return self._session()

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        with self._lock:
            info = self._tokens.get(refresh_token)
            if (
                info is None
                or info.kind != "refresh"
                or (info.expires_at is not None and info.expires_at <= self._clock())
            ):
                raise unauthorized("Invalid or expired refresh token")
            del self._tokens[refresh_token]  # rotation: the old refresh token dies at once
            return self._session()

    def _mint(self, kind: str, ttl: float) -> str:
        now = self._clock()
        if kind == "refresh":
            token = "tgl_rt_" + "".join(self._rng.choice(_SECRET_ALPHABET) for _ in range(40))
        else:
            token = make_jwt(
                {
                    "sub": self._user.id,
                    "org": self._organization.id,
                    "iat": int(now),
                    "exp": int(now + ttl),
                    "jti": f"{self._rng.getrandbits(64):016x}",
                },
                self._signing_key,
            )
        self._tokens[token] = _Token(kind, now + ttl)
        return token

    def _session(self) -> dict[str, Any]:
        org = {
            "id": self._organization.id,
            "slug": self._organization.slug,
            "name": self._organization.name,
            "role": "owner",
        }
        created = iso(self._user.created_at)
        return {
            "token": self._mint("access", self.token_ttl or ACCESS_TOKEN_TTL),
            "refresh_token": self._mint("refresh", REFRESH_TOKEN_TTL),
            "user": {
                "id": self._user.id,
                "name": self._user.name,
                "email": self._user.email,
                "role": "owner",
                "email_verified_at": created,
                "created_at": created,
                "updated_at": created,
            },
            "current_organization": org,
            "organizations": [org],
        }
