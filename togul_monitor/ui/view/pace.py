"""When the main screen drains the monitor: on its wake, at most once a frame.

The monitor wakes the screen when updates wait in its drain buffer that was empty
(core/updates.py): once per drain at most, so an idle TUI never drains (no timer runs but the
once-a-second one for the status bar's ages, which does not drain). `wake()` says when the next
drain should run: at once after a quiet spell (the first update is painted without waiting a
frame), else one frame after the last drain, so a busy stream is painted at the frame rate and
never more often; a wake while a drain is already due adds nothing (coalesced). The frame is
shorter while the stream is light (the last drain took at most `light_updates`: a hundred
events a second, say): each of its events is painted sooner, and a paint of a few rows costs
little; a busy stream keeps the longer frame, so a paint's cost is paid fewer times a second.
The drain forgets the wake (`fired()`) before it takes the buffer, never after: a wake that
comes after the drain then schedules another, and no update waits for a wake that was dropped.
Nothing here touches Textual: the screen (`screens/main_pace.py`) runs the timers.
"""

from __future__ import annotations

import msgspec

IDLE_AFTER = 2.0  # seconds without an update before the view counts as idle (history at once)


class DrainPace(msgspec.Struct):
    busy_hz: float = 20.0
    light_hz: float = 40.0
    light_updates: int = 12  # a drain of at most this many updates: the stream is light
    idle_after: float = IDLE_AFTER
    light: bool = True  # the last drain took few updates
    scheduled: bool = False  # a drain is due: a wake adds nothing
    last_drain: float | None = None
    last_busy: float | None = None  # the last drain that took an update

    @property
    def frame(self) -> float:
        return 1 / (self.light_hz if self.light else self.busy_hz)

    def wake(self, now: float) -> float | None:
        """Updates wait: in how many seconds to drain, None when a drain is already due."""
        if self.scheduled:
            return None
        self.scheduled = True
        if self.last_drain is None:
            return 0.0
        return max(0.0, self.last_drain + self.frame - now)

    def fired(self, now: float) -> None:
        """The due drain runs now: a wake from here on schedules the next, a frame after this
        one began (the frame counts from the drain's start, not its paint's end)."""
        self.scheduled = False
        self.last_drain = now

    def drained(self, count: int, now: float) -> None:
        """A drain took `count` updates at `now` (-1: it let input go first, and the next try
        is a frame later too)."""
        if count < 0:
            self.last_drain = now
            return
        self.light = count <= self.light_updates
        if count > 0:
            self.last_busy = now

    def idle(self, now: float) -> bool:
        """Nothing arrived for `idle_after` seconds."""
        return self.last_busy is None or now - self.last_busy >= self.idle_after
