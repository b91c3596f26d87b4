"""A headless reader's updates in batches: the drain buffer (core/updates.py), on the loop.

A headless command that runs the monitor in its own loop (`tail`, through `run_headless` with
`drained=True`) may take its updates the way the TUI does: the whole drain buffer at once,
woken by the buffer's `on_updates`, instead of one `await` per update from an `UpdateStream`.
Under a burst that is one wake per commit (at most every 10 ms, core/snapshot.py) instead of one
per event, and nothing is copied into a subscriber's queue. What a reader gets is the same: every
update in publication order, bounded by `max_pending` (a `Dropped` says how many were lost).
The only difference is when: an update is handed over at the commit after it (at most
COMMIT_EVERY later), with the snapshot that reflects it.

The wake is an asyncio.Event set on the monitor's loop, which is this reader's loop: cheap, and
never blocking, as `on_updates` must be. The reader forgets the wake before it drains (the rule
in core/updates.py), so no update waits for a wake that was lost.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from togul_monitor.core.updates import MonitorUpdate


class DrainedUpdates:
    """The monitor's updates from its drain buffer: `batch()` takes all that wait; iterating
    hands them over one by one (for a reader that wants items, `tail --record`'s say)."""

    def __init__(self, drain: Callable[[], list[MonitorUpdate]]) -> None:
        self._drain = drain
        self._wake = asyncio.Event()
        # Taken by `batch`, not yet handed over by `__anext__`.
        self._left: deque[MonitorUpdate] = deque()

    def waiting(self) -> list[MonitorUpdate]:
        """What waits to be handed over, at once (a stop counts what it leaves unprinted)."""
        self._left.extend(self._drain())
        return list(self._left)

    def wake(self) -> None:
        """The drain buffer's `on_updates` (called on the monitor's loop)."""
        self._wake.set()

    async def batch(self, timeout: float | None = None) -> list[MonitorUpdate]:
        """Every update waiting, oldest first, once there is at least one; TimeoutError when
        none came within `timeout` seconds."""
        if self._left:
            kept = list(self._left)
            self._left.clear()
            return kept
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            self._wake.clear()  # before the drain: a commit after it wakes again
            taken = self._drain()
            if taken:
                return taken
            if deadline is None:
                await self._wake.wait()
                continue
            left = deadline - loop.time()
            if left <= 0:
                raise asyncio.TimeoutError
            try:
                await asyncio.wait_for(self._wake.wait(), left)
            except asyncio.TimeoutError:
                taken = self._drain()  # a last look: nothing is lost to the timeout
                if taken:
                    return taken
                raise

    def __aiter__(self) -> DrainedUpdates:
        return self

    async def __anext__(self) -> MonitorUpdate:
        if not self._left:
            self._left.extend(await self.batch())
        return self._left.popleft()
