"""Fan-out of a monitor's updates: to `updates()` iterators on its loop, and to a buffer that
another thread empties with `drain()` (the TUI). Bounded everywhere; drops are counted."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

#: Ends an update stream (after `stop()`, or when the stream task failed).
END = object()


class UpdateStream:
    """The async iterator `Monitor.updates()` returns; subscribed from the moment it is made."""

    def __init__(self, hub: UpdateHub, maxsize: int) -> None:
        self._hub = hub
        self._queue: deque[object] = deque()
        self._maxsize = maxsize
        self._event = asyncio.Event()
        self.dropped = 0

    def _put(self, update: object) -> None:
        if update is not END and len(self._queue) >= self._maxsize:
            self.dropped += 1
            self._hub.dropped += 1
            return
        self._queue.append(update)
        self._event.set()

    def __aiter__(self) -> UpdateStream:
        return self

    async def __anext__(self) -> Any:
        while not self._queue:
            self._event.clear()
            await self._event.wait()
        item = self._queue.popleft()
        if item is END:
            self._hub.unsubscribe(self._put)
            raise StopAsyncIteration
        return item

    async def aclose(self) -> None:
        self._hub.unsubscribe(self._put)


class UpdateHub:
    """Publishing runs on the monitor's loop; only `drain()` is called from other threads."""

    def __init__(self, max_pending: int) -> None:
        self.max_pending = max_pending
        self.dropped = 0  # updates a reader did not take in time (written on the loop only)
        self._subscribers: list[Callable[[object], None]] = []
        self._drain_buffer: deque[Any] | None = None
        self._drain_lock = threading.Lock()

    def publish(self, update: object) -> None:
        buffer = self._drain_buffer
        if buffer is not None:
            # No lock: only the loop appends and only drain() pops; deque ops are atomic.
            if len(buffer) < self.max_pending:
                buffer.append(update)
            else:
                self.dropped += 1
        for subscriber in self._subscribers:
            subscriber(update)

    def publish_many(self, updates: list[Any]) -> None:
        buffer = self._drain_buffer
        if buffer is not None:
            room = self.max_pending - len(buffer)
            if room >= len(updates):
                buffer.extend(updates)
            else:
                if room > 0:
                    buffer.extend(updates[:room])
                self.dropped += len(updates) - max(room, 0)
        for subscriber in self._subscribers:
            for update in updates:
                subscriber(update)

    def subscribe(self, *, ended: bool) -> UpdateStream:
        stream = UpdateStream(self, self.max_pending)
        if ended:
            stream._put(END)
        else:
            self._subscribers.append(stream._put)
        return stream

    def unsubscribe(self, subscriber: Callable[[object], None]) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(subscriber)

    def end_all(self) -> None:
        """End every current update stream (each unsubscribes when it reads the end)."""
        for subscriber in list(self._subscribers):
            subscriber(END)

    def enable_drain(self) -> None:
        if self._drain_buffer is None:
            self._drain_buffer = deque()

    def drain(self) -> list[Any]:
        """All updates since the last call, oldest first. Thread-safe."""
        buffer = self._drain_buffer
        if buffer is None:
            self.enable_drain()
            return []
        with self._drain_lock:  # two drainers must not interleave their pops
            return [buffer.popleft() for _ in range(len(buffer))]
