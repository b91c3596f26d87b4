"""Coalesced re-evaluation (reevaluate.py), with an in-process evaluate function.

No HTTP here: the rules of coalescing are pure scheduling. The same rules are exercised over
the real emulator in tests/integration/test_monitor.py (the 1,000-change burst).
"""

from __future__ import annotations

import asyncio

from togul_monitor.client.evaluate import EvaluateResult, Outcome
from togul_monitor.core.reevaluate import Reevaluator
from togul_monitor.domain.values import Evaluation

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


async def until(cond, timeout: float = 2.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.001)


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
