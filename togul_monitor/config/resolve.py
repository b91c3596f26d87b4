"""Which server a command talks to: from `--demo`, `--url`, `--profile`, the environment, the file.

Resolution order of `open_target` (the first that applies wins):

1. `--demo`: the built-in `demo-production` (`--environment staging` picks `demo-staging`).
2. `--url URL` (with `--api-key-file`/`--token-file`, or TOGUL_API_KEY / TOGUL_TOKEN): an
   ad-hoc profile, not saved; its environment key is `--environment` or "" (enough to stream;
   evaluate needs it).
3. A profile name: `--profile NAME`, else TOGUL_MONITOR_PROFILE, else the file's
   `default_profile`, else the only profile in the file.
4. No name and TOGUL_BASE_URL set: an ad-hoc profile from the TOGUL_* variables.
5. No profile at all: the demo for the TUI (`demo_fallback`); an error for every other command
   (a script must never take the demo's answers for its server's).

For a profile from the file, values come with this precedence: command-line options, then the
TOGUL_BASE_URL / TOGUL_API_KEY / TOGUL_TOKEN variables, then the file. Built-in demo profiles
ignore those variables (they point at the embedded emulator whatever the shell says).

The profile file is read and validated on every call: a broken file is reported (exit 2) by
every command, never silently skipped. `--demo` alone needs no file: it reports the broken file
on stderr and starts all the same.

Secrets given on the command line or in the TOGUL_* variables are checked as the file's are
(no control character, nothing but printable ASCII): one that could never be sent in a header
is a configuration error naming where it came from, not a stream that retries for ever.

Profiles that are not in the file (the demo's) come from profile sources a higher layer
registers with `register_profile_source`: the demo needs the emulator, which this stage must not
import, so `togul_monitor.demo` offers itself and the command line registers it at start.
Without a registered source, names, listings and `--demo` simply have no built-in profiles.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol
from urllib.parse import urlsplit

from togul_monitor.config.entry import Profile, ProfilesConfig
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.paths import profiles_file
from togul_monitor.config.profiles import load_config, load_keymap
from togul_monitor.config.validate import check_url, did_you_mean
from togul_monitor.support.text import credential_problem

__all__ = [
    "DEMO_SOURCE",
    "ProfileSource",
    "adhoc_profile",
    "apply_overrides",
    "choose_profile_name",
    "choose_target",
    "list_profiles",
    "load_keymap",
    "open_target",
    "register_profile_source",
    "resolve_profile",
]

PROFILE_VARIABLE = "TOGUL_MONITOR_PROFILE"
URL_VARIABLE = "TOGUL_BASE_URL"
API_KEY_VARIABLE = "TOGUL_API_KEY"
TOKEN_VARIABLE = "TOGUL_TOKEN"


# --- built-in profiles ----------------------------------------------------------------------


class ProfileSource(Protocol):
    """Profiles that live outside `profiles.toml` (the demo's), built by a higher layer."""

    def names(self) -> Mapping[str, str]:
        """Profile name -> environment key, in the order listings show them."""
        ...

    def listed(self) -> list[Profile]:
        """The profiles for showing a list: starts nothing (a placeholder URL is fine)."""
        ...

    def pinned(self, name: str) -> Profile:
        """The profile `name` ready to connect, kept usable until the process exits."""
        ...

    def session(self, name: str) -> AbstractContextManager[Profile]:
        """The profile `name` ready to connect for the duration of a block."""
        ...


#: The source `--demo` opens, and the one whose first profile a fresh machine opens.
DEMO_SOURCE = "demo"

_SOURCES: dict[str, ProfileSource] = {}


def register_profile_source(key: str, source: ProfileSource) -> None:
    """Offer `source`'s profiles to every lookup and listing below (again: replaces it)."""
    _SOURCES[key] = source


def _source_of(name: str) -> tuple[str, ProfileSource] | None:
    for key, source in _SOURCES.items():
        if name in source.names():
            return key, source
    return None


def _builtin_names() -> list[str]:
    return [name for source in _SOURCES.values() for name in source.names()]


def _demo_source() -> ProfileSource:
    source = _SOURCES.get(DEMO_SOURCE)
    if source is None:
        raise ConfigError("the built-in demo is not available here")
    return source


def _unknown_profile(name: str, config: ProfilesConfig) -> ConfigError:
    known = [*config.profiles, *_builtin_names()]
    return ConfigError(
        f"no profile named {name!r}{did_you_mean(name, known)}",
        file=config.path if config.exists else None,
        hint="`togul-monitor profiles list` shows the profiles",
    )


def _env(name: str, environ: Mapping[str, str]) -> str | None:
    return environ.get(name) or None  # an empty variable counts as unset


def _secret(value: str | None, source: str, profile: str | None = None) -> str | None:
    """`value` unless it cannot be sent in a header (a newline, a control character, non-ASCII):
    then a ConfigError naming where it came from (never the value)."""
    problem = credential_problem(value) if value else None
    if problem:
        raise ConfigError(f"the secret given by {source} {problem}", profile=profile, key=source)
    return value


def _given(
    option: str | None,
    option_name: str,
    variable: str,
    environ: Mapping[str, str],
    profile: str | None = None,
) -> str | None:
    """A secret from the command line, else from the TOGUL_* variable, checked."""
    if option:
        return _secret(option, option_name, profile)
    return _secret(_env(variable, environ), variable, profile)


def apply_overrides(
    profile: Profile,
    *,
    url: str | None = None,
    api_key: str | None = None,
    token: str | None = None,
    environment: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Profile:
    """`profile` with the command-line values, else the TOGUL_* variables, put over it."""
    env = os.environ if environ is None else environ
    url_source = "--url" if url else URL_VARIABLE
    url = url or _env(URL_VARIABLE, env)
    if url:
        problem = check_url(url, allow_insecure=profile.allow_insecure)
        if problem:
            raise ConfigError(problem, profile=profile.name, key=url_source)
    if environment is not None and not environment.strip():
        raise ConfigError("--environment must not be empty", profile=profile.name)
    api_key = _given(api_key, "--api-key", API_KEY_VARIABLE, env, profile.name)
    token = _given(token, "--token", TOKEN_VARIABLE, env, profile.name)
    # A secret given here is not the file's: a rotated token is never written over it.
    literals = profile.file_literals - {"token"} if token else profile.file_literals
    return dataclasses.replace(
        profile,
        base_url=url or profile.base_url,
        api_key=api_key or profile.api_key,
        token=token or profile.token,
        environment_key=profile.environment_key if environment is None else environment.strip(),
        file_literals=literals,
    )


def adhoc_profile(
    *,
    url: str | None,
    api_key: str | None = None,
    token: str | None = None,
    environment: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Profile:
    """A profile for `--url` (or TOGUL_BASE_URL): not saved, named after the host."""
    env = os.environ if environ is None else environ
    source = "--url" if url else URL_VARIABLE
    url = url or _env(URL_VARIABLE, env)
    if not url:
        raise ConfigError("no server URL: give --url or set TOGUL_BASE_URL")
    problem = check_url(url, allow_insecure=False)
    if problem:
        raise ConfigError(
            problem.replace(
                "set allow_insecure = true in this profile",
                "save a profile with allow_insecure = true",
            ),
            key=source,
        )
    api_key = _given(api_key, "--api-key", API_KEY_VARIABLE, env)
    token = _given(token, "--token", TOKEN_VARIABLE, env)
    if not api_key and not token:
        raise ConfigError(
            f"{source} needs a credential: --api-key-file or --token-file "
            f"(or {API_KEY_VARIABLE} / {TOKEN_VARIABLE})"
        )
    parts = urlsplit(url)
    label = f"{parts.hostname}-{parts.port}" if parts.port else f"{parts.hostname}"
    name = "url-" + re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-")
    return Profile(
        name=name[:64],
        base_url=url,
        environment_key=(environment or "").strip(),
        api_key=api_key,
        token=token,
        adhoc=True,
    )


def list_profiles(config: ProfilesConfig | None = None) -> list[Profile]:
    """The file's profiles (in file order), then the built-in ones (the demo's two).

    For showing a list (the TUI's profile switcher): an unset `_env` variable does not fail the
    listing (that secret is None), and the demo emulator is not started (its
    profiles carry a placeholder URL until it runs). To connect, use `resolve_profile(name)`.
    """
    config = config or load_config()
    profiles = []
    for name in config.profiles:
        profile = config.profiles[name].resolve(file=config.path, strict=False)
        try:
            profile = apply_overrides(profile)
        except ConfigError:
            pass
        profiles.append(profile)
    return profiles + [p for source in _SOURCES.values() for p in source.listed()]


def resolve_profile(name: str, config: ProfilesConfig | None = None) -> Profile:
    """The profile `name`, ready to connect (ConfigError when it cannot be).

    For a demo profile this starts the embedded emulator (once per process) and keeps it
    running until the process exits. File profiles get the TOGUL_* variable overrides.
    """
    found = _source_of(name)
    if found is not None:
        return found[1].pinned(name)
    config = config or load_config()
    entry = config.profiles.get(name)
    if entry is None:
        raise _unknown_profile(name, config)
    return apply_overrides(entry.resolve(file=config.path))


def choose_profile_name(
    config: ProfilesConfig,
    profile_name: str | None,
    environ: Mapping[str, str] | None = None,
    *,
    demo_fallback: bool = False,
) -> str | None:
    """The profile a command uses when no --demo/--url is given (None: ad-hoc). With no
    profile at all, the demo when `demo_fallback` (the TUI); for any other command that is an
    error: a script must never take the demo's answers for its server's."""
    env = os.environ if environ is None else environ
    name = profile_name or _env(PROFILE_VARIABLE, env) or config.default_profile
    if name:
        return name
    if _env(URL_VARIABLE, env):
        return None
    if len(config.profiles) == 1:
        return next(iter(config.profiles))
    if config.profiles:
        raise ConfigError(
            "several profiles and no default_profile: say which to use",
            file=config.path,
            hint="use --profile NAME, or `togul-monitor profiles default NAME`",
        )
    if not demo_fallback or DEMO_SOURCE not in _SOURCES:
        raise ConfigError(
            "no profile configured",
            file=config.path,
            hint="add one with `togul-monitor profiles add NAME --url URL ...`",
        )
    return _demo_name(None)


def choose_target(
    config: ProfilesConfig,
    *,
    demo: bool = False,
    profile_name: str | None = None,
    url: str | None = None,
    environment: str | None = None,
    demo_fallback: bool = False,
) -> str | None:
    """The name of the profile a command targets; None for an ad-hoc `--url`/TOGUL_BASE_URL one.

    Names only: nothing is started or connected, so commands that read a profile's files
    (`history`, `export`) choose exactly as the connecting ones do.
    """
    if sum(bool(x) for x in (demo, profile_name, url)) > 1:
        raise ConfigError("give only one of --demo, --profile and --url")
    if demo:
        return _demo_name(environment)
    if url:
        return None
    return choose_profile_name(config, profile_name, demo_fallback=demo_fallback)


@contextmanager
def open_target(
    *,
    demo: bool = False,
    profile_name: str | None = None,
    url: str | None = None,
    api_key: str | None = None,
    token: str | None = None,
    environment: str | None = None,
    demo_fallback: bool = False,
) -> Iterator[Profile]:
    """Resolve the command's target; for a demo profile, run the embedded emulator meanwhile.
    `demo_fallback`: the demo when no profile is configured (the TUI's first start)."""
    try:
        config = load_config()  # a broken file is an error for every command...
    except ConfigError as error:
        if not demo:
            raise
        # ...but `--demo`, which needs no file: it starts, and the file is still reported.
        sys.stderr.write(
            f"togul-monitor: {error}\n  (the demo needs no profile file: starting it)\n"
        )
        sys.stderr.flush()
        config = ProfilesConfig(path=error.file or profiles_file(), exists=False)
    name = choose_target(
        config,
        demo=demo,
        profile_name=profile_name,
        url=url,
        environment=environment,
        demo_fallback=demo_fallback,
    )
    found = _source_of(name) if name is not None else None
    if name is not None and found is not None:
        key, source = found
        if api_key or token or (environment and not demo):
            raise ConfigError(
                f"the {key} profiles take no credential (--api-key-file, --token-file) "
                "or --environment",
                profile=name,
                hint=f"use --{key} --environment KEY for another of its environments",
            )
        with source.session(name) as profile:
            yield profile
        return
    if name is None:
        profile = adhoc_profile(url=url, api_key=api_key, token=token, environment=environment)
    else:
        entry = config.profiles.get(name)
        if entry is None:
            raise _unknown_profile(name, config)
        profile = apply_overrides(
            entry.resolve(file=config.path),
            api_key=api_key,
            token=token,
            environment=environment,
        )
    yield profile


def _demo_name(environment: str | None) -> str:
    """The demo profile for `--demo [--environment KEY]`: the first one, or the KEY's."""
    environments = _demo_source().names()
    if not environment:
        return next(iter(environments))
    for name, env_key in environments.items():
        if env_key == environment.strip():
            return name
    raise ConfigError(
        f"the demo has no environment {environment!r}"
        f"{did_you_mean(environment, list(environments.values()))}"
    )
