"""The one running MonitorThread of the app: start, switch and stop it off the event loop.

`MonitorThread.start()` and `stop()` block (a thread join, a journal close), so every start and
switch runs in one exclusive thread worker: a second switch cancels the first, and a monitor
that finished starting for a cancelled switch is stopped again at once. The worker never
touches widgets; it posts `MonitorReady` or `MonitorFailed` to the app.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from textual.app import App
from textual.css.query import NoMatches
from textual.worker import get_current_worker

from togul_monitor.config.profiles import Profile
from togul_monitor.ui.messages import MonitorFailed, MonitorReady

Clock = Callable[[], float]
MonitorFactory = Callable[[Profile, Clock], Any]
ProfileResolver = Callable[[str], Profile]

STOP_TIMEOUT = 5.0

F = TypeVar("F", bound=Callable[..., Any])


def while_mounted(method: F) -> F:
    """Skip a timer tick or a late worker message once the main screen is being torn down.

    Timers and worker messages can still arrive while the app exits; by then the widgets are
    gone and there is nothing to paint.
    """

    @functools.wraps(method)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self._exiting or not self.screen_stack:
            return None
        try:
            return method(self, *args, **kwargs)
        except NoMatches:
            return None

    return guarded  # type: ignore[return-value]


def default_monitor_factory(profile: Profile, clock: Clock) -> Any:
    from togul_monitor.monitor import MonitorThread

    return MonitorThread(profile, clock=clock)


def default_profile_resolver(name: str) -> Profile:
    from togul_monitor.config.resolve import resolve_profile

    return resolve_profile(name)


def stop_in_background(monitor: Any) -> None:
    """Stop `monitor` without waiting: used when the app is already going away."""
    threading.Thread(target=monitor.stop, args=(STOP_TIMEOUT,), daemon=True).start()


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
        self.monitor: Any = None
        self.switching = True
        self.started_once = False
        self.closing = False

    def start(self, profile: Profile | None, name: str | None, current_name: str) -> None:
        """Stop the running monitor (if any) and start one for `profile`, or profile `name`."""
        old, self.monitor = self.monitor, None  # the paint timer stops draining it at once
        self.switching = True
        self.app.run_worker(
            partial(self._switch, old, profile, name, current_name),
            thread=True,
            exclusive=True,
            group="monitor",
            exit_on_error=False,
            name="monitor",
        )

    def _switch(
        self, old: Any, profile: Profile | None, name: str | None, current_name: str
    ) -> None:
        if old is not None:
            try:
                old.stop(STOP_TIMEOUT)
            except Exception as error:  # the new profile still opens; the failure is shown
                self.app.post_message(MonitorFailed(current_name, f"stopping: {error}"))
        try:
            if profile is None:
                assert name is not None
                profile = self.resolver(name)
            monitor = self.factory(profile, self.clock)
            monitor.start()
        except Exception as error:
            failed_name = name or (profile.name if profile else "?")
            self.app.post_message(MonitorFailed(failed_name, str(error)))
            return
        if get_current_worker().is_cancelled:
            monitor.stop(STOP_TIMEOUT)
            return
        self.app.post_message(MonitorReady(profile, monitor))

    def adopt(self, message: MonitorReady) -> bool | None:
        """Make the started monitor the running one: True the first time, None if closing."""
        if self.closing:
            # Started while the app was closing: stop it rather than leak its thread.
            stop_in_background(message.monitor)
            return None
        first = not self.started_once
        self.started_once = True
        self.monitor = message.monitor
        self.switching = False
        return first

    def close_soon(self) -> None:
        """The app is unmounting (ctrl+q, a test ending): stop the monitor without waiting."""
        self.closing = True
        monitor, self.monitor = self.monitor, None
        if monitor is not None:
            stop_in_background(monitor)

    async def close(self) -> None:
        """Quit with `q`: stop the monitor (journal flushed and closed) before exiting."""
        self.closing = True
        monitor, self.monitor = self.monitor, None
        if monitor is not None:
            await asyncio.to_thread(monitor.stop, STOP_TIMEOUT)
