"""Which profiles `record` records, resolved ready to connect.

`--profile NAME` (repeatable), `--all` (every profile of profiles.toml, in the file's order, not
the built-in demo ones), `--demo` (both demo profiles, on the one embedded emulator), or none of
them: the group's choice (`togul-monitor --profile b record`), else the profile every command
opens by default (config/resolve.py).

The TOGUL_BASE_URL / TOGUL_API_KEY / TOGUL_TOKEN variables override one profile for every other
command; with several profiles they would point all of them at one server with one key, so then
they are ignored, and the caller is told so to log it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import msgspec

from togul_monitor import demo as demo_module
from togul_monitor.cli.common import Target, open_target
from togul_monitor.config.entry import Profile
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.profiles import load_config
from togul_monitor.config.resolve import (
    API_KEY_VARIABLE,
    TOKEN_VARIABLE,
    URL_VARIABLE,
    choose_profile_name,
)

OVERRIDES = (URL_VARIABLE, API_KEY_VARIABLE, TOKEN_VARIABLE)


class Chosen(msgspec.Struct, frozen=True):
    names: tuple[str, ...]
    ignored_overrides: tuple[str, ...] = ()  # TOGUL_* variables set but not applied


def choose_names(
    names: tuple[str, ...], *, all_profiles: bool, demo: bool, group: Target
) -> Chosen:
    """The names to record (ConfigError: a usage error, exit 2)."""
    if sum((bool(names), all_profiles, demo)) > 1:
        raise ConfigError("give only one of --profile, --all and --demo")
    if demo or (not names and not all_profiles and group.demo):
        return Chosen(tuple(demo_module.DEMO_PROFILES))  # the demo needs no profile file
    config = load_config()  # a broken file is an error here as for every command
    if all_profiles:
        chosen = tuple(config.profiles)
        if not chosen:
            raise ConfigError(
                "--all: no saved profile to record",
                file=config.path,
                hint="add one with `togul-monitor profiles add NAME --url URL ...`",
            )
    elif names:
        chosen = tuple(dict.fromkeys(names))  # a name given twice is recorded once
    else:
        name = choose_profile_name(config, group.profile_name)
        if name is None:
            raise ConfigError(
                "record needs a saved profile (--url is not enough: the journal is per profile)",
                hint="use --profile NAME, --all or --demo",
            )
        chosen = (name,)
    for name in chosen:
        if not demo_module.is_demo_profile(name) and name not in config.profiles:
            # The same message as every other command's, with its "did you mean".
            with open_target(Target(profile_name=name)):
                pass
    file_profiles = [n for n in chosen if not demo_module.is_demo_profile(n)]
    ignored: tuple[str, ...] = ()
    if len(chosen) > 1 and file_profiles:
        ignored = tuple(var for var in OVERRIDES if os.environ.get(var))
    return Chosen(chosen, ignored)


@contextmanager
def open_profiles(chosen: Chosen) -> Iterator[list[Profile]]:
    """Each chosen profile ready to connect (the demo's emulator runs meanwhile)."""
    config = load_config() if not all(map(demo_module.is_demo_profile, chosen.names)) else None
    with ExitStack() as stack:
        profiles: list[Profile] = []
        for name in chosen.names:
            if demo_module.is_demo_profile(name):
                server = stack.enter_context(demo_module.demo_session())  # shared, counted
                profiles.append(demo_module.demo_profile(name, server))
            elif len(chosen.names) == 1:
                # One profile: exactly what `tail --profile NAME` connects to.
                profiles.append(stack.enter_context(open_target(Target(profile_name=name))))
            else:
                assert config is not None
                profiles.append(config.profiles[name].resolve(file=config.path))
        yield profiles
