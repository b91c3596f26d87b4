"""Named contexts over the real emulator: every monitored flag is evaluated for each context,
and a change's transitions name exactly the contexts it changed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from tests.integration.test_monitor import Recorder, make_profile, wait_for
from togul_monitor.core import Monitor, TransitionRecorded
from togul_monitor.domain.values import Evaluation
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.emulator.rules import bucket

FLAG = "split-checkout"
SALT = "split-salt"


def _user(predicate: Any) -> str:
    """A user id whose bucket for FLAG satisfies `predicate` (the emulator buckets by SHA-256)."""
    return next(f"u-{i}" for i in range(1_000) if predicate(bucket(SALT, f"u-{i}")))


CONTEXTS = {
    "premium": {"user_id": _user(lambda b: b >= 50), "plan": "premium"},
    "free": {"user_id": _user(lambda b: b < 50), "plan": "free"},
    "eu": {"user_id": _user(lambda b: b >= 50), "country": "DE"},
}


def settled(monitor: Monitor, flag: str, contexts: Iterable[str]) -> bool:
    """Every context has a current value of `flag`, and nothing is being asked."""
    snapshot = monitor.snapshot()
    for name in contexts:
        value = snapshot.context_values.get(name, {}).get(flag)
        if value is None or value.current is None or value.stale:
            return False
    return monitor.evaluations_idle()


def _all_settled(monitor: Monitor) -> bool:
    return settled(monitor, FLAG, CONTEXTS)


def _changed_by(recorder: Recorder, event_id: str | None) -> set[str]:
    return {
        t.transition.context
        for t in recorder.of(TransitionRecorded)
        if t.transition.event_id == event_id
    }


async def test_three_contexts_see_an_attribute_and_a_percentage_rule_differently(
    emulator: EmulatorHandle,
) -> None:
    world = emulator.world
    world.create_flag("production", FLAG, default_value=False, salt=SALT)
    profile = make_profile(emulator, context={}, contexts=CONTEXTS, watch=(FLAG,))
    monitor = Monitor(profile)
    recorder = Recorder(monitor)
    await monitor.start()
    recorder.start()
    try:
        await wait_for(lambda: _all_settled(monitor), what="a first value in every context")
        snapshot = monitor.snapshot()
        assert snapshot.contexts == ("premium", "free", "eu")
        assert snapshot.values is snapshot.context_values["premium"]
        requests_before = snapshot.evaluate_requests

        # An attribute rule: premium users get it; the others do not change.
        world.create_rule(
            "production",
            FLAG,
            rule_type="attribute",
            attribute="plan",
            operator="eq",
            value_json='"premium"',
            return_value=True,
        )
        await wait_for(lambda: len(recorder.of(TransitionRecorded)) >= 1, what="a transition")
        await wait_for(lambda: _all_settled(monitor), what="all contexts answered")
        first = recorder.of(TransitionRecorded)[0].transition
        assert _changed_by(recorder, first.event_id) == {"premium"}
        assert (first.before.value, first.after.value) == (False, True)  # type: ignore[union-attr]
        # One request per context for one change (at most three: coalesced as with one).
        assert monitor.snapshot().evaluate_requests - requests_before == 3

        # A 50 % rollout: the free user's bucket is below 50, the EU user's is not.
        world.create_rule(
            "production",
            FLAG,
            rule_type="percentage",
            rollout_percentage=50,
            return_value=True,
        )
        await wait_for(lambda: len(recorder.of(TransitionRecorded)) >= 2, what="a transition")
        await wait_for(lambda: _all_settled(monitor), what="all contexts answered")
        second = recorder.of(TransitionRecorded)[1].transition
        assert second.event_id != first.event_id
        assert _changed_by(recorder, second.event_id) == {"free"}
        values = monitor.snapshot().context_values
        assert [values[name][FLAG].current.value for name in CONTEXTS] == [True, True, False]  # type: ignore[union-attr]
        [event] = [e for e in monitor.events() if e.event_id == second.event_id]
        assert {t.context for t in monitor.transitions_for(event)} == {"free"}
        assert len(recorder.of(TransitionRecorded)) == 2
    finally:
        await monitor.stop()


async def test_a_burst_with_three_contexts_costs_a_handful_of_calls_per_context(
    emulator: EmulatorHandle,
) -> None:
    world = emulator.world
    world.create_flag("production", FLAG, default_value=False, salt=SALT)
    profile = make_profile(emulator, context={}, contexts=CONTEXTS, watch=(FLAG,))
    monitor = Monitor(profile)
    await monitor.start()
    try:
        await wait_for(lambda: _all_settled(monitor), what="a first value in every context")
        before = monitor.snapshot().evaluate_requests

        def burst() -> None:
            for i in range(500):
                world.update_flag("production", FLAG, enabled=i % 2 == 1)
            world.update_flag("production", FLAG, enabled=False)

        await asyncio.to_thread(burst)
        await wait_for(lambda: len(monitor.event_log.for_flag(FLAG)) == 501, what="501 events")
        await wait_for(lambda: _all_settled(monitor), what="settled")
        calls = monitor.snapshot().evaluate_requests - before
        print(f"evaluate requests for a burst of 501 changes, 3 contexts: {calls}")
        assert 3 <= calls <= 15, calls  # five at most per context, as with one context
        for name in CONTEXTS:
            value = monitor.snapshot().context_values[name][FLAG]
            assert value.current is not None and value.current.enabled is False
    finally:
        await monitor.stop()


def test_evaluate_is_said_ok_only_when_no_context_still_fails() -> None:
    from togul_monitor.client.evaluate import EvaluateResult, Outcome
    from togul_monitor.core.contexts import ContextEvaluations
    from togul_monitor.core.updates import EvaluatorStatus

    published: list[object] = []
    evaluations = ContextEvaluations(
        published.append, lambda: 0.0, contexts=("a", "b"), watched=(), retry_delay=0
    )
    a, b = evaluations.by_context["a"], evaluations.by_context["b"]
    evaluations.set_watched("f", True)  # monitored: an answer of a flag forgotten is dropped
    failed = EvaluateResult(Outcome.FAILED, status=503, message="HTTP 503")
    ok = EvaluateResult(Outcome.OK, evaluation=Evaluation(True, "boolean", "default", True))
    a._on_result("f", None, failed, False)
    b._on_result("f", None, failed, False)
    a._on_result("f", None, ok, False)  # b still fails: no "ok" yet
    statuses = [u for u in published if isinstance(u, EvaluatorStatus)]
    assert [s.ok for s in statuses] == [False]
    assert evaluations.status is not None and not evaluations.status.ok
    b._on_result("f", None, ok, False)
    statuses = [u for u in published if isinstance(u, EvaluatorStatus)]
    assert [s.ok for s in statuses] == [False, True]


async def test_a_context_added_after_a_run_gets_the_flags_the_journal_remembers(
    emulator: EmulatorHandle,
) -> None:
    """A flag known from an earlier run's journal (its last values, one context's) is asked
    for every context of the next run, also one added since: none waits for a change of it."""
    flag = "dark-mode"
    first = make_profile(emulator, context={}, contexts={"premium": CONTEXTS["premium"]}, watch=())
    monitor = Monitor(first)
    await monitor.start()
    try:
        await wait_for(lambda: emulator.open_streams == 1, what="stream open")
        await asyncio.to_thread(emulator.world.update_flag, "production", flag, enabled=False)
        await wait_for(lambda: _settled(monitor, "premium", flag), what="its first value")
    finally:
        await monitor.stop()

    both = {"premium": CONTEXTS["premium"], "free": CONTEXTS["free"]}
    monitor = Monitor(make_profile(emulator, context={}, contexts=both, watch=()))
    await monitor.start()
    try:
        await wait_for(
            lambda: all(_settled(monitor, name, flag) for name in both),
            what="its value in the remembered context and in the added one",
        )
    finally:
        await monitor.stop()


def _settled(monitor: Monitor, context: str, flag: str) -> bool:
    value = monitor.snapshot().context_values.get(context, {}).get(flag)
    return value is not None and value.current is not None and not value.stale
