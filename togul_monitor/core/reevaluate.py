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
- at most `concurrency` requests run at once; the rest wait in arrival order.

No clock, no I/O of its own: `evaluate` does the request and `on_result` takes the answer, so the
monitor keeps every state change on its own loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from togul_monitor.client.evaluate import EvaluateResult, Outcome

Evaluate = Callable[[str], Awaitable[EvaluateResult]]
# on_result(flag_key, trigger_event_id, result, superseded)
OnResult = Callable[[str, "str | None", EvaluateResult, bool], None]


class _Cancelled:
    """Marks a flag whose answer in flight must not be followed by another request."""


_CANCELLED = _Cancelled()
_PRUNE_LAST_SENT_AT = 4096  # send times kept before the stale ones are forgotten


class Reevaluator:
    def __init__(
        self,
        evaluate: Evaluate,
        on_result: OnResult,
        *,
        concurrency: int = 8,
        settle: float = 0.01,
        min_interval: float = 1.0,
    ) -> None:
        self._evaluate = evaluate
        self._on_result = on_result
        self._concurrency = max(1, concurrency)
        self._settle = settle
        self._min_interval = min_interval
        self._waiting: dict[str, str | None] = {}  # flag -> latest trigger event id, FIFO order
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
        return len(self._waiting)

    def busy(self, flag_key: str) -> bool:
        return flag_key in self._in_flight or flag_key in self._waiting or flag_key in self._again

    def idle(self) -> bool:
        return not (self._in_flight or self._waiting or self._again)

    def request(self, flag_key: str, event_id: str | None, *, event: bool = False) -> None:
        """Ask for `flag_key`'s value; `event`: an event of the flag asks (it paces the next
        send), whether or not the event had an SSE id (the documented stream has none)."""
        if self._closed:
            return
        if event:
            self._event_driven.add(flag_key)
        if flag_key in self._in_flight:
            self._again[flag_key] = event_id
            return
        waiting = self._waiting
        if flag_key in waiting:
            # Already waiting: a pump is already due for it (settle, pacing or a free slot).
            waiting[flag_key] = event_id  # keeps its place in the queue, takes the latest id
            return
        waiting[flag_key] = event_id
        self._schedule_pump()

    def cancel(self, flag_key: str) -> None:
        """Forget what is waiting for the flag (deleted); an answer in flight is superseded."""
        self._waiting.pop(flag_key, None)
        self._again.pop(flag_key, None)
        self._event_driven.discard(flag_key)
        if flag_key in self._in_flight:
            self._again[flag_key] = _CANCELLED

    def take_waiting(self) -> dict[str, str | None]:
        """Remove and return what waits to be sent (flag → trigger event id), oldest first;
        answers in flight and the requests that follow them are left alone."""
        waiting, self._waiting = self._waiting, {}
        return waiting

    def clear(self) -> None:
        """Drop everything waiting (credentials rejected: asking again would only be refused)."""
        self._waiting.clear()
        for key in list(self._again):
            self._again[key] = _CANCELLED

    async def aclose(self) -> None:
        self._closed = True
        self._waiting.clear()
        if self._timer is not None:
            self._timer.cancel()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def _schedule_pump(self) -> None:
        loop = asyncio.get_running_loop()
        self._schedule(loop.time() + self._settle)

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
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        next_due: float | None = None
        for flag_key in list(self._waiting):
            if len(self._in_flight) >= self._concurrency:
                break  # the next answer pumps again
            last = self._last_sent.get(flag_key)
            if last is not None and now - last < self._min_interval:
                due = last + self._min_interval
                next_due = due if next_due is None else min(next_due, due)
                continue
            event_id = self._waiting.pop(flag_key)
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
            task = loop.create_task(self._run(flag_key, event_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if next_due is not None:
            self._schedule(next_due)

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
                self._waiting[flag_key] = again
        try:
            self._on_result(flag_key, event_id, result, superseded)
        finally:
            if self._waiting:
                self._pump()  # a slot is free: start what is due
