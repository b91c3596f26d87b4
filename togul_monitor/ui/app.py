"""The Textual app: one running monitor at a time, shown by the main screen.

The app owns what outlives a profile: the running monitor (`session.py` starts, switches and
stops it on thread workers), the keymap and the saved time mode (read off the event loop,
`settings.py`), the command palette's commands (`commands.py`), the profile switcher and
editor, help, quit, and the report of a worker that failed (`worker_errors.py`). Everything the user sees of the monitor,
and the view's state, lives in the main screen (`screens/main.py`), which asks the app for the
monitor through `ViewHost` (`handle.py`). `app.main` is that screen, `app.monitor` the running
monitor (None before the first start and during a switch).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from pathlib import Path

from textual import on, work
from textual.app import App
from textual.screen import Screen
from textual.worker import Worker

from togul_monitor.config.profiles import Profile
from togul_monitor.support.collector import collect_for_a_long_run
from togul_monitor.ui.commands import TogulCommands
from togul_monitor.ui.handle import MonitorHandle
from togul_monitor.ui.keymap import DEFAULT_KEYS, app_bindings, load_user_keymap
from togul_monitor.ui.messages import MonitorFailed, MonitorReady
from togul_monitor.ui.screens.help import HelpScreen, key_label
from togul_monitor.ui.screens.main import MainScreen
from togul_monitor.ui.session import (
    Clock,
    MonitorFactory,
    MonitorSession,
    ProfileResolver,
    while_mounted,
)
from togul_monitor.ui.settings import load_time_mode
from togul_monitor.ui.worker_errors import report_worker_error


class TogulMonitorApp(App[None]):
    """One profile at a time; `p` switches without leaving the app."""

    CSS_PATH = "app.tcss"
    TITLE = "togul-monitor"
    BINDINGS = app_bindings()  # the main screen holds the others (keymap.py)
    COMMANDS = App.COMMANDS | {TogulCommands}

    def __init__(
        self,
        profile: Profile,
        *,
        clock: Clock = time.time,
        monitor_factory: MonitorFactory | None = None,
        profile_resolver: ProfileResolver | None = None,
        keymap: dict[str, str] | None = None,
        paint_hz: float = 20.0,
        view_size: int = 5_000,
        export_dir: Path | None = None,
        after_first_frame: Callable[[], object] = lambda: None,  # once it is painted
    ) -> None:
        super().__init__()
        self.profile = profile
        self._after_first_frame = after_first_frame
        self.clock = clock
        self.session = MonitorSession(self, clock, monitor_factory, profile_resolver)
        self.keymap_override = keymap
        self.keymap: dict[str, str] = dict(keymap or {})
        # The profile the notice says could not be opened (None: none failed since the last
        # start): `E` edits it, not `profile`, which stays the one that ran before a failed switch.
        self.failed_profile: tuple[str, bool] | None = None  # its name, and if built in
        self._gc_thresholds = gc.get_threshold()  # restored when the app unmounts
        self.main = MainScreen(
            self, clock=clock, paint_hz=paint_hz, view_size=view_size, export_dir=export_dir
        )

    @property
    def monitor(self) -> MonitorHandle | None:
        """The running monitor; None before the first start and during a switch."""
        return self.session.monitor

    @property
    def switching(self) -> bool:
        """Switching from a profile that ran to another; the first start is just connecting."""
        return self.session.switching and self.session.started_once

    @property
    def closing(self) -> bool:
        return self.session.closing

    def can_paint(self) -> bool:
        return not self.session.closing and bool(self.screen_stack)

    def key_for(self, binding_id: str) -> str:
        """The key in force for `binding_id`, as the help screen writes it."""
        return key_label(self.keymap.get(binding_id, DEFAULT_KEYS[binding_id][0]))

    def get_default_screen(self) -> Screen[None]:
        return self.main

    def on_mount(self) -> None:
        self._gc_thresholds = collect_for_a_long_run()
        if self.keymap_override is None:
            self._keymap_worker()  # the config file is read off the event loop
        elif self.keymap:
            self.set_keymap(self.keymap)
        self._time_mode_worker()
        # After the first frame ("connecting…"): starting the monitor loads its modules (the
        # stream client, the journal), which the first frame does not need.
        self.call_after_refresh(self._first_frame_painted)

    def _first_frame_painted(self) -> None:
        self._after_first_frame()
        self.session.start(self.profile, None, self.profile.name)

    @work(thread=True, exclusive=True, group="settings", exit_on_error=False, name="settings")
    def _time_mode_worker(self) -> None:
        mode = load_time_mode()  # the file is read off the event loop
        if mode is not None:
            self.call_from_thread(self._restore_time_mode, mode)

    def _restore_time_mode(self, mode: str) -> None:
        if self.main.time_mode == "local":  # unless `t` was pressed while the file was read
            self.main.time_mode = mode

    @work(thread=True, exclusive=True, group="keymap", exit_on_error=False, name="keymap")
    def _keymap_worker(self) -> None:
        keymap = load_user_keymap()
        if keymap:
            self.call_from_thread(self._apply_keymap, keymap)

    def _apply_keymap(self, keymap: dict[str, str]) -> None:
        self.keymap = keymap
        self.set_keymap(keymap)
        self.refresh_bindings()

    def on_unmount(self) -> None:
        gc.unfreeze()  # hand what was frozen back to the collector (tests run many apps)
        gc.set_threshold(*self._gc_thresholds)
        self.session.close_soon()

    def _fatal_error(self) -> None:
        """Textual's report of a crash, without the local variables of each frame, which
        Textual shows: they may hold an API key or a token (a profile being saved, a request
        being built), and the report is printed to the terminal. Overrides a private method of
        the exactly pinned Textual; tests/ui/test_crash_report.py checks the report."""
        import rich
        from rich.segment import Segments
        from rich.traceback import Traceback

        self.bell()
        traceback = Traceback(show_locals=False, width=None, suppress=[rich])
        self._exit_renderables.append(
            Segments(self.console.render(traceback, self.console.options))
        )
        self._close_messages_no_wait()

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        """A worker that failed is reported by name (every worker runs exit_on_error=False)."""
        report_worker_error(self, event)

    # -- monitor lifecycle (see session.py) -------------------------------------------------
    @on(MonitorReady)
    def _monitor_ready(self, message: MonitorReady) -> None:
        if not self.screen_stack:
            self.session.closing = True  # no screen left to paint: the app is going away
        first = self.session.adopt(message)
        if first is None:
            return
        self.profile = message.profile
        self.failed_profile = None
        self.sub_title = message.profile.name
        self.main.monitor_started(message.profile, message.monitor.monitor, first=first)

    @on(MonitorFailed)
    @while_mounted
    def _monitor_failed(self, message: MonitorFailed) -> None:
        if message.generation in (0, self.session.generation):
            self.session.switching = False  # not while a newer switch is still under way
        self.failed_profile = (message.profile_name, message.builtin)
        self.main.monitor_failed(message.profile_name, message.error)

    def switch_profile(self, name: str) -> None:
        """Stop the running monitor (on a worker) and start one for profile `name`."""
        self.session.start(None, name, self.profile.name)
        self.failed_profile = None  # its notice goes (switch_started)
        self.main.switch_started()

    # -- the app's key actions (keymap.py) ----------------------------------------------------
    def action_reconnect(self) -> None:
        monitor = self.monitor
        if monitor is None:
            self.notify("No stream to reconnect yet.", markup=False)
            return
        monitor.restart_stream()
        self.notify("Reconnecting the stream now.", markup=False)

    def action_reevaluate(self) -> None:
        monitor = self.monitor
        if monitor is None:
            self.notify("No monitor running yet: nothing to re-evaluate.", markup=False)
            return
        monitor.reevaluate_all()
        self.notify("Re-evaluating every value.", markup=False)

    def action_profiles(self) -> None:
        from togul_monitor.ui.screens.profile_switcher import ProfileSwitcherScreen

        self.push_screen(ProfileSwitcherScreen(self.profile.name), self._profile_chosen)

    def _profile_chosen(self, name: str | None) -> None:
        if name:
            self.switch_profile(name)

    def action_edit_profile(self) -> None:
        """The profile the failure notice names when one failed to open (its "edit this
        profile"), else the running one."""
        from togul_monitor.ui.screens.profile_switcher import open_profile_form

        name, builtin = self.failed_profile or (self.profile.name, False)
        if builtin or (name == self.profile.name and self.profile.builtin):
            self.notify(
                "The demo profiles are built in and cannot be edited; add one with p then a.",
                markup=False,
            )
            return
        open_profile_form(self, name, self._profile_chosen)

    def action_help(self) -> None:
        over = self.screen if self.screen is not self.main else None  # its keys alone work
        self.push_screen(HelpScreen(self.keymap, over))

    async def action_quit(self) -> None:
        await self.session.close()
        self.exit()
