"""Coalesced re-evaluation: at most one request in flight per flag, at most N in flight overall.

A burst of 1,000 changes to one flag must cost a handful of evaluate calls, not 1,000. Rules:
- a request for a flag that is already waiting replaces the waiting one (the latest event wins);
- a request for a flag that is in flight is remembered; when the in-flight answer comes back it
  is reported as `superseded` (it may predate the newer change) and one more request is sent;
- `settle` seconds pass between the first request of a quiet flag and its sending, so the
  events that arrive together (one TCP read usually holds many) cost one request;
- a flag is sent at most once per `min_interval` seconds: a flag that changes continuously is
  re-evaluated about once a second (what a person can follow), not once per round trip, so a
  firehose of events does not turn into a firehose of evaluate calls;
- a flag seen for the first time (`new`) waits its turn in a queue of its own, sent at most
  `new_rate` a second (after a burst of `new_burst`): a server that names ever new flag keys
  must not turn each into an evaluate call at once; changes of known flags go first;
- at most `concurrency` requests run at once; the rest wait in arrival order.

Every operation is O(1) (amortised; O(log n) for a flag waiting for its interval), whatever the
number of flags waiting: a queue of 200,000 answers as fast as one of 1,000.

No clock, no I/O of its own: `evaluate` does the request and `on_result` takes the answer, so the
monitor keeps every state change on its own loop.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from togul_monitor.client.evaluate import EvaluateResult, Outcome

Evaluate = Callable[[str], Awaitable[EvaluateResult]]
# on_result(flag_key, trigger_event_id, result, superseded)
OnResult = Callable[[str, "str | None", EvaluateResult, bool], None]


class _Cancelled:
    """Marks a flag whose answer in flight must not be followed by another request."""


_CANCELLED = _Cancelled()
_PRUNE_LAST_SENT_AT = 4096  # send times kept before the stale ones are forgotten
NEW_FLAGS_PER_SECOND = 20.0  # first evaluations of flags first seen (docs/protocol.md)
NEW_FLAGS_BURST = 20


class Reevaluator:
    def __init__(
        self,
        evaluate: Evaluate,
        on_result: OnResult,
        *,
        concurrency: int = 8,
        settle: float = 0.01,
        min_interval: float = 1.0,
        new_rate: float | None = None,
        new_burst: int | None = None,
    ) -> None:
        self._evaluate = evaluate
        self._on_result = on_result
        self._concurrency = max(1, concurrency)
        self._settle = settle
        self._min_interval = min_interval
        # What waits, flag -> latest trigger event id, each queue in arrival order; a flag is in
        # at most one of them. OrderedDict: popping the oldest is O(1), as is removing any.
        self._ready: OrderedDict[str, str | None] = OrderedDict()  # sent when a slot frees
        self._paced: dict[str, str | None] = {}  # sent too recently: waits for its interval
        self._due: list[tuple[float, int, str]] = []  # heap of (due, order, flag) of _paced
        self._due_at: dict[str, float] = {}  # the live heap entry of each paced flag
        self._order = itertools.count()
        self._new: OrderedDict[str, str | None] = OrderedDict()  # first seen: at new_rate
        # None: the module's values, read now (tests change them).
        self._new_rate = max(NEW_FLAGS_PER_SECOND if new_rate is None else new_rate, 1e-3)
        self._new_burst = float(max(1, NEW_FLAGS_BURST if new_burst is None else new_burst))
        self._tokens = self._new_burst  # token bucket of first evaluations
        self._tokens_at: float | None = None
        self._in_flight: dict[str, str | None] = {}
        # Events that arrived during the flight (or _CANCELLED: send nothing more).
        self._again: dict[str, str | None | _Cancelled] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._event_driven: set[str] = set()  # flags whose waiting request an event made
        self._last_sent: dict[str, float] = {}  # loop time each flag was last sent
        self._prune_at = _PRUNE_LAST_SENT_AT
        self._closed = False
        self.sent = 0  # evaluations started (each may be two HTTP attempts)

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    @property
    def waiting(self) -> int:
        return len(self._ready) + len(self._paced) + len(self._new)

    def _queue_of(self, flag_key: str) -> dict[str, str | None] | None:
        for queue in (self._ready, self._paced, self._new):
            if flag_key in queue:
                return queue
        return None

    def busy(self, flag_key: str) -> bool:
        return (
            flag_key in self._in_flight
            or flag_key in self._again
            or self._queue_of(flag_key) is not None
        )

    def idle(self) -> bool:
        return not (self._in_flight or self.waiting or self._again)

    def request(
        self, flag_key: str, event_id: str | None, *, event: bool = False, new: bool = False
    ) -> None:
        """Ask for `flag_key`'s value; `event`: an event of the flag asks (it paces the next
        send), whether or not the event had an SSE id (the documented stream has none); `new`:
        the flag was never seen before (its first evaluation is rate-limited)."""
        if self._closed:
            return
        if event:
            self._event_driven.add(flag_key)
        if flag_key in self._in_flight:
            self._again[flag_key] = event_id
            return
        queue = self._queue_of(flag_key)
        if queue is not None:
            # Already waiting: a pump is already due for it (settle, pacing or a free slot).
            queue[flag_key] = event_id  # keeps its place in the queue, takes the latest id
            return
        self._enqueue(flag_key, event_id, new=new)
        self._schedule(asyncio.get_running_loop().time() + self._settle)

    def _enqueue(self, flag_key: str, event_id: str | None, *, new: bool = False) -> None:
        last = self._last_sent.get(flag_key)
        if last is not None:
            due = last + self._min_interval
            if due > asyncio.get_running_loop().time():
                self._paced[flag_key] = event_id
                self._due_at[flag_key] = due
                heapq.heappush(self._due, (due, next(self._order), flag_key))
                return
        (self._new if new else self._ready)[flag_key] = event_id

    def _unqueue(self, flag_key: str) -> None:
        self._ready.pop(flag_key, None)
        self._new.pop(flag_key, None)
        if flag_key in self._due_at:
            del self._paced[flag_key], self._due_at[flag_key]  # its heap entry: skipped later
            if len(self._due) > 2 * len(self._paced) + 64:
                self._due = [(t, next(self._order), k) for k, t in self._due_at.items()]
                heapq.heapify(self._due)

    def cancel(self, flag_key: str) -> None:
        """Forget what is waiting for the flag (deleted); an answer in flight is superseded."""
        self._unqueue(flag_key)
        self._again.pop(flag_key, None)
        self._event_driven.discard(flag_key)
        if flag_key in self._in_flight:
            self._again[flag_key] = _CANCELLED

    def take_waiting(self) -> dict[str, str | None]:
        """Remove and return what waits to be sent (flag → trigger event id), known flags first;
        answers in flight and the requests that follow them are left alone."""
        waiting = {**self._ready, **self._paced, **self._new}
        self._forget_waiting()
        return waiting

    def _forget_waiting(self) -> None:
        self._ready.clear()
        self._paced.clear()
        self._new.clear()
        self._due.clear()
        self._due_at.clear()

    def clear(self) -> None:
        """Drop everything waiting (credentials rejected: asking again would only be refused)."""
        self._forget_waiting()
        for key in list(self._again):
            self._again[key] = _CANCELLED

    async def aclose(self) -> None:
        self._closed = True
        self._forget_waiting()
        if self._timer is not None:
            self._timer.cancel()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def _schedule(self, when: float) -> None:
        timer = self._timer
        if timer is not None and not timer.cancelled() and timer.when() <= when:
            return  # an earlier pump is already due
        if timer is not None:
            timer.cancel()
        self._timer = asyncio.get_running_loop().call_at(when, self._pump)

    def _pump(self) -> None:
        if self._closed:
            return
        if self._timer is not None:
            self._timer.cancel()  # this pump does its work; the next wake is decided below
            self._timer = None
        now = asyncio.get_running_loop().time()
        due, due_at = self._due, self._due_at
        while due and due[0][0] <= now:  # paced flags whose interval is over
            when, _, flag_key = heapq.heappop(due)
            if due_at.get(flag_key) == when:
                del due_at[flag_key]
                self._ready[flag_key] = self._paced.pop(flag_key)
        slots = self._concurrency - len(self._in_flight)
        while slots > 0 and self._ready:
            self._send(*self._ready.popitem(last=False), now)
            slots -= 1
        wake = due[0][0] if due else None
        if slots > 0 and self._new:
            self._refill(now)
            while slots > 0 and self._new and self._tokens >= 1:
                self._tokens -= 1
                self._send(*self._new.popitem(last=False), now)
                slots -= 1
            if self._new and slots > 0:  # out of tokens: wake when the next one is there
                when = now + (1 - self._tokens) / self._new_rate
                wake = when if wake is None else min(wake, when)
        if wake is not None:
            self._schedule(wake)

    def _refill(self, now: float) -> None:
        if math.isinf(self._new_rate):
            self._tokens = self._new_burst  # no limit (tests that are not about it)
        elif self._tokens_at is not None:
            gained = (now - self._tokens_at) * self._new_rate
            self._tokens = min(self._new_burst, self._tokens + gained)
        self._tokens_at = now

    def _send(self, flag_key: str, event_id: str | None, now: float) -> None:
        self._in_flight[flag_key] = event_id
        paced = flag_key in self._event_driven or event_id is not None
        self._event_driven.discard(flag_key)
        if paced:
            # Only event-driven sends pace the next one: a baseline (start, outage,
            # re-evaluate all) must not delay the answer to the first real change.
            self._last_sent[flag_key] = now
            if len(self._last_sent) > self._prune_at:
                self._prune_last_sent(now)
        self.sent += 1
        task = asyncio.get_running_loop().create_task(self._run(flag_key, event_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _prune_last_sent(self, now: float) -> None:
        """Forget send times that no longer pace anything, so that a stream of ever new flag
        keys does not grow this map without bound (amortised: runs once per many sends)."""
        horizon = now - self._min_interval
        self._last_sent = {k: t for k, t in self._last_sent.items() if t > horizon}
        # Doubling keeps the cost linear when most entries are still recent.
        self._prune_at = max(_PRUNE_LAST_SENT_AT, 2 * len(self._last_sent))

    async def _run(self, flag_key: str, event_id: str | None) -> None:
        try:
            result = await self._evaluate(flag_key)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug below must not kill re-evaluation for good
            result = EvaluateResult(Outcome.FAILED, message=f"evaluate failed: {exc!r}"[:300])
        finally:
            self._in_flight.pop(flag_key, None)
        # Superseded: a newer event (or a deletion) came while this answer was on its way.
        superseded = flag_key in self._again
        if superseded:
            again = self._again.pop(flag_key)
            if not isinstance(again, _Cancelled):
                self._enqueue(flag_key, again)
        try:
            self._on_result(flag_key, event_id, result, superseded)
        finally:
            if self.waiting and not self._closed:
                self._pump()  # a slot is free: start what is due
