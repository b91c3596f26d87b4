"""A spent evaluation quota's pause (403 `billing.evaluation_blocked`): the credentials are
fine, so nothing halts; evaluation waits until the pause ends, keeping what is asked meanwhile
(core/evaluation.py asks again: one flag first, the rest once an answer is no quota). Each pause
that a quota answer ends is twice as long as the one before, within a cap; a longer
`Retry-After` from the server wins, within that cap.

Runs on the monitor's loop, as its owner does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from togul_monitor.core.coalesce import event_kept


class QuotaPause:
    def __init__(self) -> None:
        self._timer: asyncio.TimerHandle | None = None
        self.until = 0.0  # the clock's time the pause ends
        self._pauses = 0  # pauses in a row, with no answer that was no quota between them
        # What was asked meanwhile: flag → the event id to ask for (None: a baseline).
        self.deferred: dict[str, str | None] = {}

    @property
    def paused(self) -> bool:
        return self._timer is not None

    def defer(self, flag_key: str, event_id: str | None) -> None:
        # As the reevaluator merges two requests: an event's id is kept over a baseline's None.
        self.deferred[flag_key] = event_kept(self.deferred.get(flag_key), event_id)

    def begin(
        self,
        now: float,
        retry_after: float | None,
        base: float,
        cap: float,
        on_over: Callable[[], None],
    ) -> None:
        """A quota answer: pause, unless paused already (answers still in flight join it)."""
        if self._timer is not None:
            return
        self._pauses += 1
        delay = base * 2 ** min(self._pauses - 1, 16)
        if retry_after is not None:
            delay = max(delay, retry_after)
        delay = min(delay, cap)
        self.until = now + delay
        self._timer = asyncio.get_running_loop().call_later(delay, self._over, on_over)

    def _over(self, on_over: Callable[[], None]) -> None:
        self._timer = None
        on_over()

    def answered(self) -> dict[str, str | None]:
        """An answer that was no quota, outside a pause: the pauses start short again, and what
        was deferred may be asked now (handed over, kept no longer)."""
        if self._timer is not None:
            return {}
        self._pauses = 0
        deferred, self.deferred = self.deferred, {}
        return deferred

    def take_one(self) -> tuple[str, str | None] | None:
        """The first flag deferred, to ask when a pause ends (None: nothing waits)."""
        if not self.deferred:
            return None
        key = next(iter(self.deferred))
        return key, self.deferred.pop(key)

    def forget(self, keys: Sequence[str]) -> None:
        """Forgotten flags (core/deleted_flags.py) are not asked when the pause ends."""
        for key in keys:
            self.deferred.pop(key, None)

    def end(self) -> None:
        """No pause any more, nothing deferred (credentials rejected, the monitor stopping)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.deferred.clear()
