"""Strict validation of `profiles.toml`, with errors that say exactly what and where.

Every error names the file, the profile and the key, and the line when it can be found in the
source text (tomllib keeps no positions, so `line_of` in validate_lines.py looks the table and
key up in the text). The named contexts are checked in validate_context.py.
Unknown keys get the nearest valid name. No error message ever contains a credential's value:
only key names, types, variable names and URLs with any user:password part removed.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from togul_monitor.config.entry import (
    DEFAULT_HEARTBEAT_SECONDS,
    DEFAULT_MAX_FLAGS,
    MAX_MAX_FLAGS,
    SECRET_PAIRS,
    TIME_MODES,
    ProfileEntry,
    ProfilesConfig,
)
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.keymap import BINDING_IDS, keymap_problems
from togul_monitor.config.validate_context import check_contexts
from togul_monitor.config.validate_lines import line_of
from togul_monitor.support.journal_url import JournalUrlError, parse_journal_url
from togul_monitor.support.kinds import value_kind
from togul_monitor.support.text import credential_problem, safe_text

TOP_LEVEL_KEYS: tuple[str, ...] = ("default_profile", "time_mode", "profiles", "keymap")
PROFILE_KEYS: tuple[str, ...] = (
    "base_url",
    "environment_key",
    "api_key",
    "api_key_env",
    "token",
    "token_env",
    "refresh_token",
    "refresh_token_env",
    "context",
    "contexts",
    "watch",
    "heartbeat_seconds",
    "allow_insecure",
    "max_flags",
    "journal_url",
    "journal_url_env",
)
BUILTIN_NAMES: tuple[str, ...] = ("demo-production", "demo-staging")
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
_VARIABLE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
MAX_HEARTBEAT_SECONDS = 3600.0


def did_you_mean(name: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _type_name(value: object) -> str:
    return value_kind(value, mapping="a table")


# --- values ---------------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def display_url(url: str) -> str:
    """`url` safe to print, the one way a base URL is shown (the CLI, the TUI, errors): any
    user:password part removed, a ?query or #fragment (a token may ride there) shown as `?…` or
    `#…`, control characters escaped."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rsplit("@", 1)[-1]
        query, fragment = ("…" if part else "" for part in (parts.query, parts.fragment))
        shown = parts._replace(netloc=netloc, query=query, fragment=fragment)
        return safe_text(urlunsplit(shown))
    except ValueError:
        return "(unparsable URL)"


def check_url(url: str, *, allow_insecure: bool) -> str | None:
    """Why `url` is not an acceptable base URL, or None when it is."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        return f"malformed URL {display_url(url)!r}: {exc}"
    if parts.scheme not in ("http", "https"):
        return f"malformed URL {display_url(url)!r}: the scheme must be http or https"
    if not host:
        return f"malformed URL {display_url(url)!r}: no host"
    if parts.query or parts.fragment:
        return f"malformed URL {display_url(url)!r}: a base URL has no ?query or #fragment"
    if any(ch.isspace() for ch in url):
        return f"malformed URL {display_url(url)!r}: it contains whitespace"
    if parts.scheme == "http" and not allow_insecure and not is_loopback(host):
        return (
            f"plain http:// to {safe_text(host)!r} is refused: only loopback hosts may use "
            "http; use https://, or set allow_insecure = true in this profile"
        )
    return None


def check_name(name: str) -> str | None:
    if not _NAME_RE.match(name):
        return (
            "a profile name is 1-64 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit"
        )
    if name in BUILTIN_NAMES:
        return f"{name!r} is a built-in demo profile; choose another name"
    return None


class _Context:
    """Where errors are reported: the file and its text (for line numbers)."""

    def __init__(self, file: Path | None, text: str | None) -> None:
        self.file = file
        self.text = text

    def error(
        self,
        message: str,
        *,
        profile: str | None = None,
        key: str | None = None,
        table: tuple[str, ...] = (),
        hint: str | None = None,
        line_key: str | None = None,
    ) -> ConfigError:
        if line_key is None and key is not None:
            line_key = key.split(".")[0]  # `context.plan` is on the `context = ...` line
        line = line_of(self.text, table, line_key)
        return ConfigError(message, file=self.file, profile=profile, key=key, line=line, hint=hint)


def validate_profile(
    name: str,
    table: Mapping[str, Any],
    *,
    file: Path | None = None,
    text: str | None = None,
) -> ProfileEntry:
    """One `[profiles.NAME]` table as a ProfileEntry, or a ConfigError about the first problem."""
    ctx = _Context(file, text)
    where = ("profiles", name)

    def fail(message: str, key: str | None = None, hint: str | None = None) -> ConfigError:
        return ctx.error(message, profile=name, key=key, table=where, hint=hint)

    problem = check_name(name)
    if problem:
        raise fail(problem)
    if not isinstance(table, Mapping):
        raise fail(f"a profile must be a table, not {_type_name(table)}")
    for key in table:
        if key not in PROFILE_KEYS:
            raise fail(f"unknown key{did_you_mean(key, PROFILE_KEYS)}", key=safe_text(key))

    def string(key: str, *, required: bool = False) -> str | None:
        if key not in table:
            if required:
                raise fail("missing (required)", key)
            return None
        value = table[key]
        if not isinstance(value, str):
            raise fail(f"must be a string, not {_type_name(value)}", key)
        return value

    base_url = string("base_url", required=True) or ""
    environment_key = (string("environment_key", required=True) or "").strip()
    if not environment_key:
        raise fail("must not be empty (the environment key, e.g. 'production')", "environment_key")

    allow_insecure = table.get("allow_insecure", False)
    if not isinstance(allow_insecure, bool):
        raise fail(f"must be true or false, not {_type_name(allow_insecure)}", "allow_insecure")
    problem = check_url(base_url, allow_insecure=allow_insecure)
    if problem:
        raise fail(problem, "base_url")

    creds = {key: string(key) for pair in SECRET_PAIRS for key in pair}
    for literal, indirect in SECRET_PAIRS:
        if creds[literal] is not None and creds[indirect] is not None:
            raise fail(f"give {literal} or {indirect}, not both", indirect)
        value = creds[literal]
        if value is not None and not value:
            raise fail("must not be empty", literal)
        problem = credential_problem(value) if value else None
        if problem:
            raise fail(problem, literal, hint="paste the secret alone, without quotes or breaks")
        variable = creds[indirect]
        if variable is not None and not _VARIABLE_RE.match(variable):
            raise fail(
                f"{safe_text(variable)!r} is not an environment variable name "
                "(letters, digits and '_')",
                indirect,
                hint=f"{indirect} names a variable; put a literal secret in {literal} instead",
            )
    if (creds["refresh_token"] or creds["refresh_token_env"]) and not (
        creds["token"] or creds["token_env"]
    ):
        raise fail(
            "a refresh token renews a token: give token or token_env too",
            "refresh_token" if creds["refresh_token"] else "refresh_token_env",
            hint="`togul-monitor login --profile NAME` stores both",
        )
    if not any(creds.values()):
        raise fail(
            "missing credential: give one of api_key_env, api_key, token_env or token",
            hint='api_key_env = "TOGUL_SDK_KEY" keeps the key itself out of the file',
        )

    context = table.get("context", {})
    if not isinstance(context, Mapping):
        raise fail(f"must be a table of strings, not {_type_name(context)}", "context")
    for ckey, cvalue in context.items():
        if not isinstance(cvalue, str):
            raise fail(f"must be a string, not {_type_name(cvalue)}", f"context.{safe_text(ckey)}")
    contexts = check_contexts(name, table, context=context, file=file, text=text)

    watch = table.get("watch", [])
    if not isinstance(watch, list):
        raise fail(f"must be an array of flag keys, not {_type_name(watch)}", "watch")
    for item in watch:
        if not isinstance(item, str) or not item:
            raise fail("every entry must be a non-empty string (a flag key)", "watch")

    heartbeat = table.get("heartbeat_seconds", DEFAULT_HEARTBEAT_SECONDS)
    if isinstance(heartbeat, bool) or not isinstance(heartbeat, (int, float)):
        raise fail(f"must be a number of seconds, not {_type_name(heartbeat)}", "heartbeat_seconds")
    if not math.isfinite(heartbeat) or not 0 < heartbeat <= MAX_HEARTBEAT_SECONDS:
        raise fail(
            f"must be more than 0 and at most {MAX_HEARTBEAT_SECONDS:g}", "heartbeat_seconds"
        )

    max_flags = table.get("max_flags", DEFAULT_MAX_FLAGS)
    if isinstance(max_flags, bool) or not isinstance(max_flags, int):
        raise fail(f"must be a whole number of flags, not {_type_name(max_flags)}", "max_flags")
    if not 1 <= max_flags <= MAX_MAX_FLAGS:
        raise fail(f"must be at least 1 and at most {MAX_MAX_FLAGS:,}", "max_flags")

    journal_url, journal_url_env = string("journal_url"), string("journal_url_env")
    if journal_url is not None and journal_url_env is not None:
        raise fail("give journal_url or journal_url_env, not both", "journal_url_env")
    if journal_url is not None:
        try:  # read whole, as the store will: a URL is never shown here (it may hold a password)
            parse_journal_url(journal_url)
        except JournalUrlError as exc:
            raise fail(
                f"must be sqlite (the profile's own file), sqlite:///path/to/file or "
                f"postgresql://user@host/db: {exc.reason}",
                "journal_url",
            ) from None
    if journal_url_env is not None and not _VARIABLE_RE.match(journal_url_env):
        raise fail(
            "is not an environment variable name (letters, digits and '_')", "journal_url_env"
        )

    return ProfileEntry(
        name=name,
        base_url=base_url,
        environment_key=environment_key,
        api_key=creds["api_key"],
        api_key_env=creds["api_key_env"],
        token=creds["token"],
        token_env=creds["token_env"],
        refresh_token=creds["refresh_token"],
        refresh_token_env=creds["refresh_token_env"],
        context=dict(context),
        contexts=contexts,
        watch=tuple(watch),
        heartbeat_seconds=float(heartbeat),
        allow_insecure=allow_insecure,
        max_flags=max_flags,
        journal_url=journal_url,
        journal_url_env=journal_url_env,
    )


def _keymap(table: Mapping[str, Any], ctx: _Context) -> dict[str, str]:
    """`[keymap]`: known binding ids (config/keymap.py), valid keys, and no key on two."""

    def fail(binding: str, message: str, hint: str | None = None) -> ConfigError:
        key = f"keymap.{safe_text(binding)}"
        return ctx.error(message, key=key, table=("keymap",), line_key=binding, hint=hint)

    keymap: dict[str, str] = {}
    for binding, keys in table.items():
        if binding not in BINDING_IDS:
            raise fail(
                binding,
                f"unknown binding id{did_you_mean(binding, BINDING_IDS)}",
                hint="`?` in the app lists every binding id",
            )
        if not isinstance(keys, str) or not keys.strip():
            raise fail(binding, 'must be a non-empty string of keys, e.g. "ctrl+f"')
        keymap[binding] = keys
    problems = keymap_problems(keymap)
    if problems:  # the first, as for every other mistake in the file
        binding, problem = problems[0]
        raise fail(binding, safe_text(problem))
    return keymap


def validate_document(data: Mapping[str, Any], *, file: Path, text: str | None) -> ProfilesConfig:
    """The whole parsed file as a ProfilesConfig, or a ConfigError about the first problem."""
    ctx = _Context(file, text)
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise ctx.error(
                f"unknown top-level key{did_you_mean(key, TOP_LEVEL_KEYS)}",
                key=safe_text(key),
                hint="profiles go in [profiles.NAME] tables",
            )
    profiles_table = data.get("profiles", {})
    if not isinstance(profiles_table, Mapping):
        raise ctx.error(
            f"must be a table of profiles, not {_type_name(profiles_table)}", key="profiles"
        )
    profiles = {
        name: validate_profile(name, table, file=file, text=text)
        for name, table in profiles_table.items()
    }

    default = data.get("default_profile")
    if default is not None:
        if not isinstance(default, str):
            raise ctx.error(f"must be a string, not {_type_name(default)}", key="default_profile")
        known = [*profiles, *BUILTIN_NAMES]
        if default not in known:
            raise ctx.error(
                f"no profile named {safe_text(default)!r}{did_you_mean(default, known)}",
                key="default_profile",
            )

    keymap_table = data.get("keymap", {})
    if not isinstance(keymap_table, Mapping):
        raise ctx.error(
            f'must be a table of binding id = "key", not {_type_name(keymap_table)}', key="keymap"
        )
    keymap = _keymap(keymap_table, ctx)
    time_mode = data.get("time_mode")
    if time_mode is not None and time_mode not in TIME_MODES:
        shown = safe_text(repr(time_mode)) if isinstance(time_mode, str) else _type_name(time_mode)
        raise ctx.error(
            f"must be one of {', '.join(map(repr, TIME_MODES))}, not {shown}", key="time_mode"
        )
    return ProfilesConfig(
        path=file,
        exists=True,
        default_profile=default,
        profiles=profiles,
        keymap=keymap,
        time_mode=time_mode,
    )
