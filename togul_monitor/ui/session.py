"""The one running monitor of the app: start, switch and stop it off the event loop.

`MonitorThread.start()` and `stop()` block (a thread join, a journal close), so every start and
switch runs in a thread worker. A cancelled thread worker is only flagged, so two switches can
overlap: they take turns on one lock, and each first stops every monitor still running (the
one shown, and any started for a switch since overtaken), so two monitors never run at once
(a quick switch back would otherwise open two writers on one journal). Every start has a
generation number; a `MonitorReady` of an older generation is stale and its monitor is
stopped rather than shown. The worker never touches widgets; it posts `MonitorReady` or
`MonitorFailed` to the app.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import shutil
import tempfile
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from textual.app import App
from textual.css.query import NoMatches
from textual.worker import get_current_worker

from togul_monitor.config.profiles import Profile
from togul_monitor.ui.handle import MonitorHandle, MonitorRunner
from togul_monitor.ui.messages import MonitorFailed, MonitorReady

Clock = Callable[[], float]
MonitorFactory = Callable[[Profile, Clock], MonitorRunner]
ProfileResolver = Callable[[str], Profile]


class Paints(Protocol):
    def can_paint(self) -> bool:
        """False once the app is closing or the node has left the screen stack."""
        ...


S = TypeVar("S", bound=Paints)
P = ParamSpec("P")
R = TypeVar("R")


def while_mounted(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R | None]:
    """Skip a timer tick or a late worker message once the app or the screen is torn down.

    Timers and worker messages can still arrive while the app exits; by then the widgets are
    gone and there is nothing to paint.
    """

    @functools.wraps(method)
    def guarded(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R | None:
        if not self.can_paint():
            return None
        try:
            return method(self, *args, **kwargs)
        except NoMatches:
            return None

    return guarded


def default_monitor_factory(profile: Profile, clock: Clock) -> MonitorRunner:
    from togul_monitor.core import MonitorThread

    if profile.builtin:
        # The demo's world is new on every run: a journal of an earlier run would backfill the
        # feed and history with changes of a world that is gone. So it records for this run only.
        return MonitorThread(profile, clock=clock, journal_dir=_run_journal_dir())
    return MonitorThread(profile, clock=clock)


@functools.cache
def _run_journal_dir() -> Path:
    """A journal folder that lives as long as this process."""
    folder = Path(tempfile.mkdtemp(prefix="togul-monitor-demo-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def default_profile_resolver(name: str) -> Profile:
    from togul_monitor.config.resolve import resolve_profile

    return resolve_profile(name)


class MonitorSession:
    """Owns the running monitor (`None` while none runs, or while a switch is under way)."""

    def __init__(
        self,
        app: App[Any],
        clock: Clock,
        factory: MonitorFactory | None = None,
        resolver: ProfileResolver | None = None,
    ) -> None:
        self.app = app
        self.clock = clock
        self.factory = factory or default_monitor_factory
        self.resolver = resolver or default_profile_resolver
        self.runner: MonitorRunner | None = None
        self.switching = True
        self.started_once = False
        self.closing = False
        self.generation = 0  # of the latest start(); read on the UI thread
        self._lock = threading.Lock()  # one switch at a time
        self._running: list[MonitorRunner] = []  # started and not stopped yet (under _lock)

    def start(self, profile: Profile | None, name: str | None, current_name: str) -> None:
        """Stop the running monitor (if any) and start one for `profile`, or profile `name`."""
        self.runner = None  # the drains stop taking from it at once
        self.switching = True
        self.generation += 1
        self.app.run_worker(
            partial(self._switch, self.generation, profile, name, current_name),
            thread=True,
            exclusive=True,
            group="monitor",
            exit_on_error=False,
            name="monitor",
        )

    @property
    def monitor(self) -> MonitorHandle | None:
        """The running monitor; None before the first start and during a switch."""
        return self.runner.monitor if self.runner is not None else None

    def _stale(self, generation: int) -> bool:
        return generation != self.generation or self.closing

    def _switch(
        self, generation: int, profile: Profile | None, name: str | None, current_name: str
    ) -> None:
        with self._lock:
            # A switch overtaken by a newer one (or by the app closing) does nothing at all:
            # the newer one stops what runs, and may already have started its own monitor.
            if self._stale(generation):
                return
            self._stop_running(current_name, generation)
            if self._stale(generation):
                return
            try:
                if profile is None:
                    assert name is not None
                    profile = self.resolver(name)
                monitor = self.factory(profile, self.clock)
                monitor.start()
            except Exception as error:
                failed_name = name or (profile.name if profile else "?")
                builtin = profile is not None and profile.builtin
                failed = MonitorFailed(failed_name, str(error), generation, builtin)
                self.app.post_message(failed)
                return
            self._running.append(monitor)
            if self._stale(generation) or get_current_worker().is_cancelled:
                self._stop_running(current_name, generation)
                return
        self.app.post_message(MonitorReady(profile, monitor, generation))

    def _stop_running(self, current_name: str, generation: int = 0) -> None:
        """Stop every monitor still running (call with `_lock` held, on a worker thread)."""
        while self._running:
            monitor = self._running.pop(0)
            try:
                monitor.stop()  # its default outlasts a journal close: never two writers
            except Exception as error:  # the new profile still opens; the failure is shown
                failed = MonitorFailed(current_name, f"stopping: {error}", generation)
                self.app.post_message(failed)

    def _stop_all(self, keep: MonitorRunner | None = None) -> None:
        """Stop every running monitor but `keep` (on a thread of its own: it waits its turn)."""
        with self._lock:
            kept = [monitor for monitor in self._running if monitor is keep]
            self._running = [monitor for monitor in self._running if monitor is not keep]
            self._stop_running("?")
            self._running = kept

    def adopt(self, message: MonitorReady) -> bool | None:
        """Make the started monitor the running one: True the first time, None if not shown.

        A monitor of an older start (a switch overtaken by a newer one) is not shown: the newer
        switch stops it, as does closing. A monitor this one replaces is stopped too.
        """
        if self.closing:
            # Started while the app was closing: stop it rather than leak its thread.
            threading.Thread(target=self._stop_all, daemon=True).start()
            return None
        if message.generation != self.generation:
            return None  # stale: the newer switch's worker stops it (it is in `_running`)
        first = not self.started_once
        self.started_once = True
        replaced, self.runner = self.runner, message.monitor
        if replaced is not None and replaced is not message.monitor:
            keep = message.monitor
            threading.Thread(target=self._stop_all, args=(keep,), daemon=True).start()
        self.switching = False
        return first

    def close_soon(self) -> None:
        """The app is unmounting (ctrl+q, a test ending): stop the monitors without waiting."""
        self.closing = True
        self.runner = None
        threading.Thread(target=self._stop_all, daemon=True).start()

    async def close(self) -> None:
        """Quit with `q`: stop the monitor (journal flushed and closed) before exiting."""
        self.closing = True
        self.runner = None
        await asyncio.to_thread(self._stop_all)
