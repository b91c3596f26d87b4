"""`togul-monitor login`: log in to a profile's server and store the token pair in the profile.

Asks for the email (or takes `--email`) and the password (never echoed), calls
`POST /api/v1/login` (docs/protocol.md), and writes the access token and the refresh token into
the profile as literals (`token`, `refresh_token`; the file is mode 0600 and keeps its
comments). A profile not saved yet is created by the login when `--url` and `--environment`
say where, with the token as its credential (`profiles add` wants one up front), and only once
the server accepted the login: a refused one leaves nothing behind. The monitor then renews the
token before it expires and writes each rotated pair back (core/tokens.py). Neither token, nor
the password, is ever printed: only when the token expires. Exit codes as every command's
(cli/common.py): 2 usage or configuration, 3 the server refused the login, 1 it could not be
reached.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace
from pathlib import Path

import click

from togul_monitor.cli.common import (
    EXIT_CREDENTIALS,
    EXIT_FAILED,
    check_ca_files,
    group_choices,
    reports_config_errors,
)
from togul_monitor.cli.secrets import ask, stdin_is_terminal
from togul_monitor.config.entry import ProfileEntry
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.profiles import ProfileStore, load_config
from togul_monitor.config.resolve import choose_profile_name
from togul_monitor.config.validate import (
    BUILTIN_NAMES,
    check_name,
    display_url,
    validate_profile,
)
from togul_monitor.support.text import safe_text


@click.command()
@click.option("--profile", "profile_name", metavar="NAME", help="The saved profile to log in.")
@click.option("--email", metavar="EMAIL", help="The account's email (asked for when not given).")
@click.option("--url", metavar="URL", help="A new profile's server (with --environment).")
@click.option("--environment", metavar="KEY", help="A new profile's environment key.")
@reports_config_errors
def login(
    profile_name: str | None, email: str | None, url: str | None, environment: str | None
) -> None:
    """Log in and store a token and a refresh token in a profile.

    The password is asked for without echo. A profile not saved yet is created, with the token
    as its credential, when --url and --environment are given. The monitor renews the token
    before it expires, so a profile that holds both keeps working for as long as the refresh
    token lives.
    """
    from togul_monitor.client.tokens import TokenError, jwt_times, utc
    from togul_monitor.client.tokens import login as request_login

    config = load_config()
    name = choose_profile_name(config, profile_name or group_choices().target.profile_name)
    if name is None or name in BUILTIN_NAMES:
        raise ConfigError(
            "login stores the token in a saved profile: name one with --profile NAME",
            hint="the demo's emulator needs no login",
        )
    entry = config.profiles.get(name)
    if entry is None:
        entry = new_entry(name, url, environment, config.path)
        new = True
    else:
        same_place(entry, url, environment, config.path)
        new = False
    check_ca_files(entry.base_url)
    where = display_url(entry.base_url)
    if stdin_is_terminal():
        username = email or ask(f"Email for {where}")
        password = ask("Password", hide_input=True)
        if not username.strip() or not password:
            raise ConfigError("login needs an email and a password: none given")
    else:  # from a pipe: a line each (the email's first, unless given), no prompt or warning
        stdin = sys.stdin
        username = email or (stdin.readline().strip() if stdin is not None else "")
        password = stdin.readline().rstrip("\r\n") if stdin is not None else ""
        if not username or not password:
            what = "the email and the password" if not email else "the password"
            raise ConfigError(f"login reads {what} from standard input, a line each: none came")
    try:
        pair = asyncio.run(request_login(entry.base_url, username.strip(), password))
    except TokenError as exc:
        refused = exc.status in (400, 401, 403)
        what = "the server refused the login" if refused else "the login failed"
        click.echo(f"login: {what}: {exc}", err=True)
        sys.exit(EXIT_CREDENTIALS if refused else EXIT_FAILED)
    if pair.refresh_token is None:
        click.echo("login: warning: no refresh token came with the token", err=True)
    store = ProfileStore()
    if new:
        store.add(replace(entry, token=pair.token, refresh_token=pair.refresh_token))
    else:
        store.store_tokens(name, token=pair.token, refresh_token=pair.refresh_token)
    _, expires_at = jwt_times(pair.token)
    until = f", valid until {utc(expires_at)}" if expires_at is not None else ""
    renew = " and a refresh token" if pair.refresh_token else ""
    made = (
        f"profile {safe_text(name)!r} added and now holds"
        if new
        else f"profile {safe_text(name)!r} now holds"
    )
    click.echo(
        f"logged in to {where} as {safe_text(username.strip())}: {made} a token{until}{renew}"
    )


def new_entry(name: str, url: str | None, environment: str | None, path: Path) -> ProfileEntry:
    """The profile a login creates (checked before any password is asked for)."""
    if not url or not environment:
        raise ConfigError(
            f"no saved profile named {safe_text(name)!r}",
            file=path,
            hint=(
                f"to create it with the token: togul-monitor login --profile {safe_text(name)} --url URL "
                "--environment KEY (or add it first with an API key: togul-monitor profiles "
                "add NAME --url URL --environment KEY --api-key-env VAR)"
            ),
        )
    problem = check_name(name)
    if problem:
        raise ConfigError(problem, profile=name)
    entry = ProfileEntry(name=name, base_url=url, environment_key=environment)
    # Everything but the credential, which the login brings: a stand-in token for the check.
    validate_profile(name, {**entry.to_table(), "token": "stand-in"})
    return entry


def same_place(entry: ProfileEntry, url: str | None, environment: str | None, path: Path) -> None:
    """A saved profile is logged in where it points: `--url`/`--environment` may only agree."""
    given = (("URL", url, entry.base_url), ("environment", environment, entry.environment_key))
    differs = [what for what, value, saved in given if value is not None and value != saved]
    if differs:
        raise ConfigError(
            f"profile {safe_text(entry.name)!r} exists with another {' and '.join(differs)}",
            file=path,
            hint=f"change it with togul-monitor profiles edit {entry.name}, then log in",
        )
