"""The monitor when evaluate fails (the emulator's evaluate faults, both stream forms): a spent
quota pauses evaluation and says so, and is never "credentials rejected"; 429 and 5xx are
retried."""

from __future__ import annotations

import asyncio

import pytest

from togul_monitor.core import EvaluatorStatus, Monitor, TransitionRecorded, evaluation
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.emulator.harness import EmulatorHandle

from .test_monitor import Recorder, expected, make_profile, settled, started, wait_for

QUOTA = "evaluation quota exhausted (billing.evaluation_blocked)"


@pytest.fixture
def short_quota_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evaluation, "QUOTA_RETRY_DELAY", 0.2)
    monkeypatch.setattr(evaluation, "QUOTA_RETRY_MAX", 0.3)


async def test_a_spent_quota_is_shown_as_such_and_retried_with_a_growing_capped_delay(
    emulator_any: EmulatorHandle, short_quota_pause: None
) -> None:
    monitor, rec = await started(emulator_any)
    try:
        await wait_for(lambda: settled(monitor, "new-dashboard"), what="first value")
        counters = monitor.evaluator.counters  # type: ignore[union-attr]
        asked, ok = counters.requests, counters.ok
        # Three quota answers in a row: pauses of 0.2 s, then 0.4 s capped at 0.3 s, twice.
        emulator_any.faults.exhaust_evaluate_quota(3)
        monitor.reevaluate_all()
        await wait_for(lambda: counters.quota == 1, what="the first quota answer")
        value = monitor.values()["new-dashboard"]
        assert value.stale and value.error == QUOTA
        await wait_for(lambda: counters.ok == ok + 1, what="the value at last")
        await wait_for(lambda: settled(monitor, "new-dashboard"), what="settled")
        # `settled` reads the monitor's state; the recorder reads the updates on a task of its
        # own, so the "ok" published with the value may not have reached it yet.
        await wait_for(lambda: (s := rec.of(EvaluatorStatus)) and s[-1].ok, what="the ok status")
        statuses = rec.of(EvaluatorStatus)
        assert [(s.ok, s.message, s.credentials_rejected) for s in statuses] == [
            (False, QUOTA, False),
            (False, QUOTA, False),
            (False, QUOTA, False),
            (True, None, False),
        ]
        # Each pause says when it ends: 0.2 s, then 0.4 s capped at 0.3 s, twice.
        pauses = [s.retry_at for s in statuses[:3]]
        assert all(p is not None for p in pauses) and pauses == sorted(pauses)
        assert monitor.values()["new-dashboard"].error is None
        assert monitor.values()["new-dashboard"].current == expected(emulator_any, "new-dashboard")
        assert (counters.quota, counters.rejected) == (3, 0)
        assert counters.requests == asked + 4  # one per pause: quota is not retried at once
    finally:
        await monitor.stop()


async def test_while_the_quota_pause_lasts_nothing_is_sent_and_changes_wait(
    emulator_any: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(evaluation, "QUOTA_RETRY_DELAY", 1.0)
    monitor, rec = await started(emulator_any, watch=("new-dashboard", "checkout-v2"))
    try:
        for flag in ("new-dashboard", "checkout-v2"):
            await wait_for(lambda f=flag: settled(monitor, f), what=f"{flag} first value")
        counters = monitor.evaluator.counters  # type: ignore[union-attr]
        emulator_any.faults.exhaust_evaluate_quota(1)
        await asyncio.to_thread(
            emulator_any.world.update_flag, "production", "new-dashboard", enabled=False
        )
        await wait_for(lambda: counters.quota == 1, what="the quota answer")
        value = monitor.values()["new-dashboard"]
        assert value.stale and value.error == QUOTA
        snapshot = monitor.snapshot().evaluator
        assert snapshot is not None and not snapshot.ok and not snapshot.credentials_rejected
        asked = counters.requests
        # A change during the pause is marked stale and kept for later, not sent.
        await asyncio.to_thread(
            emulator_any.world.update_flag, "production", "checkout-v2", enabled=False
        )
        await wait_for(lambda: monitor.values()["checkout-v2"].stale, what="checkout-v2 stale")
        assert counters.requests == asked
        # After the pause: both converge, each change with its transition.
        for flag in ("new-dashboard", "checkout-v2"):
            await wait_for(lambda f=flag: settled(monitor, f), timeout=10, what=f"{flag} again")
            assert monitor.values()[flag].current == expected(emulator_any, flag)
            assert monitor.values()[flag].error is None
        # The recorder's task may still be behind the state `settled` read.
        await wait_for(lambda: len(rec.of(TransitionRecorded)) >= 2, what="both transitions")
        flipped = {u.transition.flag_key for u in rec.of(TransitionRecorded)}
        assert flipped == {"new-dashboard", "checkout-v2"}
        assert counters.requests == asked + 2
    finally:
        await monitor.stop()


@pytest.mark.parametrize(("status", "retry_after"), [(429, 0.1), (500, None), (503, None)])
async def test_429_and_5xx_are_retried_and_the_value_converges(
    emulator_any: EmulatorHandle, status: int, retry_after: float | None
) -> None:
    monitor = Monitor(make_profile(emulator_any), evaluate_retry_delay=0.1)
    rec = Recorder(monitor)
    await monitor.start()
    rec.start()
    try:
        await wait_for(lambda: settled(monitor, "new-dashboard"), what="first value")
        # Both attempts of the change's evaluation fail; the monitor's retry-later gets it.
        emulator_any.faults.fail_evaluate(2, status=status, retry_after=retry_after)
        await asyncio.to_thread(
            emulator_any.world.update_flag, "production", "new-dashboard", enabled=False
        )
        await wait_for(lambda: rec.of(TransitionRecorded), what="the transition")
        (recorded,) = rec.of(TransitionRecorded)
        assert recorded.transition.after == Evaluation(False, "boolean", "disabled", False)
        statuses = rec.of(EvaluatorStatus)
        assert statuses[0].ok is False and str(status) in (statuses[0].message or "")
        assert not any(s.credentials_rejected for s in statuses)
        await wait_for(lambda: rec.of(EvaluatorStatus)[-1].ok, what="recovery")
        assert monitor.evaluator.counters.by_status[status] == 2  # type: ignore[union-attr]
    finally:
        await monitor.stop()


async def test_r_after_an_events_evaluation_failed_ties_the_change_to_that_event(
    emulator: EmulatorHandle,
) -> None:
    # Ids: the change's event is named by its id. The retry waits past the test: `r` asks.
    monitor = Monitor(make_profile(emulator), evaluate_retry_delay=60.0)
    rec = Recorder(monitor)
    await monitor.start()
    rec.start()
    try:
        await wait_for(lambda: settled(monitor, "new-dashboard"), what="first value")
        counters = monitor.evaluator.counters  # type: ignore[union-attr]
        emulator.faults.fail_evaluate(2, status=500)  # the evaluation and the client's retry
        await asyncio.to_thread(
            emulator.world.update_flag, "production", "new-dashboard", enabled=False
        )
        await wait_for(lambda: counters.by_status.get(500) == 2, what="both attempts failed")
        await wait_for(lambda: monitor.values()["new-dashboard"].error, what="the failure")
        assert not rec.of(TransitionRecorded)
        monitor.reevaluate_all()
        await wait_for(lambda: rec.of(TransitionRecorded), what="the transition")
        (event,) = [e for e in rec.of(FlagEvent) if e.flag_key == "new-dashboard"]
        (recorded,) = rec.of(TransitionRecorded)
        # The event's change, as the live feed shows it: the journal, `history`, `export` and
        # the values detail say the same, not a change found on a re-evaluation of its own.
        assert recorded.transition.event_id == event.event_id is not None
        assert not recorded.transition.includes_unseen
        await wait_for(lambda: settled(monitor, "new-dashboard"), what="settled")
        assert monitor.values()["new-dashboard"].trigger_event_id == event.event_id
        journalled = [h for h in monitor.history("new-dashboard") if isinstance(h, ValueTransition)]
        assert [t.event_id for t in journalled] == [event.event_id]
    finally:
        await monitor.stop()
