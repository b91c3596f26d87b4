"""The main screen's drains, woken by the monitor rather than polled.

`DrainPace` (view/pace.py) decides when the next drain runs; this runs it on Textual's loop.
The monitor calls `wake_threadsafe` on its own thread when updates wait (core/updates.py): it
only posts `wake` to this app's loop (`call_soon_threadsafe`, never blocking the monitor), with
the context captured at `start()`, so the timer it makes belongs to the app. A drain due at once
is a `call_later` (behind the keys already queued: they go first); one due a frame later a
one-shot timer. Nothing repeats: an idle screen drains nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections.abc import Callable

from textual.screen import Screen
from textual.timer import Timer

from togul_monitor.ui.view.pace import DrainPace


class PaintPacer:
    def __init__(
        self,
        screen: Screen[None],
        tick: Callable[[], None],
        *,
        paint_hz: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`tick` is the screen's guarded drain-and-paint; it reports back through `drained`.
        `clock` is a monotonic one of its own, as the view's wall clock may be a test's fixed
        one."""
        self.screen, self.tick, self.clock = screen, tick, clock
        self.pace = DrainPace(busy_hz=paint_hz)
        self.timer: Timer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._context: contextvars.Context | None = None
        # Counters, for tests: wakes asked for (by the monitor: `monitor_wakes`), drains run.
        self.wakes = self.monitor_wakes = self.ticks = 0

    @property
    def idle(self) -> bool:
        return self.pace.idle(self.clock())

    def start(self) -> None:
        """On the app's loop (the screen's mount): the loop and context wakes are posted to."""
        self._loop = asyncio.get_running_loop()
        self._context = contextvars.copy_context()
        self.wake()

    def wake_threadsafe(self) -> None:
        """The monitor's `on_updates` (its own thread): a wake, posted to the app's loop."""
        loop, context = self._loop, self._context
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nothing to paint
            loop.call_soon_threadsafe(self._monitor_wake, context=context)

    def _monitor_wake(self) -> None:
        self.monitor_wakes += 1
        self.wake()

    def wake(self) -> None:
        """Updates wait (or may: a monitor started, a tick left work): drain within a frame."""
        self.wakes += 1
        delay = self.pace.wake(self.clock())
        if delay is None:
            return  # coalesced: a drain is due anyway
        if delay <= 0:
            self.screen.call_later(self._fire)
        else:
            self.timer = self.screen.set_timer(delay, self._fire, name="paint")

    def _fire(self) -> None:
        self.timer = None
        # Forgotten before the drain: a wake after it schedules the next (view/pace.py).
        self.pace.fired(self.clock())
        self.ticks += 1
        self.tick()

    def drained(self, count: int, *, more: bool = False) -> None:
        """A tick drained `count` updates (-1: it let input go first); `more`: it left work for
        a later frame (held values, a deferred drain), which a wake of its own asks for."""
        self.pace.drained(count, self.clock())
        if more or count < 0:
            self.wake()
