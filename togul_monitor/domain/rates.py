"""Events per second over the last minute, in one-second buckets (for the status bar sparkline).

Only complete seconds are shown: the current second's count is still growing, so a figure read
from it would saw from a few events just after each second starts up to the real rate just
before it ends (and read 0 at a steady 50 events/s when read at the wrong moment). The status
bar's events/s is the last bucket, the last complete second, and its sparkline ends with it.
"""

from __future__ import annotations

import math


class RateWindow:
    def __init__(self, seconds: int = 60) -> None:
        self.seconds = seconds
        self._counts = [0] * seconds
        self._stamps = [-1] * seconds  # which absolute second each slot currently holds
        self._current = -1  # the second of the last add, and its slot (the hot path)
        self._current_slot = 0

    def add(self, at: float, n: int = 1) -> None:
        second = int(at // 1)
        if second == self._current:
            self._counts[self._current_slot] += n
            return
        slot = second % self.seconds
        self._current, self._current_slot = second, slot
        if self._stamps[slot] != second:
            self._stamps[slot] = second
            self._counts[slot] = 0
        self._counts[slot] += n

    def buckets(self, now: float) -> tuple[int, ...]:
        """The last `seconds` complete one-second buckets, oldest first: the newest is the second
        before the one `now` is in (not yet complete, so not shown)."""
        last_complete = math.floor(now) - 1
        out = []
        for second in range(last_complete - self.seconds + 1, last_complete + 1):
            slot = second % self.seconds
            out.append(self._counts[slot] if self._stamps[slot] == second else 0)
        return tuple(out)
