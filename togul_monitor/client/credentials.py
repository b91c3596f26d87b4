"""Which credential opens the stream: decided here once, for the monitor and the stream client.

A key of sdk or stream scope gives exactly its environment's stream, so it wins over an
organisation-wide Bearer token (which then serves only for listing flags). A server-scope key
(`tgl_srv_`) cannot open the stream (403), so with a token beside it the token streams. With
nothing better, whatever key there is is sent: the server's refusal then says what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from togul_monitor.protocol import KEY_PREFIXES


class HasCredentials(Protocol):
    """A `Profile`, or `Offered` for callers that hold the two secrets only."""

    @property
    def api_key(self) -> str | None: ...

    @property
    def token(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Offered:
    api_key: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class StreamCredentials:
    """At most one of the two is set."""

    api_key: str | None = field(default=None, repr=False)  # X-API-Key: one environment
    token: str | None = field(default=None, repr=False)  # Bearer: the whole organisation

    @property
    def environment_scoped(self) -> bool:
        """The stream carries the key's environment only (False for the org-wide token)."""
        return self.token is None

    @property
    def auth(self) -> str | None:
        """ "api-key" (one environment), "bearer" (the whole organisation) or None."""
        return "api-key" if self.api_key else "bearer" if self.token else None

    def headers(self) -> dict[str, str]:
        if self.api_key:
            return {"X-API-Key": self.api_key}
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        return {}


def key_may_stream(api_key: str | None) -> bool:
    """An API key whose scope may open the stream (sdk or stream, not server)."""
    return api_key is not None and api_key != "" and not api_key.startswith(KEY_PREFIXES["server"])


def stream_credentials(profile: HasCredentials, *, token_allowed: bool = True) -> StreamCredentials:
    """The credential the stream authenticates with.

    `token_allowed=False` keeps the token off the stream even when the key cannot stream (the
    monitor does so when the token's environment lookup failed: an org-wide stream of an
    unknown environment could not be told apart by environment).
    """
    api_key, token = profile.api_key or None, profile.token or None
    if token and token_allowed and not key_may_stream(api_key):
        return StreamCredentials(token=token)
    if api_key:
        return StreamCredentials(api_key=api_key)
    return StreamCredentials()


def key_may_evaluate(api_key: str | None) -> bool:
    """An API key whose scope may evaluate (not a `tgl_str_` stream key). Here, not beside the
    probe (client/environment_check.py): the TUI asks it before its first frame, without httpx."""
    return bool(api_key) and not (api_key or "").startswith(KEY_PREFIXES["stream"])
