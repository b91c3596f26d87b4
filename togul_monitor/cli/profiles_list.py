"""`togul-monitor profiles list` and `profiles show NAME`: the saved profiles and the built-in
demo ones, secrets masked (`$VARIABLE` references or `tgl_sdk_…9f2c`), every string from the
file made safe to print. Contexts are not secrets: `show` prints every context with its
attributes, in the order a monitor evaluates them, each as `--context-set` takes it (pairs, or
the JSON object when a value holds a comma); `list` names them (`--json` has them all).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Mapping
from typing import Any

import click

from togul_monitor.cli.common import reports_config_errors
from togul_monitor.cli.profiles_context import shown_attributes
from togul_monitor.config.entry import DEFAULT_CONTEXT_NAME, ProfilesConfig, evaluation_contexts
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.profiles import load_config
from togul_monitor.config.validate import did_you_mean, display_url
from togul_monitor.support.text import safe_text

OVERRIDE_VARIABLES = ("TOGUL_BASE_URL", "TOGUL_API_KEY", "TOGUL_TOKEN")


def warn_if_readable(config: ProfilesConfig) -> None:
    if not config.exists:
        return
    try:
        mode = config.path.stat().st_mode
    except OSError:
        return
    literal = any(e.api_key or e.token or e.refresh_token for e in config.profiles.values())
    if literal and mode & (stat.S_IRWXG | stat.S_IRWXO):
        click.echo(
            f"warning: {config.path} holds secrets and is readable by others "
            f"(mode {stat.S_IMODE(mode):o}); run: chmod 600 {config.path}",
            err=True,
        )


def _evaluated(
    context: dict[str, str], contexts: dict[str, dict[str, str]], shown: Callable[[str], str]
) -> list[str]:
    """The names of the contexts a monitor evaluates for, in its order (config/entry.py)."""
    return [shown(name) for name in evaluation_contexts(context, contexts)]


def _as_is(text: str) -> str:
    return text


def _contexts(
    contexts: Mapping[str, Mapping[str, str]], shown: Callable[[str], str]
) -> dict[str, dict[str, str]]:
    return {
        shown(name): {shown(k): shown(v) for k, v in attributes.items()}
        for name, attributes in contexts.items()
    }


def rows(config: ProfilesConfig, *, raw: bool = False) -> list[dict[str, Any]]:
    """Each profile as `list` and `show` say it: its text made safe to print, or `raw` (for
    `--json`, whose encoding escapes it: a script reads the values the file holds)."""
    shown = _as_is if raw else safe_text
    found = []
    for entry in config.profiles.values():
        found.append(
            {
                "name": entry.name,
                "default": entry.name == config.default_profile,
                "base_url": display_url(entry.base_url),
                "environment_key": shown(entry.environment_key),
                "credentials": entry.credential_summary(),
                "context": {shown(k): shown(v) for k, v in entry.context.items()},
                "contexts": _contexts(entry.contexts, shown),
                "evaluated_contexts": _evaluated(entry.context, entry.contexts, shown),
                "watch": [shown(w) for w in entry.watch],
                "heartbeat_seconds": entry.heartbeat_seconds,
                "allow_insecure": entry.allow_insecure,
                "builtin": False,
            }
        )
    from togul_monitor.demo import (
        DEMO_CONTEXT,
        DEMO_CONTEXTS,
        DEMO_PROFILES,
        DEMO_WATCH,
        HEARTBEAT_SECONDS,
    )

    for name, env_key in DEMO_PROFILES.items():
        found.append(
            {
                "name": name,
                "default": name == config.default_profile,
                "base_url": "(embedded emulator)",
                "environment_key": env_key,
                "credentials": "sdk key (generated)",
                "context": dict(DEMO_CONTEXT),
                "contexts": _contexts(DEMO_CONTEXTS, shown),
                "evaluated_contexts": _evaluated(dict(DEMO_CONTEXT), dict(DEMO_CONTEXTS), shown),
                "watch": list(DEMO_WATCH),
                "heartbeat_seconds": HEARTBEAT_SECONDS,
                "allow_insecure": False,
                "builtin": True,
            }
        )
    return found


MAX_LIST_CELL = 40  # a list's cell: watched flag keys are the server's, of any length


def _cut(text: str) -> str:
    """A cell of `profiles list`, cut with `…` (`profiles show NAME` and `--json` say it whole):
    one long watched key made every line of the table thousands of characters wide."""
    return text if len(text) <= MAX_LIST_CELL else text[: MAX_LIST_CELL - 1] + "…"


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per profile.")
@reports_config_errors
def list_command(as_json: bool) -> None:
    """List the saved profiles and the built-in demo ones (secrets masked)."""
    config = load_config()
    warn_if_readable(config)
    if as_json:
        for row in rows(config, raw=True):
            click.echo(json.dumps(row, ensure_ascii=True))  # escaped: printable ASCII
        return
    found = rows(config)
    headers = ("", "NAME", "URL", "ENVIRONMENT", "CREDENTIALS", "WATCH", "CONTEXTS")
    table = [
        (
            "*" if row["default"] else " ",
            row["name"] + (" (built-in)" if row["builtin"] else ""),
            row["base_url"],
            row["environment_key"],
            row["credentials"],
            _cut(", ".join(row["watch"]) or "-"),
            _cut(", ".join(row["evaluated_contexts"])),
        )
        for row in found
    ]
    widths = [max(len(str(r[i])) for r in [headers, *table]) for i in range(len(headers))]
    for line in [headers, *table]:
        click.echo("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
    overrides = [v for v in OVERRIDE_VARIABLES if os.environ.get(v)]
    if overrides:
        click.echo(
            f"note: {', '.join(overrides)} set: they override the chosen profile's values",
            err=True,
        )
    if not config.default_profile and len(config.profiles) > 1:
        click.echo(
            "note: no default profile; set one with `togul-monitor profiles default NAME`",
            err=True,
        )


@click.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="The profile as one JSON object.")
@reports_config_errors
def show_command(name: str, as_json: bool) -> None:
    """Show the profile NAME: its server, credentials (masked), watch list and every context."""
    config = load_config()
    warn_if_readable(config)
    by_name = {row["name"]: row for row in rows(config, raw=as_json)}
    row = by_name.get(name)
    if row is None:
        raise ConfigError(
            f"no profile named {safe_text(name)!r}{did_you_mean(name, list(by_name))}",
            file=config.path,
            hint="`togul-monitor profiles list` shows the profiles",
        )
    if as_json:
        click.echo(json.dumps(row, ensure_ascii=True))  # escaped: printable ASCII
        return
    notes = [n for on, n in ((row["default"], "default"), (row["builtin"], "built-in")) if on]
    click.echo(f"profile {row['name']!r}" + (f" ({', '.join(notes)})" if notes else ""))
    for label, value in (
        ("url", row["base_url"]),
        ("environment", row["environment_key"]),
        ("credentials", row["credentials"]),
        ("watch", ", ".join(row["watch"]) or "-"),
        ("heartbeat", f"{row['heartbeat_seconds']:g} s"),
    ):
        click.echo(f"  {label + ':':<13}{value}")
    click.echo("  contexts (evaluated in this order):")
    # The attributes as the file holds them: shown_attributes makes them safe, in the form
    # they are typed back (a value escaped beforehand would be shown as another value).
    raw = next(r for r in rows(config, raw=True) if r["name"] == name)
    named: dict[str, dict[str, str]] = {DEFAULT_CONTEXT_NAME: raw["context"], **raw["contexts"]}
    width = max(len(n) for n in row["evaluated_contexts"])
    for context in row["evaluated_contexts"]:  # names are plain text (validate_context.py)
        click.echo(f"    {context:<{width}}  {shown_attributes(named.get(context, {}))}")
