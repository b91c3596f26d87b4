"""`togul-monitor profiles`: list, show, add, edit, remove, default, path.

`list` and `show` are in profiles_list.py; the named-context options of `add` and `edit`
(`--context-set`, `--context-remove`) in profiles_context.py.

Secrets (`--api-key-file`, `--token-file`, or `--api-key`/`--token`, which show them in the
process list: cli/secrets.py) are written to the file (mode 0600) but never echoed: every
line this command prints shows credentials as `$VARIABLE` references or masked
(`tgl_sdk_…9f2c`). Configuration problems print one clear message and exit 2, as every
command does (cli/common.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from togul_monitor.cli.common import reports_config_errors
from togul_monitor.cli.profiles_context import (
    check_set_and_remove,
    context_remove_option,
    context_set_option,
)
from togul_monitor.cli.profiles_list import list_command, show_command
from togul_monitor.cli.secrets import choose_secrets
from togul_monitor.config import paths
from togul_monitor.config.context_attributes import check_text
from togul_monitor.config.entry import DEFAULT_HEARTBEAT_SECONDS, ProfileEntry, ProfilesConfig
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.profiles import ProfileChanges, ProfileStore, load_config
from togul_monitor.config.validate import BUILTIN_NAMES, display_url
from togul_monitor.support.text import safe_text

F = TypeVar("F", bound=Callable[..., Any])


def _parse_context(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    context: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {safe_text(item)!r}")
        context[key.strip()] = value
    try:
        return check_text(context)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def _secret_hint(kind: str, option: str, path: str) -> None:
    click.echo(
        f"hint: the {kind} is stored in plain text in {path} (mode 0600); "
        f"{option} VAR keeps it out of the file.",
        err=True,
    )


@click.group()
def profiles() -> None:
    """Manage saved connection profiles (profiles.toml)."""


profiles.add_command(list_command)
profiles.add_command(show_command)


# --- add / edit -----------------------------------------------------------------------------


def _credential_options(func: F) -> F:
    for option in reversed(
        [
            click.option(
                "--api-key-env", metavar="VAR", help="Read the API key from $VAR (preferred)."
            ),
            click.option(
                "--api-key-file",
                metavar="PATH",
                help="Read the API key from PATH (`-`: stdin, hidden prompt) and store it.",
            ),
            click.option(
                "--api-key",
                metavar="KEY",
                help="The API key itself (stored in the file; visible in the process list).",
            ),
            click.option("--token-env", metavar="VAR", help="Read the Bearer JWT from $VAR."),
            click.option(
                "--token-file", metavar="PATH", help="Read the Bearer JWT from PATH and store it."
            ),
            click.option(
                "--token",
                metavar="JWT",
                help="The Bearer JWT itself (stored in the file; visible in the process list).",
            ),
            click.option(
                "--refresh-token-env",
                metavar="VAR",
                help="Read the token's refresh token from $VAR: the token is renewed before "
                "it expires (`togul-monitor login` stores both in the file instead).",
            ),
        ]
    ):
        func = option(func)
    return func


def _check_credential_pairs(
    api_key: str | None, api_key_env: str | None, token: str | None, token_env: str | None
) -> None:
    if api_key is not None and api_key_env is not None:
        raise click.UsageError("give --api-key or --api-key-env, not both")
    if token is not None and token_env is not None:
        raise click.UsageError("give --token or --token-env, not both")


def _print_entry(verb: str, entry: ProfileEntry, config: ProfilesConfig) -> None:
    default = " (default)" if config.default_profile == entry.name else ""
    contexts = f", contexts {', '.join(entry.contexts)}" if entry.contexts else ""
    click.echo(
        f"{verb} profile {entry.name!r}{default}: {display_url(entry.base_url)}, "
        f"environment {safe_text(entry.environment_key)!r}, {entry.credential_summary()}"
        f"{contexts}"
    )


@profiles.command("add")
@click.argument("name")
@click.option("--url", required=True, help="Base URL of the Togul server.")
@click.option(
    "--environment", required=True, metavar="KEY", help="Environment key, e.g. production."
)
@_credential_options
@click.option(
    "--context",
    "context",
    multiple=True,
    metavar="KEY=VALUE",
    callback=_parse_context,
    help="An attribute of the single context, named 'default' (repeatable).",
)
@context_set_option
@click.option("--watch", multiple=True, metavar="FLAG", help="Flag key to watch (repeatable).")
@click.option(
    "--heartbeat",
    type=float,
    default=DEFAULT_HEARTBEAT_SECONDS,
    show_default=True,
    help="The server's heartbeat interval in seconds (read timeout = 3x).",
)
@click.option("--allow-insecure", is_flag=True, help="Allow plain http:// to a non-loopback host.")
@click.option("--default", "make_default", is_flag=True, help="Make it the default profile.")
@reports_config_errors
def add_command(
    name: str,
    url: str,
    environment: str,
    api_key_env: str | None,
    api_key_file: str | None,
    api_key: str | None,
    token_env: str | None,
    token_file: str | None,
    token: str | None,
    refresh_token_env: str | None,
    context: dict[str, str],
    context_sets: dict[str, dict[str, str]],
    watch: tuple[str, ...],
    heartbeat: float,
    allow_insecure: bool,
    make_default: bool,
) -> None:
    """Save a new profile NAME."""
    # Refused before a file is read or a prompt shown: both forms of one credential.
    _check_credential_pairs(api_key or api_key_file, api_key_env, token or token_file, token_env)
    api_key, token = choose_secrets(api_key, api_key_file, token, token_file)
    if not any((api_key, api_key_env, token, token_env)):
        raise click.UsageError(
            "a credential is required: --api-key-env VAR, --api-key-file PATH, --token-env VAR "
            "or --token-file PATH"
        )
    entry = ProfileEntry(
        name=name,
        base_url=url,
        environment_key=environment,
        api_key=api_key,
        api_key_env=api_key_env,
        token=token,
        token_env=token_env,
        refresh_token_env=refresh_token_env,
        context=context,
        contexts=context_sets,
        watch=tuple(dict.fromkeys(watch)),
        heartbeat_seconds=heartbeat,
        allow_insecure=allow_insecure,
    )
    store = ProfileStore()
    config = store.add(entry, make_default=make_default)
    _print_entry("added", config.profiles[name], config)
    if api_key:
        _secret_hint("API key", "--api-key-env", str(store.path))
    if token:
        _secret_hint("token", "--token-env", str(store.path))


@profiles.command("edit")
@click.argument("name")
@click.option("--url", help="Base URL of the Togul server.")
@click.option("--environment", metavar="KEY", help="Environment key.")
@_credential_options
@click.option(
    "--context",
    "context",
    multiple=True,
    metavar="KEY=VALUE",
    callback=_parse_context,
    help="Set an attribute of the single context, named 'default' (repeatable).",
)
@click.option("--unset-context", multiple=True, metavar="KEY", help="Remove a context attribute.")
@context_set_option
@context_remove_option
@click.option("--watch", multiple=True, metavar="FLAG", help="Add a watched flag (repeatable).")
@click.option("--unwatch", multiple=True, metavar="FLAG", help="Stop watching a flag.")
@click.option("--heartbeat", type=float, help="The server's heartbeat interval in seconds.")
@click.option(
    "--allow-insecure/--no-allow-insecure",
    default=None,
    help="Allow plain http:// to a non-loopback host.",
)
@reports_config_errors
def edit_command(
    name: str,
    url: str | None,
    environment: str | None,
    api_key_env: str | None,
    api_key_file: str | None,
    api_key: str | None,
    token_env: str | None,
    token_file: str | None,
    token: str | None,
    refresh_token_env: str | None,
    context: dict[str, str],
    unset_context: tuple[str, ...],
    context_sets: dict[str, dict[str, str]],
    context_removals: tuple[str, ...],
    watch: tuple[str, ...],
    unwatch: tuple[str, ...],
    heartbeat: float | None,
    allow_insecure: bool | None,
) -> None:
    """Change the saved profile NAME (only the options given)."""
    _check_credential_pairs(api_key or api_key_file, api_key_env, token or token_file, token_env)
    api_key, token = choose_secrets(api_key, api_key_file, token, token_file)
    check_set_and_remove(context_sets, context_removals)
    if name in BUILTIN_NAMES:
        raise ConfigError("built-in demo profiles cannot be edited", profile=name)
    changes = ProfileChanges(
        base_url=url,
        environment_key=environment,
        api_key=api_key,
        api_key_env=api_key_env,
        token=token,
        token_env=token_env,
        refresh_token_env=refresh_token_env,
        context=context,
        unset_context=unset_context,
        set_contexts=context_sets,
        remove_contexts=tuple(dict.fromkeys(context_removals)),
        watch=watch,
        unwatch=unwatch,
        heartbeat_seconds=heartbeat,
        allow_insecure=allow_insecure,
    )
    if changes == ProfileChanges():
        raise click.UsageError("nothing to change: give at least one option")
    store = ProfileStore()
    config = store.edit(name, changes)
    _print_entry("updated", config.profiles[name], config)
    if api_key:
        _secret_hint("API key", "--api-key-env", str(store.path))
    if token:
        _secret_hint("token", "--token-env", str(store.path))


# --- remove / default / path ----------------------------------------------------------------


@profiles.command("remove")
@click.argument("name")
@reports_config_errors
def remove_command(name: str) -> None:
    """Delete the saved profile NAME."""
    if name in BUILTIN_NAMES:
        raise ConfigError("built-in demo profiles cannot be removed", profile=name)
    store = ProfileStore()
    before = store.load()
    store.remove(name)
    note = " (it was the default; none is set now)" if before.default_profile == name else ""
    click.echo(f"removed profile {name!r}{note}")


@profiles.command("default")
@click.argument("name")
@reports_config_errors
def default_command(name: str) -> None:
    """Make NAME the profile used when no --profile is given."""
    ProfileStore().set_default(name)
    click.echo(f"default profile: {name!r}")


@profiles.command("path")
@reports_config_errors
def path_command() -> None:
    """Print where the profiles, the journal and the log live."""
    click.echo(f"profiles: {paths.profiles_file()}")
    click.echo(f"journal:  {paths.journal_dir()}")
    click.echo(f"log:      {paths.log_file()}")
    load_config()  # a broken file is still reported (exit 2), after the locations
