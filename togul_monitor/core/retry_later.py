"""Failed evaluations tried again later: one timer per flag, answering its newest event.

A failed evaluation (a network error, a 5xx after the client's own retry) is asked again
`delay` seconds later, so a value converges without waiting for its flag's next event. While a
flag's retry waits, newer events of the flag may come (and fail in turn): the retry then asks
for the newest one. Asked for the older event, it would tie the change to that event, and the
reevaluator, which takes the later of two requests, would let it replace a newer one waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from togul_monitor.core.coalesce import event_kept


class RetryLater:
    def __init__(self, delay: float, fire: Callable[[str, str | None], None]) -> None:
        self._delay = delay
        self._fire = fire  # (flag, newest event id or None): ask again if still needed
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._events: dict[str, str | None] = {}

    def schedule(self, flag_key: str, event_id: str | None) -> None:
        """Try `flag_key` again later (at most one retry waits per flag)."""
        if self._delay <= 0:
            return
        self._events[flag_key] = event_kept(self._events.get(flag_key), event_id)
        if flag_key not in self._timers:
            loop = asyncio.get_running_loop()
            self._timers[flag_key] = loop.call_later(self._delay, self._due, flag_key)

    def newer_event(self, flag_key: str, event_id: str | None) -> None:
        """An event of `flag_key` was asked for: a retry waiting for the flag answers it."""
        if flag_key in self._timers:
            self._events[flag_key] = event_kept(self._events[flag_key], event_id)

    def cancel(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._events.clear()

    def _due(self, flag_key: str) -> None:
        self._timers.pop(flag_key, None)
        self._fire(flag_key, self._events.pop(flag_key, None))
