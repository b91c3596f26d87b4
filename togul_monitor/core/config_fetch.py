"""Coalesced fetches of flag configurations: at most one in flight per flag, N overall.

The same rules as the evaluate side's coalescer (core/reevaluate.py), for a fetch of a flag's
configuration instead of its value, so a burst of 500 edits to one flag costs a handful of
fetches and the last one answers after the last edit:
- a request for a flag that waits updates the waiting one (the latest event wins; an event is
  kept over a request without one);
- a request for a flag in flight is remembered; its answer is then reported `superseded` (it
  may predate the newer change) and one more fetch follows;
- `settle` seconds pass before a quiet flag's fetch is sent, so the events of one network read
  cost one fetch;
- an event-driven fetch of a flag is sent at most once per `min_interval` seconds;
- at most `concurrency` fetches run at once (the initial load of thousands of flags too).

No I/O of its own: `fetch` does the request (and never raises: a failure is a `Fetched` with an
`error`), `on_answer` takes the answer on the monitor's loop.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_config import FlagConfig

Trigger = FlagEvent | None  # the event that asked (None: a load or a re-fetch)


@dataclass(frozen=True)
class Fetched:
    config: FlagConfig | None  # None: not found (deleted), or failed (`error`)
    error: str | None = None
    status: int | None = None  # the HTTP status of a failure (None: no answer)


class _Cancelled:
    """Marks a flag whose answer in flight must not be followed by another fetch."""


_CANCELLED = _Cancelled()
Fetch = Callable[[str], Awaitable[Fetched]]
OnAnswer = Callable[[str, Trigger, Fetched, bool], None]  # key, trigger, answer, superseded


def _merge(old: Trigger | _Cancelled, new: Trigger) -> Trigger:
    """An event is kept over a request without one (it says what the answer explains)."""
    if new is None and isinstance(old, FlagEvent):
        return old
    return new


class FetchQueue:
    def __init__(
        self,
        fetch: Fetch,
        on_answer: OnAnswer,
        *,
        concurrency: int = 8,
        settle: float = 0.01,
        min_interval: float = 0.5,
    ) -> None:
        self._fetch = fetch
        self._on_answer = on_answer
        self._concurrency = max(1, concurrency)
        self._settle = settle
        self._min_interval = min_interval
        self._ready: OrderedDict[str, Trigger] = OrderedDict()
        self._paced: dict[str, Trigger] = {}  # fetched too recently: wait for their interval
        self._due: list[tuple[float, int, str]] = []  # heap of (due, order, key) of _paced
        self._due_at: dict[str, float] = {}
        self._order = itertools.count()
        self._in_flight: dict[str, Trigger] = {}
        self._again: dict[str, Trigger | _Cancelled] = {}
        self._last_sent: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        self.sent = 0

    def idle(self) -> bool:
        return not (self._in_flight or self._ready or self._paced or self._again)

    def events_waiting(self) -> bool:
        """A fetch an event asked for waits or runs (a load's fetches do not count)."""
        return any(
            isinstance(trigger, FlagEvent)
            for queue in (self._in_flight, self._ready, self._paced, self._again)
            for trigger in queue.values()
        )

    def request(self, key: str, trigger: Trigger) -> None:
        if self._closed:
            return
        if key in self._in_flight:
            self._again[key] = _merge(self._again.get(key), trigger)
            return
        for queue in (self._ready, self._paced):
            if key in queue:
                queue[key] = _merge(queue[key], trigger)
                return
        self._enqueue(key, trigger)
        self._schedule(asyncio.get_running_loop().time() + self._settle)

    def cancel(self, key: str) -> None:
        """Forget what waits for the flag (deleted); an answer in flight is superseded."""
        self._ready.pop(key, None)
        self._paced.pop(key, None)
        self._due_at.pop(key, None)  # its heap entry is skipped when it comes up
        if key in self._in_flight:
            self._again[key] = _CANCELLED
        else:
            self._again.pop(key, None)

    async def aclose(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def _enqueue(self, key: str, trigger: Trigger) -> None:
        last = self._last_sent.get(key)
        now = asyncio.get_running_loop().time()
        if last is not None and last + self._min_interval > now:
            due = last + self._min_interval
            self._paced[key] = trigger
            self._due_at[key] = due
            heapq.heappush(self._due, (due, next(self._order), key))
            self._schedule(due)
            return
        self._ready[key] = trigger

    def _schedule(self, when: float) -> None:
        timer = self._timer
        if timer is not None and not timer.cancelled() and timer.when() <= when:
            return
        if timer is not None:
            timer.cancel()
        self._timer = asyncio.get_running_loop().call_at(when, self._pump)

    def _pump(self) -> None:
        if self._closed:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        now = asyncio.get_running_loop().time()
        while self._due and self._due[0][0] <= now:
            when, _, key = heapq.heappop(self._due)
            if self._due_at.get(key) == when:
                del self._due_at[key]
                self._ready[key] = self._paced.pop(key)
        slots = self._concurrency - len(self._in_flight)
        while slots > 0 and self._ready:
            key, trigger = self._ready.popitem(last=False)
            self._send(key, trigger, now)
            slots -= 1
        if self._due:
            self._schedule(self._due[0][0])

    def _send(self, key: str, trigger: Trigger, now: float) -> None:
        self._in_flight[key] = trigger
        if trigger is not None:
            # Only event-driven fetches pace the next: a load must not delay the first change.
            self._last_sent[key] = now
            if len(self._last_sent) > 4096:
                horizon = now - self._min_interval
                self._last_sent = {k: t for k, t in self._last_sent.items() if t > horizon}
        self.sent += 1
        task = asyncio.get_running_loop().create_task(self._run(key, trigger))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, key: str, trigger: Trigger) -> None:
        try:
            answer = await self._fetch(key)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug below must not end the fetching for good
            answer = Fetched(None, error=f"fetch failed: {exc!r}"[:300])
        finally:
            self._in_flight.pop(key, None)
        superseded = key in self._again
        if superseded:
            again = self._again.pop(key)
            if not isinstance(again, _Cancelled):
                self._enqueue(key, again)
        try:
            self._on_answer(key, trigger, answer, superseded)
        finally:
            if (self._ready or self._paced) and not self._closed:
                self._pump()


def tie_answer(
    pending: deque[FlagEvent] | None, trigger: Trigger, config: FlagConfig, superseded: bool
) -> tuple[bool, FlagEvent | None]:
    """Whether to keep a fetch's answer (a dropped one is covered by a newer fetch), and the
    event it explains: the pending event of the answer's version when the server says it, else
    the one that asked. The events up to it leave `pending` (core/configs.py)."""
    match: FlagEvent | None = None
    if config.version is not None and pending:
        match = next((e for e in reversed(pending) if e.version == config.version), None)
    if superseded and match is None:
        return False, None
    event = match or trigger
    if pending and event is not None:
        while pending and pending[0] is not event:
            pending.popleft()
        if pending:
            pending.popleft()  # the event itself
    return True, event
