"""The main screen's paint timer, paced: fast while updates arrive, slow when idle.

`DrainPace` (view/pace.py) decides the interval from what each drain took; this owns the
Textual timer and starts it again at the new interval when that changes (rarely: when a stream
goes quiet, and on its first update after the quiet). An idle TUI then wakes a few times a
second, not twenty.
"""

from __future__ import annotations

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
        """`tick` is the screen's guarded timer callback; `clock` a monotonic one of its own,
        as the view's wall clock may be a test's fixed one."""
        self.screen, self.tick, self.clock = screen, tick, clock
        self.pace = DrainPace(busy_hz=paint_hz)
        self.timer: Timer | None = None
        self.restarts = 0  # how often the interval changed (tests)

    @property
    def idle(self) -> bool:
        return self.pace.idle

    def start(self) -> None:
        if self.timer is not None:
            self.timer.stop()
        self.timer = self.screen.set_interval(self.pace.interval, self.tick, name="paint")

    def drained(self, count: int) -> None:
        """A tick drained `count` updates (-1: it let input go first, which says nothing)."""
        if count >= 0 and self.pace.drained(count, self.clock()):
            self.restarts += 1
            self.start()

    def wake(self) -> None:
        """Updates are about to come (a monitor started): the paint rate again."""
        if self.pace.wake():
            self.restarts += 1
            self.start()
