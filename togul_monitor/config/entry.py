"""The configuration's data types: a connection profile, as the file states it and resolved.

`ProfileEntry` keeps the indirections (`api_key_env = "VAR"`) that `Profile` has already
resolved; `entry.resolve()` turns one into the other, reading the variables. Listing and editing
work on entries, so that nothing but a connecting command ever needs the secret itself.

The bottom of the configuration stage: it imports nothing of the stage but errors.py, so the
checks (validate.py), the file (profiles.py) and the precedence rules (resolve.py) all build on
it without importing one another in a circle.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from togul_monitor.config.errors import ConfigError
from togul_monitor.support.text import mask_secret, safe_text

DEFAULT_HEARTBEAT_SECONDS = 30.0


@dataclass(frozen=True)
class Profile:
    """A resolved profile: the credentials are the secrets themselves, already read from the
    environment variables the file names, so everything downstream takes a Profile only."""

    name: str
    base_url: str
    environment_key: str
    # repr=False: a Profile printed in a log line or a traceback never shows a secret.
    # api_key: X-API-Key (sdk or stream scope for the stream, sdk/server for evaluate).
    api_key: str | None = field(default=None, repr=False)
    # token: Bearer JWT: org-wide stream and flag listing.
    token: str | None = field(default=None, repr=False)
    context: dict[str, str] = field(default_factory=dict)
    watch: tuple[str, ...] = ()
    heartbeat_seconds: float = DEFAULT_HEARTBEAT_SECONDS
    allow_insecure: bool = False
    builtin: bool = False  # the demo profiles: never written to the file
    # Known environment_id -> environment key (the demo knows its own; empty when unknown), so
    # `env:production` filters and environment columns work before any API call.
    environment_names: dict[str, str] = field(default_factory=dict)

    @property
    def read_timeout(self) -> float:
        """How long a silent stream may stay open: three missed heartbeats."""
        return 3.0 * self.heartbeat_seconds


@dataclass(frozen=True)
class ProfileEntry:
    name: str
    base_url: str
    environment_key: str
    api_key: str | None = field(default=None, repr=False)  # repr: never print a secret
    api_key_env: str | None = None
    token: str | None = field(default=None, repr=False)
    token_env: str | None = None
    context: dict[str, str] = field(default_factory=dict)
    watch: tuple[str, ...] = ()
    heartbeat_seconds: float = DEFAULT_HEARTBEAT_SECONDS
    allow_insecure: bool = False

    def credential_summary(self) -> str:
        """The credentials as they may be shown: `$VAR` references and masked literals."""
        parts = []
        if self.api_key_env:
            parts.append(f"api key ${self.api_key_env}")
        elif self.api_key:
            parts.append(f"api key {mask_secret(self.api_key)}")
        if self.token_env:
            parts.append(f"token ${self.token_env}")
        elif self.token:
            parts.append(f"token {mask_secret(self.token)}")
        return ", ".join(parts) if parts else "(no credential)"

    def to_table(self) -> dict[str, object]:
        """The TOML table for this entry, keys in the documented order, defaults left out."""
        table: dict[str, object] = {
            "base_url": self.base_url,
            "environment_key": self.environment_key,
        }
        for key in ("api_key_env", "api_key", "token_env", "token"):
            value = getattr(self, key)
            if value is not None:
                table[key] = value
        if self.context:
            table["context"] = dict(self.context)
        if self.watch:
            table["watch"] = list(self.watch)
        if self.heartbeat_seconds != DEFAULT_HEARTBEAT_SECONDS:
            table["heartbeat_seconds"] = self.heartbeat_seconds
        if self.allow_insecure:
            table["allow_insecure"] = True
        return table

    def resolve(
        self,
        environ: Mapping[str, str] | None = None,
        *,
        file: Path | None = None,
        strict: bool = True,
    ) -> Profile:
        """The Profile with its secrets read from the environment variables the entry names.

        An unset variable is a ConfigError, or (strict=False, for listings) leaves that secret None.
        """
        env = os.environ if environ is None else environ
        api_key = self.api_key
        if self.api_key_env:
            api_key = _read_variable(env, self.api_key_env, self.name, "api_key_env", file, strict)
        token = self.token
        if self.token_env:
            token = _read_variable(env, self.token_env, self.name, "token_env", file, strict)
        return Profile(
            name=self.name,
            base_url=self.base_url,
            environment_key=self.environment_key,
            api_key=api_key,
            token=token,
            context=dict(self.context),
            watch=tuple(self.watch),
            heartbeat_seconds=self.heartbeat_seconds,
            allow_insecure=self.allow_insecure,
        )


def _read_variable(
    env: Mapping[str, str], variable: str, profile: str, key: str, file: Path | None, strict: bool
) -> str | None:
    value = env.get(variable)
    if not value and not strict:
        return None
    if not value:
        state = "is empty" if value == "" else "is not set"
        raise ConfigError(
            f"environment variable {safe_text(variable)} {state}",
            file=file,
            profile=profile,
            key=key,
            hint=f"export {safe_text(variable)}=... before starting togul-monitor",
        )
    return value


@dataclass(frozen=True)
class ProfilesConfig:
    """Everything `profiles.toml` says, validated."""

    path: Path
    exists: bool
    default_profile: str | None = None
    profiles: dict[str, ProfileEntry] = field(default_factory=dict)
    keymap: dict[str, str] = field(default_factory=dict)
