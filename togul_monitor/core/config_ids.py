"""Learning flag ids for the configuration fetches (core/configs.py): a flag created, a key never
listed, or a 404 without a deletion is looked up in a listing of the environment's flags.

Flag keys come from the server, so listings are paced: one at a time, at most one every
`LIST_EVERY` seconds, whatever the number of keys waiting (each listing names every flag of the
environment). A listing answers the keys that waited when it was sent; keys that arrive during
it wait for the next one (the listing may predate their flag). So a server naming a key on every
event cannot keep a listing from being used: each round makes progress for the keys it took.

Runs on the monitor's loop; `on_listed` and `on_failed` are called there.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from togul_monitor.client.management import ManagementError
from togul_monitor.core.config_fetch import FetchQueue, Trigger

LIST_EVERY = 1.0  # seconds between two listings of the environment's flags
Waiting = dict[str, tuple[Trigger, "str | None"]]  # key → (trigger, the id that answered 404)


class IdLookup:
    def __init__(
        self,
        list_flags: Callable[[], Awaitable[dict[str, str]]],
        on_listed: Callable[[dict[str, str], Waiting, bool], None],
        on_failed: Callable[[ManagementError], bool],
        retry_delay: Callable[[], float],
    ) -> None:
        """`on_listed(listed, answered, discover)`; `on_failed(exc)`: True to try again after
        `retry_delay()` seconds (False: the token is refused, stop)."""
        self._list_flags = list_flags
        self._on_listed = on_listed
        self._on_failed = on_failed
        self._retry_delay = retry_delay
        self.waiting: Waiting = {}
        self._in_listing: Waiting = {}
        self.discover = False  # the next listing also adds the flags it finds (a re-fetch)
        self._task: asyncio.Task[None] | None = None
        self._listed_at = -LIST_EVERY  # loop time the last listing was sent
        self._retry: asyncio.TimerHandle | None = None
        self._closed = False

    def __len__(self) -> int:
        return len(self.waiting) + len(self._in_listing)

    def __contains__(self, key: object) -> bool:
        return key in self.waiting or key in self._in_listing

    def learning(self) -> set[str]:
        """The flags an event waits for the id of (`tail --count` waits for their diffs)."""
        queues = (self.waiting, self._in_listing)
        return {key for q in queues for key, (trigger, _) in q.items() if trigger is not None}

    def request(self, key: str, trigger: Trigger, failed_id: str | None) -> None:
        old = self.waiting.get(key)
        if old is not None and trigger is None:
            trigger = old[0]
        self.waiting[key] = (trigger, failed_id)
        self._start()

    def discover_all(self) -> None:
        """The next listing also adds the flags it finds (a re-fetch of everything)."""
        self.discover = True
        self._start()

    def forget(self, key: str) -> None:
        self.waiting.pop(key, None)

    def _start(self) -> None:
        if self._closed or self._retry is not None:
            return
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def aclose(self) -> None:
        self._closed = True
        if self._retry is not None:
            self._retry.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while (self.waiting or self.discover) and not self._closed:
            wait = self._listed_at + LIST_EVERY - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self._in_listing, self.waiting = self.waiting, {}
            discover, self.discover = self.discover, False
            self._listed_at = loop.time()
            try:
                listed = await self._list_flags()
            except ManagementError as exc:
                # Back in the queue (newer triggers win), then tried again later or not at all.
                self.waiting = {**self._in_listing, **self.waiting}
                self._in_listing = {}
                self.discover = self.discover or discover
                if self._on_failed(exc):
                    self._retry = loop.call_later(max(self._retry_delay(), 0.1), self._retried)
                return
            answered, self._in_listing = self._in_listing, {}
            if not self._closed:
                self._on_listed(listed, answered, discover)

    def _retried(self) -> None:
        self._retry = None
        self._start()


def answered_mark(queue: FetchQueue, ids: IdLookup) -> Callable[[], bool]:
    """Whether the fetches events asked for so far have answered (`FetchQueue.mark`, hurried),
    those of flags whose id `ids` is learning too, once a listing has named them."""
    fetches, learning = queue.mark(hurry=True), ids.learning()
    listed: list[Callable[[], bool]] = []

    def answered() -> bool:
        if learning and not listed:
            if any(key in ids for key in learning):
                return False
            listed.append(queue.mark(hurry=True))  # their fetches, asked once listed
        return fetches() and all(mark() for mark in listed)

    return answered
