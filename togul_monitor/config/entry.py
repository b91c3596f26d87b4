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

import msgspec

from togul_monitor.config.errors import ConfigError
from togul_monitor.support.journal_url import JournalUrlError, parse_journal_url
from togul_monitor.support.known_secrets import remember_secret
from togul_monitor.support.text import (
    credential_problem,
    mask_secret,
    safe_text,
)

DEFAULT_HEARTBEAT_SECONDS = 30.0
#: The name of the single `context` table among a profile's contexts (domain/values.py has the
#: same word as DEFAULT_CONTEXT: the config stage may not import the domain).
DEFAULT_CONTEXT_NAME = "default"
#: Flag keys come from the server: one that names ever new keys must not cost an evaluate
#: request and a cached value each, so a monitor holds at most this many flags (watched ones
#: always); events of the others are shown and counted, not evaluated.
DEFAULT_MAX_FLAGS = 10_000
MAX_MAX_FLAGS = 1_000_000
#: A profile evaluates every monitored flag once per context (requests grow with them).
MAX_CONTEXTS = 8
#: What a context may be called: it names a column, a `--context` option and journal rows.
CONTEXT_NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}"
#: How the TUI shows times (`t` cycles them; top-level `time_mode` in profiles.toml keeps one).
TIME_MODES: tuple[str, ...] = ("local", "utc", "relative")

#: The credential keys of a profile, in the file's documented order: each secret is a literal
#: (`api_key`) or the name of the variable that holds it (`api_key_env`), never both.
SECRET_PAIRS: tuple[tuple[str, str], ...] = (
    ("api_key", "api_key_env"),
    ("token", "token_env"),
    ("refresh_token", "refresh_token_env"),
)
SECRET_KEYS: tuple[str, ...] = tuple(k for pair in SECRET_PAIRS for k in reversed(pair))


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
    # refresh_token: renews the token before it expires (POST /api/v1/refresh-token).
    refresh_token: str | None = field(default=None, repr=False)
    context: dict[str, str] = field(default_factory=dict)
    # Named contexts (`[profiles.NAME.contexts]`), in the file's order; see `evaluation_contexts`.
    contexts: dict[str, dict[str, str]] = field(default_factory=dict)
    watch: tuple[str, ...] = ()
    heartbeat_seconds: float = DEFAULT_HEARTBEAT_SECONDS
    allow_insecure: bool = False
    max_flags: int = DEFAULT_MAX_FLAGS
    # Where the journal is (store/url.py): None for the profile's own SQLite file, else a
    # `sqlite:///path` or `postgresql://` URL, read from `journal_url_env` when the file names one.
    journal_url: str | None = field(default=None, repr=False)  # repr: it may hold a password
    builtin: bool = False  # the demo profiles: never written to the file
    # Known environment_id -> environment key (the demo knows its own; empty when unknown), so
    # `env:production` filters and environment columns work before any API call.
    environment_names: dict[str, str] = field(default_factory=dict)
    # The profiles.toml this profile was read from, and which of its secrets are literals there
    # ("token", "refresh_token"): a rotated token is written back only where it came from.
    source_file: Path | None = None
    file_literals: frozenset[str] = frozenset()
    # The variable the refresh token was read from (`refresh_token_env`): a rotation spends it,
    # and the new one cannot be written there, so the monitor says so (core/tokens.py).
    refresh_token_env: str | None = None
    # Made from a command's --url (config/resolve.py `adhoc_profile`): no file to add a key to,
    # so what is missing is asked for as the command's option or variable (core/plan.py).
    adhoc: bool = False

    def __post_init__(self) -> None:
        # The run holds these now: masked wherever server or exception text is shown.
        remember_secret(self.api_key, self.token, self.refresh_token)

    @property
    def read_timeout(self) -> float:
        """How long a silent stream may stay open: three missed heartbeats."""
        return 3.0 * self.heartbeat_seconds

    @property
    def evaluation_contexts(self) -> dict[str, dict[str, str]]:
        """Every context the profile evaluates for, name → attributes, in order.

        The single `context` is the one named `default`; it comes first when named contexts
        exist too, and is left out when it is empty and named ones exist (an empty context is
        nobody's user). A profile with neither has one empty `default` context.
        """
        return evaluation_contexts(self.context, self.contexts)


def evaluation_contexts(
    context: Mapping[str, str], contexts: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, str]]:
    """A profile's contexts, name → attributes, in order (`Profile.evaluation_contexts`): the
    single `context` as `default`, first, left out when empty beside named ones."""
    if not contexts:
        return {DEFAULT_CONTEXT_NAME: dict(context)}
    found: dict[str, dict[str, str]] = {}
    if context:
        found[DEFAULT_CONTEXT_NAME] = dict(context)
    for name, attributes in contexts.items():
        found[name] = dict(attributes)
    return found


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
    contexts: dict[str, dict[str, str]] = field(default_factory=dict)
    watch: tuple[str, ...] = ()
    heartbeat_seconds: float = DEFAULT_HEARTBEAT_SECONDS
    allow_insecure: bool = False
    refresh_token: str | None = field(default=None, repr=False)
    refresh_token_env: str | None = None
    max_flags: int = DEFAULT_MAX_FLAGS
    journal_url: str | None = field(default=None, repr=False)  # repr: it may hold a password
    journal_url_env: str | None = None

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
        if self.refresh_token_env:
            parts.append(f"refresh token ${self.refresh_token_env}")
        elif self.refresh_token:
            parts.append(f"refresh token {mask_secret(self.refresh_token)}")
        return ", ".join(parts) if parts else "(no credential)"

    def to_table(self) -> dict[str, object]:
        """The TOML table for this entry, keys in the documented order, defaults left out."""
        table: dict[str, object] = {
            "base_url": self.base_url,
            "environment_key": self.environment_key,
        }
        for key in SECRET_KEYS:
            value = getattr(self, key)
            if value is not None:
                table[key] = value
        if self.context:
            table["context"] = dict(self.context)
        if self.contexts:
            table["contexts"] = {name: dict(attrs) for name, attrs in self.contexts.items()}
        if self.watch:
            table["watch"] = list(self.watch)
        if self.heartbeat_seconds != DEFAULT_HEARTBEAT_SECONDS:
            table["heartbeat_seconds"] = self.heartbeat_seconds
        if self.allow_insecure:
            table["allow_insecure"] = True
        if self.max_flags != DEFAULT_MAX_FLAGS:
            table["max_flags"] = self.max_flags
        if self.journal_url is not None:
            table["journal_url"] = self.journal_url
        if self.journal_url_env is not None:
            table["journal_url_env"] = self.journal_url_env
        return table

    def resolve_journal_url(
        self, environ: Mapping[str, str] | None = None, *, file: Path | None = None
    ) -> str | None:
        """The journal URL alone, strictly (`history`, `export`: they need no credential, so
        the key's variables may be unset): an unset or empty `journal_url_env` variable, or a
        URL in it that names no journal, is a ConfigError, never a silent fall back to the
        profile's own SQLite file. The message never shows the URL."""
        if not self.journal_url_env:
            return self.journal_url
        env = os.environ if environ is None else environ
        url = _read_variable(env, self.journal_url_env, self.name, "journal_url_env", file, True)
        try:
            parse_journal_url(url)
        except JournalUrlError as exc:
            raise ConfigError(
                f"environment variable {safe_text(self.journal_url_env)}: {exc.reason}",
                file=file,
                profile=self.name,
                key="journal_url_env",
            ) from None
        return url

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
        secrets: dict[str, str | None] = {}
        for literal, indirect in SECRET_PAIRS:
            variable = getattr(self, indirect)
            secrets[literal] = getattr(self, literal)
            if variable:
                secrets[literal] = _read_variable(env, variable, self.name, indirect, file, strict)
        literals = frozenset(k for k, _ in SECRET_PAIRS if getattr(self, k) is not None)
        journal_url = self.journal_url
        if self.journal_url_env:
            journal_url = _read_variable(
                env, self.journal_url_env, self.name, "journal_url_env", file, strict
            )
        return Profile(
            name=self.name,
            base_url=self.base_url,
            environment_key=self.environment_key,
            api_key=secrets["api_key"],
            token=secrets["token"],
            refresh_token=secrets["refresh_token"],
            context=dict(self.context),
            contexts={name: dict(attrs) for name, attrs in self.contexts.items()},
            watch=tuple(self.watch),
            heartbeat_seconds=self.heartbeat_seconds,
            allow_insecure=self.allow_insecure,
            max_flags=self.max_flags,
            journal_url=journal_url,
            source_file=file,
            file_literals=literals if file is not None else frozenset(),
            refresh_token_env=self.refresh_token_env if secrets["refresh_token"] else None,
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
    # A journal URL may hold a blank or a non-ASCII character (a path, a password): it goes in
    # no header. A key or a token never does.
    check = _journal_url_problem if key == "journal_url_env" else credential_problem
    problem = check(value)
    if problem and strict:
        raise ConfigError(
            f"environment variable {safe_text(variable)} {problem}",
            file=file,
            profile=profile,
            key=key,
            hint=f"set {safe_text(variable)} to the secret alone (no newline, no quotes)",
        )
    return None if problem else value


class ProfilesConfig(msgspec.Struct, frozen=True):
    """Everything `profiles.toml` says, validated."""

    path: Path
    exists: bool
    default_profile: str | None = None
    profiles: dict[str, ProfileEntry] = msgspec.field(default_factory=dict)
    keymap: dict[str, str] = msgspec.field(default_factory=dict)
    time_mode: str | None = None  # the TUI's `t` (one of TIME_MODES); None: not set


def _journal_url_problem(url: str) -> str | None:
    """Why `url` cannot be a journal URL read from a variable: a control character (a newline
    pasted with it); what else it names is checked when it is opened."""
    bad = next((at for at, char in enumerate(url, start=1) if not char.isprintable()), None)
    return None if bad is None else f"contains a control character at character {bad}"
