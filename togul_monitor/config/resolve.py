"""Which server a command talks to: from `--demo`, `--url`, `--profile`, the environment, the file.

Resolution order of `open_target` (the first that applies wins):

1. `--demo`: the built-in `demo-production` (`--environment staging` picks `demo-staging`).
2. `--url URL` (with `--api-key`/`--token`, or TOGUL_API_KEY / TOGUL_TOKEN): an ad-hoc profile,
   not saved; its environment key is `--environment` or "" (enough to stream; evaluate needs it).
3. A profile name: `--profile NAME`, else TOGUL_MONITOR_PROFILE, else the file's
   `default_profile`, else the only profile in the file.
4. No name and TOGUL_BASE_URL set: an ad-hoc profile from the TOGUL_* variables.
5. No profile at all: the demo.

For a profile from the file, values come with this precedence: command-line options, then the
TOGUL_BASE_URL / TOGUL_API_KEY / TOGUL_TOKEN variables, then the file. Built-in demo profiles
ignore those variables (they point at the embedded emulator whatever the shell says).

The profile file is read and validated on every call, even for `--demo`: a broken file is
reported (exit 2) by every command, never silently skipped.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import urlsplit

from togul_monitor import demo
from togul_monitor.config.entry import ProfilesConfig
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.profiles import Profile, load_config, load_keymap
from togul_monitor.config.validate import check_url, did_you_mean

__all__ = ["list_profiles", "load_keymap", "open_target", "resolve_profile"]

PROFILE_VARIABLE = "TOGUL_MONITOR_PROFILE"
URL_VARIABLE = "TOGUL_BASE_URL"
API_KEY_VARIABLE = "TOGUL_API_KEY"
TOKEN_VARIABLE = "TOGUL_TOKEN"


def _env(name: str, environ: Mapping[str, str]) -> str | None:
    return environ.get(name) or None  # an empty variable counts as unset


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
    changes: dict[str, object] = {}
    if url:
        problem = check_url(url, allow_insecure=profile.allow_insecure)
        if problem:
            raise ConfigError(problem, profile=profile.name, key=url_source)
        changes["base_url"] = url
    api_key = api_key or _env(API_KEY_VARIABLE, env)
    if api_key:
        changes["api_key"] = api_key
    token = token or _env(TOKEN_VARIABLE, env)
    if token:
        changes["token"] = token
    if environment is not None:
        if not environment.strip():
            raise ConfigError("--environment must not be empty", profile=profile.name)
        changes["environment_key"] = environment.strip()
    return dataclasses.replace(profile, **changes) if changes else profile


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
    api_key = api_key or _env(API_KEY_VARIABLE, env)
    token = token or _env(TOKEN_VARIABLE, env)
    if not api_key and not token:
        raise ConfigError(
            f"{source} needs a credential: --api-key or --token "
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
    )


def list_profiles(config: ProfilesConfig | None = None) -> list[Profile]:
    """The file's profiles (in file order), then the two built-in demo profiles.

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
    return profiles + demo.demo_profiles()


def resolve_profile(name: str, config: ProfilesConfig | None = None) -> Profile:
    """The profile `name`, ready to connect (ConfigError when it cannot be).

    For a demo profile this starts the embedded emulator (once per process) and keeps it
    running until the process exits. File profiles get the TOGUL_* variable overrides.
    """
    if demo.is_demo_profile(name):
        return demo.demo_profile(name, demo.ensure_running())
    config = config or load_config()
    entry = config.profiles.get(name)
    if entry is None:
        known = [*config.profiles, *demo.DEMO_PROFILES]
        raise ConfigError(
            f"no profile named {name!r}{did_you_mean(name, known)}",
            file=config.path if config.exists else None,
            hint="`togul-monitor profiles list` shows the profiles",
        )
    return apply_overrides(entry.resolve(file=config.path))


def choose_profile_name(
    config: ProfilesConfig, profile_name: str | None, environ: Mapping[str, str] | None = None
) -> str | None:
    """The profile a command uses when no --demo/--url is given (None: ad-hoc or demo)."""
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
    return "demo-production"


@contextmanager
def open_target(
    *,
    demo: bool = False,
    profile_name: str | None = None,
    url: str | None = None,
    api_key: str | None = None,
    token: str | None = None,
    environment: str | None = None,
) -> Iterator[Profile]:
    """Resolve the command's target; for a demo profile, run the embedded emulator meanwhile."""
    from togul_monitor import demo as demo_module  # the parameter shadows the module

    config = load_config()  # a broken file is an error for every command
    if sum(bool(x) for x in (demo, profile_name, url)) > 1:
        raise ConfigError("give only one of --demo, --profile and --url")
    if demo:
        name: str | None = _demo_name(environment)
    elif url:
        name = None
    else:
        name = choose_profile_name(config, None if url else profile_name)
    if name is not None and demo_module.is_demo_profile(name):
        if api_key or token or (environment and not demo):
            raise ConfigError(
                "the demo profiles take no --api-key, --token or --environment",
                profile=name,
                hint="use --demo --environment staging for the staging demo",
            )
        with demo_module.demo_session() as server:
            yield demo_module.demo_profile(name, server)
        return
    if name is None:
        profile = adhoc_profile(url=url, api_key=api_key, token=token, environment=environment)
    else:
        entry = config.profiles.get(name)
        if entry is None:
            known = [*config.profiles, *demo_module.DEMO_PROFILES]
            raise ConfigError(
                f"no profile named {name!r}{did_you_mean(name, known)}",
                file=config.path if config.exists else None,
                hint="`togul-monitor profiles list` shows the profiles",
            )
        profile = apply_overrides(
            entry.resolve(file=config.path),
            api_key=api_key,
            token=token,
            environment=environment,
        )
    yield profile


def _demo_name(environment: str | None) -> str:
    if not environment:
        return "demo-production"
    for name, env_key in demo.DEMO_PROFILES.items():
        if env_key == environment.strip():
            return name
    raise ConfigError(
        f"the demo has no environment {environment!r}{did_you_mean(environment, list(demo.DEMO_PROFILES.values()))}"
    )
