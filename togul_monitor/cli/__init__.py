"""The command line: a click group whose subcommands live in their own modules.

Subcommands are imported only when invoked, so `togul-monitor --help` and `tail` start fast
and never import Textual.
"""

from __future__ import annotations

import errno
import gc
import importlib
import os
import sys

import click

from togul_monitor.cli.common import PROGRAM, GroupChoices, Target, target_options

# command name -> "module:attribute" of a click.Command
_COMMANDS: dict[str, str] = {
    "serve": "togul_monitor.cli.serve:serve",
    "tail": "togul_monitor.cli.tail:tail",
    "profiles": "togul_monitor.cli.profiles:profiles",
    "login": "togul_monitor.cli.login:login",
    "history": "togul_monitor.cli.journal:history",
    "export": "togul_monitor.cli.export:export",
    "compare": "togul_monitor.cli.compare:compare",
    "wait": "togul_monitor.cli.wait:wait",
    "coverage": "togul_monitor.cli.coverage:coverage",
    "record": "togul_monitor.cli.record:record",
    "web": "togul_monitor.cli.web:web",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # The reader went away (`tail | head`, `history FLAG | head -1`): done, for every
            # command (click's own handling exits 1).
            _stdout_to_devnull()
            ctx.exit(0)


def _stdout_to_devnull() -> None:
    """stdout can take no more: point it at devnull, so that the interpreter's final flush
    does not fail again."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@click.group(
    cls=LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
# No envvar on --profile: TOGUL_MONITOR_PROFILE is read with a lower precedence by
# config/resolve.py, so that `tail --demo` or `tail --url` beside a set variable is no conflict.
@target_options(
    "demo",
    "profile_name",
    help_text={
        "demo": "Open the built-in demo (an emulator on a free loopback port).",
        "profile_name": "Open a saved profile (a subcommand uses it unless it picks its own).",
    },
)
@click.version_option(package_name="togul-monitor")
@click.pass_context
def cli(ctx: click.Context, demo: bool, profile_name: str | None) -> None:
    """Watch a Togul feature-flag server live.

    With no command, opens the TUI on the default profile, or on the built-in demo when no
    profile is configured.
    """
    from togul_monitor import demo as demo_module
    from togul_monitor.config.paths import log_file
    from togul_monitor.support.logs import setup_logging

    # Before any subcommand (and the TUI): every log record goes to the log file, never to the
    # terminal, and no secret reaches it unmasked.
    setup_logging(log_file())
    # The configuration stage cannot import the demo (it sits below it): the demo's profiles
    # are offered to name lookups, listings, `--demo` and the TUI's switcher from here.
    demo_module.register()
    ctx.obj = GroupChoices(Target(demo=demo, profile_name=profile_name))
    if ctx.invoked_subcommand is not None:
        return
    from togul_monitor.cli.open_tui import open_tui

    open_tui(demo=demo, profile_name=profile_name)


#: A write that cannot be made (a full disk, a device error): said in a line, never a traceback.
_WRITE_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


def main() -> None:
    try:
        cli(prog_name=PROGRAM)
    except OSError as exc:
        if exc.errno not in _WRITE_ERRORS:
            raise
        _stdout_to_devnull()  # most likely stdout's (`> /dev/full`)
        sys.stderr.write(f"{PROGRAM}: cannot write: {exc.strerror or exc}\n")
        sys.exit(1)
    finally:
        # Done (click exits through here): what is left is the interpreter's teardown, which
        # runs full collections over every tracked object (tens of thousands: the modules'
        # functions and types) while it takes the modules apart, about 60 ms of CPU after a
        # `tail`. The collector skips frozen objects; nothing needs it by then: the commands
        # close the journal and their clients themselves, logging's exit hook flushes the log
        # file and the interpreter flushes stdout and stderr. (What a cycle alone still held at
        # exit is never finalized now: a file or socket must be closed, not left to `__del__`.)
        gc.freeze()
