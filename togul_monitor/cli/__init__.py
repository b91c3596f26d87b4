"""The command line: a click group whose subcommands live in their own modules.

Subcommands are imported only when invoked, so `togul-monitor --help` and `tail` start fast
and never import Textual.
"""

from __future__ import annotations

import importlib

import click

# command name -> "module:attribute" of a click.Command
_COMMANDS: dict[str, str] = {
    "serve": "togul_monitor.cli.serve:serve",
    "tail": "togul_monitor.cli.tail:tail",
    "profiles": "togul_monitor.cli.profiles:profiles",
    "history": "togul_monitor.cli.journal:history",
    "export": "togul_monitor.cli.journal:export",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)


@click.group(
    cls=LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--demo", is_flag=True, help="Open the built-in demo (an emulator on a free loopback port)."
)
@click.option(
    "--profile",
    "profile_name",
    metavar="NAME",
    envvar="TOGUL_MONITOR_PROFILE",
    help="Open a saved profile.",
)
@click.version_option(package_name="togul-monitor")
@click.pass_context
def cli(ctx: click.Context, demo: bool, profile_name: str | None) -> None:
    """Watch a Togul feature-flag server live.

    With no command, opens the TUI on the default profile, or on the built-in demo when no
    profile is configured.
    """
    # Before any subcommand (and the TUI): every log record goes to the log file, never to the
    # terminal, and no secret reaches it unmasked.
    from togul_monitor.support.logs import setup_logging

    setup_logging()
    if ctx.invoked_subcommand is not None:
        return
    from togul_monitor.cli.open_tui import open_tui

    open_tui(demo=demo, profile_name=profile_name)


def main() -> None:
    cli(prog_name="togul-monitor")
