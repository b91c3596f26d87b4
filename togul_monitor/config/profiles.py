"""Connection profiles: the model (this block) and the TOML store (below it).

A Profile is resolved: credentials are the actual secrets, already read from the environment
variables the file names, so that everything downstream takes a Profile and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Profile:
    name: str
    base_url: str
    environment_key: str
    api_key: str | None = None  # X-API-Key (sdk or stream scope for the stream, sdk/server for evaluate)
    token: str | None = None  # Bearer JWT: org-wide stream and flag listing
    context: dict[str, str] = field(default_factory=dict)
    watch: tuple[str, ...] = ()
    heartbeat_seconds: float = 30.0
    allow_insecure: bool = False
    builtin: bool = False  # the demo profiles: never written to the file
