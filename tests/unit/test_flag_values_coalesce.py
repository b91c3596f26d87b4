"""Coalesced re-evaluation (reevaluate.py), with an in-process evaluate function.

No HTTP here: the rules of coalescing are pure scheduling. The same rules are exercised over
the real emulator in tests/integration/test_monitor.py (the 1,000-change burst).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

import pytest

from togul_monitor.client.evaluate import EvaluateResult, Outcome
from togul_monitor.core.reevaluate import Reevaluator
from togul_monitor.domain.values import Evaluation

from ..waits import until

OK = EvaluateResult(Outcome.OK, evaluation=Evaluation(True, "boolean", "default", True))


class Gate:
    """An evaluate function whose answers the test releases by hand."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.release = asyncio.Event()

    async def __call__(self, flag_key: str) -> EvaluateResult:
        self.calls.append(flag_key)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await self.release.wait()
        finally:
            self.in_flight -= 1
        return OK


async def test_at_most_eight_in_flight_and_one_per_flag() -> None:
    gate = Gate()
    results: list[tuple[str, str | None, bool]] = []
    r = Reevaluator(gate, lambda k, e, res, sup: results.append((k, e, sup)), settle=0)
    for i in range(20):
        r.request(f"f{i}", f"e{i}")
    r.request("f0", "e-late")  # f0 is in flight by now? not yet: it is waiting, takes the id
    await until(lambda: len(gate.calls) == 8)
    assert gate.max_in_flight == 8 and r.waiting == 12
    gate.release.set()
    await until(lambda: len(results) == 20)
    assert sorted(gate.calls) == sorted(f"f{i}" for i in range(20))  # each once
    assert ("f0", "e-late", False) in results
    assert gate.max_in_flight == 8
    await r.aclose()


async def test_events_during_a_flight_cost_one_more_call_and_supersede() -> None:
    gate = Gate()
    results: list[tuple[str, str | None, bool]] = []
    r = Reevaluator(
        gate, lambda k, e, res, sup: results.append((k, e, sup)), settle=0, min_interval=0
    )
    r.request("f", "1")
    await until(lambda: gate.calls == ["f"])
    for i in range(2, 1001):
        r.request("f", str(i))  # all during the flight: remembered, latest wins
    gate.release.set()
    await until(lambda: len(results) == 2)
    assert gate.calls == ["f", "f"]
    assert results == [("f", "1", True), ("f", "1000", False)]
    assert r.idle()
    await r.aclose()


async def test_pacing_keeps_a_busy_flag_to_one_call_per_interval() -> None:
    calls: list[float] = []

    async def instant(flag_key: str) -> EvaluateResult:
        calls.append(asyncio.get_running_loop().time())
        return OK

    r = Reevaluator(instant, lambda *a: None, settle=0, min_interval=0.2)
    r.request("f", None)  # a baseline: does not start the pacing clock
    r.request("g", "0")
    await until(lambda: len(calls) == 2)
    r.request("f", "1")  # the first real change of f: not delayed by the baseline
    await until(lambda: len(calls) == 3)
    r.request("f", "2")  # too soon after "1": waits for the interval
    await asyncio.sleep(0)
    assert len(calls) == 3 and r.waiting == 1
    await until(lambda: len(calls) == 4)
    assert calls[3] - calls[2] >= 0.19
    await r.aclose()


async def test_cancel_and_clear_drop_what_waits() -> None:
    gate = Gate()
    results: list[tuple[str, str | None, bool]] = []
    r = Reevaluator(gate, lambda k, e, res, sup: results.append((k, e, sup)), settle=0)
    r.request("deleted", "1")
    await until(lambda: gate.calls == ["deleted"])
    r.cancel("deleted")  # in flight: its answer is superseded and nothing is re-sent
    r.request("waiting", "2")
    r.clear()
    gate.release.set()
    await until(lambda: results)
    await until(r.idle)  # nothing else is in flight or waiting to be sent...
    assert results == [("deleted", "1", True)]
    assert gate.calls == ["deleted"]  # ...and "waiting" was never sent
    await r.aclose()


async def test_send_times_of_many_distinct_flags_are_forgotten_once_stale() -> None:
    # Before: one entry per distinct flag key, forever, under a stream of new keys.
    sent: list[str] = []

    async def instant(flag_key: str) -> EvaluateResult:
        sent.append(flag_key)
        return OK

    r = Reevaluator(instant, lambda *a: None, settle=0, concurrency=64, min_interval=0)
    for i in range(5000):
        r.request(f"f{i}", str(i))
    await until(lambda: len(sent) == 5000, timeout=10)
    assert len(r._last_sent) <= 4097
    await r.aclose()


class CountingQueue(OrderedDict[str, "str | None"]):
    """An OrderedDict that counts the entries any iteration or copy of it visits."""

    visited = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        for key in super().__iter__():
            CountingQueue.visited += 1
            yield key

    def keys(self):  # type: ignore[no-untyped-def]
        return list(iter(self))

    def items(self):  # type: ignore[no-untyped-def]
        return [(k, self[k]) for k in iter(self)]

    def values(self):  # type: ignore[no-untyped-def]
        return [self[k] for k in iter(self)]


async def test_handing_out_work_never_walks_the_queue() -> None:
    # Before: every answer copied the whole waiting set (34,000 answers/s with 1,000 waiting,
    # 275/s with 200,000). Each step is O(1) now: however long the queue, handing out 2,000
    # requests visits none of the others (benchmarks/flood.py measures the rates).
    answers, count = 2_000, 0
    done = asyncio.Event()

    async def instant(flag_key: str) -> EvaluateResult:
        return OK

    def on_result(*_: object) -> None:
        nonlocal count
        count += 1
        r.request(f"more-{count}", None)  # the queue stays as long as it began
        if count == answers:
            done.set()

    r = Reevaluator(instant, on_result, settle=0, min_interval=0)
    r._ready = CountingQueue()
    for i in range(50_000):
        r.request(f"flag-{i}", str(i))
    CountingQueue.visited = 0
    await asyncio.wait_for(done.wait(), 20)
    waiting = r.waiting
    await r.aclose()
    assert waiting >= 45_000 and CountingQueue.visited < answers, CountingQueue.visited


async def test_flags_seen_for_the_first_time_are_sent_at_the_new_flag_rate() -> None:
    sent: list[tuple[str, float]] = []

    async def instant(flag_key: str) -> EvaluateResult:
        sent.append((flag_key, asyncio.get_running_loop().time()))
        return OK

    rate, burst = 100.0, 5
    r = Reevaluator(instant, lambda *a: None, settle=0, new_rate=rate, new_burst=burst)
    for i in range(25):
        r.request(f"new-{i}", str(i), event=True, new=True)
    await until(lambda: len(sent) == burst)
    r.request("known", "k", event=True)  # a change of a known flag goes before the queue
    await until(lambda: len(sent) == 26)
    keys = [k for k, _ in sent]
    assert keys.index("known") < 10
    new_times = [t for k, t in sent if k != "known"]
    assert keys[:burst] == [f"new-{i}" for i in range(burst)]
    for k in range(burst, 25):  # after the burst, one per 1/rate seconds
        assert new_times[k] - new_times[0] >= (k - burst + 1) / rate - 0.005, k
    await r.aclose()


async def test_a_new_flag_cancelled_or_taken_leaves_no_trace() -> None:
    gate = Gate()
    r = Reevaluator(gate, lambda *a: None, settle=0, new_rate=1.0, new_burst=1)
    for i in range(4):
        r.request(f"n{i}", str(i), new=True)
    await until(lambda: gate.calls == ["n0"])
    r.cancel("n1")
    assert r.waiting == 2 and r.busy("n2") and not r.busy("n1")
    assert list(r.take_waiting()) == ["n2", "n3"]
    assert r.waiting == 0
    gate.release.set()
    await until(r.idle)
    await r.aclose()


class Manual:
    """An evaluate function whose calls the test answers one by one, by flag."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.waiting: dict[str, list[asyncio.Future[None]]] = {}

    async def __call__(self, flag_key: str) -> EvaluateResult:
        self.calls.append(flag_key)
        answer = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(flag_key, []).append(answer)
        await answer
        return OK

    def answer(self, flag_key: str) -> None:
        self.waiting[flag_key].pop(0).set_result(None)

    def flying(self, flag_key: str) -> int:
        return len(self.waiting.get(flag_key, []))


async def test_a_mark_is_answered_though_newer_requests_keep_the_coalescer_busy() -> None:
    calls = Manual()
    r = Reevaluator(calls, lambda k, e, res, sup: None, settle=0, min_interval=0, concurrency=3)
    for key in ("f", "g", "k"):
        r.request(key, "1")
    await until(lambda: len(calls.calls) == 3)  # f, g and k in flight: no slot left
    r.request("g", "2")  # asked again during its flight: one more call after it
    r.request("h", "1")  # waits for a slot
    mark = r.mark()
    assert mark.owed == {"f": 1, "g": 2, "k": 1, "h": 1}
    r.request("k", "2")  # after the mark: not owed
    calls.answer("f")  # frees a slot: h is sent
    await until(lambda: calls.flying("h") == 1)
    calls.answer("g")  # superseded: g is asked again
    calls.answer("h")
    await until(lambda: calls.flying("g") == 1 and mark.owed == {"g": 1, "k": 1})
    calls.answer("k")  # answered; k's newer request follows, owed by nobody
    await until(lambda: calls.flying("k") == 1)
    calls.answer("g")
    await until(mark)
    assert not r.idle()  # k is still in flight: idle would have kept waiting
    r.request("f", "3")  # the mark stays answered whatever comes next
    assert mark()
    calls.answer("k")
    await until(lambda: calls.flying("f") == 1)
    calls.answer("f")
    await until(r.idle)
    await r.aclose()


async def test_what_a_mark_owes_shrinks_with_cancel_and_clear() -> None:
    calls = Manual()
    r = Reevaluator(calls, lambda k, e, res, sup: None, settle=0, min_interval=0, concurrency=1)
    assert r.mark()()  # nothing asked: answered at once
    r.request("f", "1")
    await until(lambda: calls.flying("f") == 1)
    r.request("f", "2")  # again after the flight
    r.request("h", "1")  # waits for the slot
    mark = r.mark()
    assert mark.owed == {"f": 2, "h": 1}
    r.cancel("h")  # deleted: its call will never be made
    r.cancel("f")  # only the answer in flight still comes
    assert mark.owed == {"f": 1}
    calls.answer("f")
    await until(mark)
    r.request("g", "1")
    await until(lambda: calls.flying("g") == 1)
    r.request("g", "2")
    cleared = r.mark()
    r.clear()  # credentials rejected: nothing more is asked
    assert cleared.owed == {"g": 1}
    calls.answer("g")
    await until(cleared)
    await until(r.idle)
    await r.aclose()


async def turns(n: int = 10) -> None:
    """A few turns of the loop: a send due now (settle 0) has happened after them."""
    for _ in range(n):
        await asyncio.sleep(0)


async def test_a_hurried_mark_sends_what_it_owes_without_waiting_out_the_pacing() -> None:
    calls = Manual()
    r = Reevaluator(calls, lambda k, e, res, sup: None, settle=0, min_interval=3600)
    for key in ("p", "f"):
        r.request(key, "1", event=True)
    await until(lambda: calls.flying("p") == 1 and calls.flying("f") == 1)
    calls.answer("p")
    await until(lambda: r.in_flight == 1)
    r.request("p", "2", event=True)  # paced: its last call was just sent
    r.request("f", "2", event=True)  # in flight: asked again after it, paced too
    await turns()  # what was due has been sent by now
    assert r.waiting == 1 and calls.flying("p") == 0
    mark = r.mark(hurry=True)
    await until(lambda: calls.flying("p") == 1)  # sent at once
    calls.answer("f")
    await until(lambda: calls.flying("f") == 1)  # the call after the flight: at once too
    calls.answer("p")
    calls.answer("f")
    await until(mark)
    r.request("p", "3", event=True)  # after the mark: paced as ever
    await turns()  # what was due has been sent by now
    assert calls.flying("p") == 0 and r.waiting == 1
    await r.aclose()


async def test_a_mark_owes_a_first_call_too_and_a_cancelled_flight_leaves_pacing_alone() -> None:
    calls = Manual()
    r = Reevaluator(
        calls, lambda k, e, res, sup: None, settle=0, min_interval=3600, new_rate=1e-3, new_burst=1
    )
    r.request("f", "1", event=True)
    r.request("n1", "1", event=True, new=True)  # takes the one token of the burst
    r.request("n2", "1", event=True, new=True)  # waits its turn among new flags
    r.request("n3", None, new=True)  # no event asked (a start's): not owed, left to its turn
    await until(lambda: calls.flying("f") == 1 and calls.flying("n1") == 1)
    r.cancel("f")  # deleted during its flight: nothing follows it
    mark = r.mark(hurry=True)
    assert mark.owed == {"f": 1, "n1": 1, "n2": 1}  # n2's answer is its event's effect
    await until(lambda: calls.flying("n2") == 1)  # hurried: sent without waiting its turn
    for key in ("f", "n1", "n2"):
        calls.answer(key)
    await until(mark)
    r.request("f", "2", event=True)  # after the mark: paced, as ever
    await turns()
    assert calls.flying("f") == 0 and calls.flying("n3") == 0 and r.waiting == 2
    await r.aclose()


async def test_a_mark_owes_only_what_events_asked_for() -> None:
    calls = Manual()
    r = Reevaluator(calls, lambda k, e, res, sup: None, settle=0, min_interval=0, concurrency=2)
    for key in ("a", "b", "c"):
        r.request(key, None)  # a start's baselines: no event asked
    await until(lambda: calls.flying("a") == 1 and calls.flying("b") == 1)
    assert r.mark().owed == {}  # two in flight, one waiting: none of them owed
    r.request("b", None, event=True)  # an event of b (the documented stream has no ids)
    r.request("c", "7", event=True)  # and one of c, still waiting
    assert r.mark().owed == {"b": 2, "c": 1}  # b: its baseline's answer, then the call after
    for key in ("a", "b", "c", "b"):
        await until(lambda key=key: calls.flying(key) == 1)  # type: ignore[misc]
        calls.answer(key)
    await until(r.idle)
    await r.aclose()


async def test_a_baseline_asked_after_an_event_keeps_the_events_id() -> None:
    """The answer is still that event's effect: a baseline (None) must not take its place,
    whether the event's request waits or follows a call in flight."""
    gate = Gate()
    results: list[tuple[str, str | None, bool]] = []
    r = Reevaluator(
        gate, lambda k, e, res, sup: results.append((k, e, sup)), settle=0, concurrency=1
    )
    r.request("busy", None)  # holds the one slot: "waiting" stays waiting
    r.request("waiting", "e1")
    await until(lambda: gate.calls == ["busy"])
    r.request("waiting", None)
    r.request("busy", "e2")  # in flight: remembered for the call after it
    r.request("busy", None)
    gate.release.set()
    await until(lambda: len(results) == 3)
    assert ("waiting", "e1", False) in results
    assert results[0] == ("busy", None, True) and ("busy", "e2", False) in results
    await r.aclose()


async def test_a_baseline_asked_during_an_events_flight_keeps_the_events_id_for_values() -> None:
    """The flight's answer is superseded (and dropped by the values): the call after it answers
    that event's effect, so it carries the event's id, not the baseline's None."""
    gate = Gate()
    results: list[tuple[str, str | None, bool]] = []
    r = Reevaluator(gate, lambda k, e, res, sup: results.append((k, e, sup)), settle=0)
    r.request("f", "e1")
    await until(lambda: gate.calls == ["f"])
    r.request("f", None)  # an outage's baseline, while e1's call is on its way
    gate.release.set()
    await until(lambda: len(results) == 2)
    assert results == [("f", "e1", True), ("f", "e1", False)]
    await r.aclose()


@pytest.mark.parametrize("event_id", ["e1", None], ids=["id", "no-id"])
@pytest.mark.parametrize("mark_first", [True, False], ids=["mark-first", "baseline-first"])
async def test_a_mark_waits_for_the_call_that_carries_the_events_effect_after_a_baseline(
    event_id: str | None, mark_first: bool
) -> None:
    """An event's call in flight, then a baseline (an outage, `r`): the flight's answer is
    superseded (the values drop it), so a mark made before or after the baseline owes the call
    after it too, and that call is the event's: with an id or without (None, event-driven)."""
    calls = Manual()
    results: list[tuple[str | None, bool]] = []
    r = Reevaluator(
        calls, lambda k, e, res, sup: results.append((e, sup)), settle=0, min_interval=0
    )
    r.request("f", event_id, event=True)
    await until(lambda: calls.flying("f") == 1)
    mark = r.mark() if mark_first else None
    r.request("f", None)  # the baseline, during the flight
    mark = mark or r.mark()
    calls.answer("f")  # the superseded answer
    await until(lambda: len(results) == 1 and calls.flying("f") == 1)
    assert not mark()
    calls.answer("f")
    await until(lambda: len(results) == 2)
    assert mark() and results == [(event_id, True), (event_id, False)]
    await r.aclose()
