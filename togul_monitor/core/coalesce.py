"""Coalesced calls per flag: at most one in flight per flag, at most N in flight overall.

An event of a flag makes the monitor ask the server about it twice: its value (`Reevaluator`,
core/reevaluate.py) and its configuration (`FetchQueue`, core/config_fetch.py). Both are a
`Coalescer`: a burst of 1,000 changes to one flag must cost a handful of calls, not 1,000, and
the last call must answer after the last change. Rules:
- a request for a flag that is already waiting updates the waiting one, which keeps its place
  in the queue (`event_kept`: the latest event wins, and an event is kept over a request without
  one, a baseline, since the answer is then that event's effect too);
- a request for a flag in flight is remembered (merged the same way, `flight_kept`: with the
  flight's trigger too); the flight's answer is then `superseded` (it may predate the newer
  change) and one more call is sent;
- `settle` seconds pass between the first request of a quiet flag and its sending, so the
  events that arrive together (one TCP read usually holds many) cost one call;
- after an event-driven call a flag waits `min_interval` seconds before its next one: a flag
  that changes continuously is asked about once a second or so (what a person can follow), not
  once per round trip, so a firehose of events does not turn into a firehose of calls. A call
  no event asked for (start, a load, an outage, re-evaluate all) does not start this clock: it
  must not delay the answer to the first real change;
- a flag seen for the first time (`new`) waits its turn in a queue of its own, sent at most
  `new_rate` a second (after a burst of `new_burst`; none without `new_rate`): a server naming
  ever new flag keys must not turn each into a call at once; changes of known flags go first;
- at most `concurrency` calls run at once; the rest wait in arrival order;
- `cancel` (the flag was deleted) forgets what waits; an answer in flight is then superseded and
  nothing follows it;
- `mark()` answers "have the calls events asked for so far answered?" without waiting for
  idleness, which a stream that never pauses never gives (`tail --count` needs it). A failed
  answer counts, and so does a call that will not be made (`cancel`, `clear`, `take_waiting`).

Every operation is O(1) (amortised; O(log n) for a flag waiting for its interval) whatever the
number waiting; `events_waiting` and `mark` are O(n), for a caller that asks rarely.

No clock, no I/O of its own: `call` does the request (what it raises becomes `failed(exc)`: a bug
below must not end the calls) and `on_answer` takes the answer on the monitor's loop.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Generic, TypeVar

from togul_monitor.core.answer_mark import AnswerMark

T = TypeVar("T")  # what asked: an event (id); None stands for a request no event made
R = TypeVar("R")  # the answer


class _Cancelled:
    """Marks a flag whose answer in flight must not be followed by another call."""


_CANCELLED = _Cancelled()
_PRUNE_LAST_SENT_AT = 4096  # send times kept before the stale ones are forgotten


def event_kept(old: T | None, new: T | None) -> T | None:
    """Two requests of a flag as one: the newer, but an event over a baseline (None)."""
    return old if new is None and old is not None else new


class Coalescer(Generic[T, R]):
    def __init__(
        self,
        call: Callable[[str], Awaitable[R]],
        on_answer: Callable[[str, T | None, R, bool], None],  # key, trigger, answer, superseded
        *,
        failed: Callable[[Exception], R],
        concurrency: int = 8,
        settle: float = 0.01,
        min_interval: float = 1.0,
        new_rate: float | None = None,
        new_burst: int = 1,
        flight_kept: bool = False,
    ) -> None:
        self._call, self._on_answer, self._flight_kept = call, on_answer, flight_kept
        self._failed = failed
        self._concurrency = max(1, concurrency)
        self._settle = settle
        self._min_interval = min_interval
        # What waits, flag -> trigger, each queue in arrival order; a flag is in at most one of
        # them. OrderedDict: popping the oldest is O(1), as is removing any.
        self._ready: OrderedDict[str, T | None] = OrderedDict()  # sent when a slot frees
        self._paced: dict[str, T | None] = {}  # sent too recently: waits for its interval
        self._due: list[tuple[float, int, str]] = []  # heap of (due, order, flag) of _paced
        self._due_at: dict[str, float] = {}  # the live heap entry of each paced flag
        self._order = itertools.count()
        self._new: OrderedDict[str, T | None] = OrderedDict()  # first seen: at new_rate
        self._limit_new = new_rate is not None
        self._new_rate = max(new_rate or 0.0, 1e-3)
        self._new_burst = float(max(1, new_burst))
        self._tokens = self._new_burst  # token bucket of first calls
        self._tokens_at: float | None = None
        self._in_flight: dict[str, T | None] = {}
        # Requests that arrived during the flight (or _CANCELLED: send nothing more).
        self._again: dict[str, T | None | _Cancelled] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._event_driven: set[str] = set()  # flags whose waiting request an event made
        self._last_sent: dict[str, float] = {}  # loop time each flag was last sent
        self._prune_at = _PRUNE_LAST_SENT_AT
        self._closed = False
        self._marks: list[AnswerMark] = []  # the marks not answered yet
        self._driven_flights: set[str] = set()  # in flight because an event asked
        self.sent = 0  # calls started

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    @property
    def waiting(self) -> int:
        return len(self._ready) + len(self._paced) + len(self._new)

    def _queue_of(self, key: str) -> dict[str, T | None] | None:
        for queue in (self._ready, self._paced, self._new):
            if key in queue:
                return queue
        return None

    def busy(self, key: str) -> bool:
        return key in self._in_flight or key in self._again or self._queue_of(key) is not None

    def idle(self) -> bool:
        return not (self._in_flight or self.waiting or self._again)

    def events_waiting(self) -> bool:
        """A call an event asked for (its trigger not None) waits or runs. O(n) in what waits."""
        triggers = itertools.chain(
            self._in_flight.values(),
            self._ready.values(),
            self._paced.values(),
            self._new.values(),
            self._again.values(),
        )
        return any(t is not None and not isinstance(t, _Cancelled) for t in triggers)

    def mark(self, *, hurry: bool = False) -> AnswerMark:
        """The calls an event asked for so far (a flag's first call waiting its turn, `new`,
        too: its answer is the event's effect), to be told when they have answered (see the
        module's docstring; O(n) in what waits and flies). Not owed: calls no event asked for
        (a start, a load, a re-fetch). `hurry`: the caller is about to stop, so what is owed
        is sent without waiting out its pacing interval or its turn (one call per flag, once:
        what is asked after the mark is paced as ever)."""
        if self._closed:
            return AnswerMark({})
        by_event = self._by_event
        owed = dict.fromkeys(self._driven_flights, 1)
        for key, again in self._again.items():
            if not isinstance(again, _Cancelled) and by_event(key, again):
                owed[key] = 2  # the answer in flight, then the call after it
        for queue in (self._ready, self._paced, self._new):
            owed.update((k, 1) for k, t in queue.items() if by_event(k, t))
        mark = AnswerMark(owed)
        if owed:
            self._marks.append(mark)
            if hurry:
                self._hurry(owed)
        return mark

    def _by_event(self, key: str, trigger: T | None) -> bool:
        """An event asked for this call (its id, or an event without one), not a baseline."""
        return trigger is not None or key in self._event_driven

    def _hurry(self, owed: dict[str, int]) -> None:
        for key, left in owed.items():
            if key in self._paced or key in self._new:
                trigger = self._paced[key] if key in self._paced else self._new[key]
                self._unqueue(key)
                self._ready[key] = trigger
            elif left == 2:
                self._last_sent.pop(key, None)  # the call after its flight: not paced
        self._pump()

    def _drop_marks(self, keys: Iterable[str]) -> None:
        """What waited for `keys` was dropped: only an answer in flight still comes."""
        if not self._marks:
            return
        for key in keys:
            left = 1 if key in self._in_flight else 0
            for mark in self._marks:
                mark.at_most(key, left)
        self._prune_marks()

    def _prune_marks(self) -> None:
        self._marks = [mark for mark in self._marks if mark.owed]  # the answered ones go

    def request(
        self, key: str, trigger: T | None, *, event: bool = False, new: bool = False
    ) -> None:
        """Ask about `key`; `event`: an event of the flag asks (it paces the next send),
        whether or not `trigger` says which (the documented stream's events have no id); `new`:
        the flag was never seen before (its first call is rate-limited)."""
        if self._closed:
            return
        if event:
            self._event_driven.add(key)
        if key in self._in_flight:
            if self._flight_kept and trigger is None and not event and key not in self._again:
                self._keep_flight(key)  # a baseline (an outage, `r`): rare, never a stream
            # `flight_kept`: the first request during it merges with the flight's trigger (the
            # call after it answers what the superseded flight would have). Cancelled: afresh.
            again = self._again.get(key, self._in_flight[key] if self._flight_kept else _CANCELLED)
            if not isinstance(again, _Cancelled):
                trigger = event_kept(again, trigger)
            self._again[key] = trigger
            return
        queue = self._queue_of(key)
        if queue is not None:
            # Already waiting: a pump is already due for it (settle, pacing or a free slot).
            queue[key] = event_kept(queue[key], trigger)  # keeps its place in the queue
            return
        self._enqueue(key, trigger, new=new)
        self._schedule(asyncio.get_running_loop().time() + self._settle)

    def _keep_flight(self, key: str) -> None:
        """A baseline asked during an event's flight: the call after it answers that event
        (the flight's answer is superseded), so it is event-driven, even without an id, and a
        mark owes it too. Not for an event's request: a mark made before it does not wait for
        what it asked (events that never pause would keep the mark waiting)."""
        if key in self._driven_flights:
            self._event_driven.add(key)
            for mark in self._marks:
                if key in mark.owed:
                    mark.at_least(key, 2)

    def _enqueue(self, key: str, trigger: T | None, *, new: bool = False) -> None:
        last = self._last_sent.get(key)
        if last is not None:
            due = last + self._min_interval
            if due > asyncio.get_running_loop().time():
                self._paced[key] = trigger
                self._due_at[key] = due
                heapq.heappush(self._due, (due, next(self._order), key))
                return
        (self._new if new and self._limit_new else self._ready)[key] = trigger

    def _unqueue(self, key: str) -> None:
        self._ready.pop(key, None)
        self._new.pop(key, None)
        if key in self._due_at:
            del self._paced[key], self._due_at[key]  # its heap entry: skipped later
            if len(self._due) > 2 * len(self._paced) + 64:
                self._due = [(t, next(self._order), k) for k, t in self._due_at.items()]
                heapq.heapify(self._due)

    def cancel(self, key: str) -> None:
        """Forget what is waiting for the flag (deleted); an answer in flight is superseded."""
        self._unqueue(key)
        self._again.pop(key, None)
        self._event_driven.discard(key)
        if key in self._in_flight:
            self._again[key] = _CANCELLED
        self._drop_marks((key,))

    def forget(self, keys: Iterable[str]) -> None:
        """Forgotten flags (core/deleted_flags.py): `cancel`, and no send time kept."""
        for key in keys:
            self.cancel(key)
            self._last_sent.pop(key, None)

    def take_waiting(self) -> dict[str, T | None]:
        """Remove and return what waits to be sent (flag → trigger), known flags first;
        answers in flight and the requests that follow them are left alone."""
        waiting = {**self._ready, **self._paced, **self._new}
        self._forget_waiting()
        self._drop_marks(waiting)  # held elsewhere now (a quota pause): not owed here
        return waiting

    def _forget_waiting(self) -> None:
        self._ready.clear()
        self._paced.clear()
        self._new.clear()
        self._due.clear()
        self._due_at.clear()

    def clear(self) -> None:
        """Drop everything waiting (credentials rejected: asking again would only be refused)."""
        waiting = [*self._ready, *self._paced, *self._new, *self._again]
        self._forget_waiting()
        for key in list(self._again):
            self._again[key] = _CANCELLED
        self._drop_marks(waiting)

    async def aclose(self) -> None:
        self._closed = True
        self._forget_waiting()
        for mark in self._marks:
            mark.owed.clear()  # nothing more will answer
        self._marks.clear()
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
            when, _, key = heapq.heappop(due)
            if due_at.get(key) == when:
                del due_at[key]
                self._ready[key] = self._paced.pop(key)
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

    def _send(self, key: str, trigger: T | None, now: float) -> None:
        self._in_flight[key] = trigger
        paced = self._by_event(key, trigger)
        self._event_driven.discard(key)
        if paced:
            self._driven_flights.add(key)
            # Only event-driven sends pace the next one: a baseline (start, outage,
            # re-evaluate all) must not delay the answer to the first real change.
            self._last_sent[key] = now
            if len(self._last_sent) > self._prune_at:
                self._prune_last_sent(now)
        self.sent += 1
        task = asyncio.get_running_loop().create_task(self._run(key, trigger))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _prune_last_sent(self, now: float) -> None:
        """Forget send times that no longer pace anything, so that a stream of ever new flag
        keys does not grow this map without bound (amortised: runs once per many sends)."""
        horizon = now - self._min_interval
        self._last_sent = {k: t for k, t in self._last_sent.items() if t > horizon}
        # Doubling keeps the cost linear when most entries are still recent.
        self._prune_at = max(_PRUNE_LAST_SENT_AT, 2 * len(self._last_sent))

    async def _run(self, key: str, trigger: T | None) -> None:
        try:
            answer = await self._call(key)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug below must not end the calls for good
            answer = self._failed(exc)
        finally:
            self._in_flight.pop(key, None)
            self._driven_flights.discard(key)
        # Superseded: a newer request (or a deletion) came while this answer was on its way.
        superseded = key in self._again
        if superseded:
            again = self._again.pop(key)
            if not isinstance(again, _Cancelled):
                self._enqueue(key, again)
        try:
            self._on_answer(key, trigger, answer, superseded)
        finally:
            if self._marks:
                for mark in self._marks:
                    mark.answered(key)
                self._prune_marks()
            if self.waiting and not self._closed:
                self._pump()  # a slot is free: start what is due
