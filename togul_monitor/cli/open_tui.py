"""The default command: open the TUI on the chosen profile (or the built-in demo).

Textual is imported only here, after the target resolved, so `--help` and the headless
commands never load it. Configuration errors exit 2 with the file and line, before any screen.
A TUI that ended on an unhandled exception exits 1 (Textual's return code), having printed its
traceback: a script or `web` tells a crash from a quit.
"""

from __future__ import annotations

import sys

from togul_monitor.cli.common import Target, open_target, report_config_error
from togul_monitor.config.errors import ConfigError


def open_tui(demo: bool, profile_name: str | None) -> None:
    from togul_monitor.demo import serving_deferred

    return_code: int | None = None
    try:
        # The demo's server loads after the first frame, which does not need it.
        with (
            serving_deferred() as serve_demo,
            open_target(
                Target(demo=demo, profile_name=profile_name), demo_fallback=True
            ) as profile,
        ):
            from togul_monitor.ui.app import TogulMonitorApp

            app = TogulMonitorApp(profile, after_first_frame=serve_demo)
            app.run()
            return_code = app.return_code
    except ConfigError as error:
        report_config_error(error)
    if return_code:
        sys.exit(return_code)
