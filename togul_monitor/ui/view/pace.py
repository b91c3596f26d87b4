"""How often the paint timer drains the monitor: fast while updates arrive, slow when idle.

The timer drains at `busy_hz` (the paint rate) while anything arrives. After `idle_after`
seconds of empty drains (heartbeats and statuses alone count as empty) it slows to `idle_hz`:
an idle TUI then wakes twice a second instead of twenty times (the status bar's ages still
move), and the first drain that finds an update (at most 1 / `idle_hz` late) speeds it up again.
Nothing here touches Textual: the screen (`screens/main_pace.py`) asks `drained()` after every
drain and restarts its timer when the answer is a new interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field

IDLE_AFTER = 2.0  # seconds without an update before the drain slows down
IDLE_HZ = 2.0  # the drain's rate while idle (the status bar's texts: every other drain)


@dataclass
class DrainPace:
    busy_hz: float = 20.0
    idle_hz: float = IDLE_HZ
    idle_after: float = IDLE_AFTER
    quiet_since: float | None = None  # when the drains began to come back empty
    interval: float = field(init=False)

    def __post_init__(self) -> None:
        self.interval = 1 / self.busy_hz

    @property
    def idle(self) -> bool:
        return self.interval > 1 / self.busy_hz

    def drained(self, count: int, now: float) -> bool:
        """A drain took `count` updates at `now`: True when the interval changed."""
        if count:
            self.quiet_since = None
            interval = 1 / self.busy_hz
        else:
            if self.quiet_since is None:
                self.quiet_since = now
            quiet = now - self.quiet_since >= self.idle_after
            interval = 1 / self.idle_hz if quiet else 1 / self.busy_hz
        changed = interval != self.interval
        self.interval = interval
        return changed

    def wake(self) -> bool:
        """Something will arrive (a monitor started, a key asked for a repaint): busy again.
        True when the interval changed."""
        self.quiet_since = None
        changed = self.idle
        self.interval = 1 / self.busy_hz
        return changed
