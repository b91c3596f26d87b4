"""How often an unusable event has every value re-evaluated (core/intake.py): the official SDKs
take such an event as "something changed" without naming one flag, and they may come in a
flood. The first costs one re-evaluation of every value at once, the next ones at most one a
second, and the last of them is always followed by one. On the monitor's loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

REEVALUATE_ALL_INTERVAL = 1.0  # seconds between re-evaluations for unusable events


class UnusablePace:
    """`on_outage(unseen, ask)` as the intake's: each unusable event marked when it came, and
    every value asked again now or when the interval is over."""

    def __init__(self, on_outage: Callable[[bool, bool], None]) -> None:
        self._on_outage = on_outage
        self._reevaluated_at: float | None = None  # loop time of the last one for an event
        self._timer: asyncio.TimerHandle | None = None
        self._stopped = False

    def unusable(self) -> None:
        """An unusable event: every value is re-evaluated now, or (when that was done less than
        REEVALUATE_ALL_INTERVAL ago) once more when the interval is over."""
        if self._timer is not None:
            self._on_outage(True, False)  # marked now; the one due comes after it, covers it
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        last = self._reevaluated_at
        if last is None or now - last >= REEVALUATE_ALL_INTERVAL:
            self._reevaluated_at = now
            self._on_outage(True, True)
            return
        self._on_outage(True, False)  # marked now, re-evaluated when the interval is over
        self._timer = loop.call_at(last + REEVALUATE_ALL_INTERVAL, self._due)

    def stop(self) -> None:
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _due(self) -> None:
        self._timer = None
        if self._stopped:
            return
        self._reevaluated_at = asyncio.get_running_loop().time()
        self._on_outage(False, True)  # each unusable event marked when it came
