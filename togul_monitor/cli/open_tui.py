"""The default command: open the TUI on the chosen profile (or the built-in demo).

Textual is imported only here, after the target resolved, so `--help` and the headless
commands never load it. Configuration errors exit 2 with the file and line, before any screen.
"""

from __future__ import annotations

import sys

import click


def open_tui(demo: bool, profile_name: str | None) -> None:
    from togul_monitor.config.errors import ConfigError
    from togul_monitor.config.resolve import open_target

    try:
        with open_target(demo=demo, profile_name=profile_name) as profile:
            from togul_monitor.ui.app import TogulMonitorApp

            app = TogulMonitorApp(profile)
            app.run()
    except ConfigError as error:
        click.echo(f"togul-monitor: {error}", err=True)
        sys.exit(getattr(error, "exit_code", 2))
