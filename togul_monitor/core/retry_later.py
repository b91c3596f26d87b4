"""Failed evaluations tried again later: one timer per flag, answering its newest event.

A failed evaluation (a network error, a 5xx after the client's own retry) is asked again
`delay` seconds later, so a value converges without waiting for its flag's next event. While a
flag's retry waits, newer events of the flag may come (and fail in turn): the retry then asks
for the newest one. Asked for the older event, it would tie the change to that event, and the
reevaluator, which takes the later of two requests, would let it replace a newer one waiting.

A flag whose retries keep failing (a server answering 503 for minutes) waits twice as long
after each, up to `MAX_DELAY`: a profile of 60 flags and contexts must not keep a failing
server busy with a dozen requests a second. A failure is its last retry's own when it comes
within `REPLY_WITHIN` of that retry's time (an evaluate request's time, retries included);
one later (the retry answered) starts again from `delay`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from togul_monitor.core.coalesce import event_kept

MAX_DELAY = 60.0  # seconds between two retries of a flag at most
REPLY_WITHIN = 15.0  # seconds after a retry's time within which a failure is its own


class RetryLater:
    def __init__(self, delay: float, fire: Callable[[str, str | None], None]) -> None:
        self._delay = delay
        self._fire = fire  # (flag, newest event id or None): ask again if still needed
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._events: dict[str, str | None] = {}
        # flag → (its last retry's delay, when that retry was due)
        self._chains: dict[str, tuple[float, float]] = {}

    def schedule(self, flag_key: str, event_id: str | None) -> None:
        """Try `flag_key` again later (at most one retry waits per flag)."""
        if self._delay <= 0:
            return
        self._events[flag_key] = event_kept(self._events.get(flag_key), event_id)
        if flag_key not in self._timers:
            loop = asyncio.get_running_loop()
            now, delay = loop.time(), self._delay
            last = self._chains.get(flag_key)
            if last is not None and 0 <= now - last[1] < REPLY_WITHIN:  # it failed in turn
                delay = min(last[0] * 2, MAX_DELAY)
            self._chains[flag_key] = (delay, now + delay)
            self._timers[flag_key] = loop.call_later(delay, self._due, flag_key)

    def newer_event(self, flag_key: str, event_id: str | None) -> None:
        """An event of `flag_key` was asked for: a retry waiting for the flag answers it."""
        if flag_key in self._timers:
            self._events[flag_key] = event_kept(self._events[flag_key], event_id)

    def forget(self, keys: Sequence[str]) -> None:
        """Forgotten flags (core/deleted_flags.py): no retry waits, no chain is kept."""
        for key in keys:
            timer = self._timers.pop(key, None)
            if timer is not None:
                timer.cancel()
            self._events.pop(key, None)
            self._chains.pop(key, None)

    def cancel(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._events.clear()
        self._chains.clear()

    def _due(self, flag_key: str) -> None:
        self._timers.pop(flag_key, None)
        self._fire(flag_key, self._events.pop(flag_key, None))
