"""The monitor core over the real emulator (loopback HTTP), in both stream forms (`emulator_any`,
tests/integration/conftest.py): values, transitions, convergence."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx

from togul_monitor.config.profiles import Profile
from togul_monitor.core import (
    EvaluatorStatus,
    Monitor,
    MonitorThread,
    TransitionRecorded,
    ValueUpdated,
)
from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.values import Evaluation
from togul_monitor.emulator.harness import EmulatorHandle

CONTEXT = {"user_id": "u-1", "plan": "premium"}


def make_profile(emu: EmulatorHandle, **overrides: Any) -> Profile:
    fields: dict[str, Any] = {
        "name": "test",
        "base_url": emu.base_url,
        "environment_key": "production",
        "api_key": emu.credentials.keys["production"]["sdk"],
        "context": dict(CONTEXT),
        "watch": ("new-dashboard",),
        "heartbeat_seconds": 0.2,
    }
    fields.update(overrides)
    return Profile(**fields)


async def wait_for(cond: Callable[[], object], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or cond}")
        await asyncio.sleep(0.01)


class Recorder:
    """Collects a monitor's updates in the background."""

    def __init__(self, monitor: Monitor) -> None:
        self.items: list[object] = []
        self._updates = monitor.updates()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        async for item in self._updates:
            self.items.append(item)

    def of(self, kind: type) -> list[Any]:
        return [i for i in self.items if isinstance(i, kind)]


def expected(emu: EmulatorHandle, flag: str, env: str = "production") -> Evaluation:
    body = emu.world.evaluate(env, flag, CONTEXT)
    return Evaluation(body["value"], body["value_type"], body["reason"], body["enabled"])


def settled(monitor: Monitor, flag: str) -> bool:
    value = monitor.values().get(flag)
    return (
        value is not None
        and value.current is not None
        and not value.stale
        and monitor.evaluations_idle()
    )


async def started(emu: EmulatorHandle, **overrides: Any) -> tuple[Monitor, Recorder]:
    monitor = Monitor(make_profile(emu, **overrides))
    recorder = Recorder(monitor)
    await monitor.start()
    recorder.start()
    await wait_for(lambda: emu.open_streams == 1, what="stream open")
    return monitor, recorder


async def test_a_patch_that_flips_the_value_yields_one_transition_tied_to_its_event(
    emulator: EmulatorHandle,
) -> None:
    # Ids: the transition is tied to its event by the event's SSE id (the documented form has
    # none, so there `transitions_for` has nothing to look up).
    monitor, rec = await started(emulator)
    try:
        await wait_for(lambda: settled(monitor, "new-dashboard"), what="first value")
        before = monitor.values()["new-dashboard"].current
        assert before == Evaluation(True, "boolean", "rule_match", True)

        # The PATCH goes through the management API over HTTP, like a user's change would.
        creds = emulator.credentials
        headers = {"Authorization": f"Bearer {creds.org_token}"}
        async with httpx.AsyncClient(base_url=emulator.base_url, headers=headers) as http:
            project = (await http.get("/api/v1/projects")).json()["projects"][0]["id"]
            flags = (await http.get(f"/api/v1/projects/{project}/flags")).json()["flags"]
            (flag,) = [
                f
                for f in flags
                if f["key"] == "new-dashboard"
                and f["environment_id"] == creds.environment_ids["production"]
            ]
            r = await http.patch(
                f"/api/v1/projects/{project}/flags/{flag['id']}", json={"enabled": False}
            )
            assert r.status_code == 200

        await wait_for(lambda: rec.of(TransitionRecorded), what="a transition")
        await wait_for(lambda: settled(monitor, "new-dashboard"), what="settled")
        (event,) = [e for e in rec.of(FlagEvent) if e.flag_key == "new-dashboard"]
        (recorded,) = rec.of(TransitionRecorded)
        t = recorded.transition
        assert t.event_id is not None and t.event_id == event.event_id
        assert t.before == before
        assert t.after == Evaluation(False, "boolean", "disabled", False)
        assert recorded.watched is True
        value = monitor.values()["new-dashboard"]
        assert value.previous == before and value.trigger_event_id == event.event_id
        assert monitor.transitions_for(event) == [t]
        # The stale mark came before the answer.
        kinds = [
            (u.value.stale, u.value.current)
            for u in rec.of(ValueUpdated)
            if u.value.flag_key == "new-dashboard"
        ]
        assert (True, before) in kinds and kinds[-1] == (False, t.after)
    finally:
        await monitor.stop()


async def test_a_rule_change_that_keeps_the_value_yields_the_event_and_no_transition(
    emulator_any: EmulatorHandle,
) -> None:
    monitor, rec = await started(emulator_any, watch=("checkout-v2",))
    try:
        await wait_for(lambda: settled(monitor, "checkout-v2"), what="first value")
        requests_before = monitor.evaluator.counters.requests  # type: ignore[union-attr]
        # The context has no email: the attribute rule matched nothing before and after.
        await asyncio.to_thread(
            emulator_any.world.update_rule,
            "production",
            "checkout-v2",
            0,
            value_json='"@other.test"',
        )
        await wait_for(
            lambda: any(e.type == "rule.updated" for e in rec.of(FlagEvent)), what="event"
        )
        await wait_for(
            lambda: monitor.evaluator.counters.requests > requests_before,  # type: ignore[union-attr]
            what="re-evaluation",
        )
        await wait_for(lambda: settled(monitor, "checkout-v2"), what="settled")
        assert rec.of(TransitionRecorded) == []
        assert monitor.values()["checkout-v2"].current == expected(emulator_any, "checkout-v2")
    finally:
        await monitor.stop()


async def test_a_burst_of_1000_changes_costs_a_handful_of_calls_and_ends_right(
    emulator_any: EmulatorHandle,
) -> None:
    monitor, rec = await started(emulator_any)
    try:
        await wait_for(lambda: settled(monitor, "new-dashboard"), what="first value")
        requests_before = monitor.evaluator.counters.requests  # type: ignore[union-attr]

        def burst() -> None:
            for i in range(1000):
                emulator_any.world.update_flag("production", "new-dashboard", enabled=i % 2 == 1)
            emulator_any.world.update_flag("production", "new-dashboard", enabled=False)

        await asyncio.to_thread(burst)
        await wait_for(
            lambda: len(monitor.event_log.for_flag("new-dashboard")) == 1001, what="1001 events"
        )
        await wait_for(lambda: settled(monitor, "new-dashboard"), what="settled")
        calls = monitor.evaluator.counters.requests - requests_before  # type: ignore[union-attr]
        assert 1 <= calls <= 5, calls  # measured: 2
        final = monitor.values()["new-dashboard"].current
        assert final == expected(emulator_any, "new-dashboard")
        assert final == Evaluation(False, "boolean", "disabled", False)
    finally:
        await monitor.stop()


async def test_after_a_restart_without_replay_the_values_converge(
    emulator_any: EmulatorHandle,
) -> None:
    monitor, rec = await started(emulator_any)
    try:
        await wait_for(lambda: settled(monitor, "new-dashboard"), what="first value")
        emulator_any.faults.cut_streams()
        emulator_any.world.update_flag("production", "new-dashboard", enabled=False)
        emulator_any.faults.forget_replay()  # the "restart": the change is never sent
        await wait_for(lambda: rec.of(Outage), what="an outage")
        await wait_for(
            lambda: (
                monitor.values()["new-dashboard"].current == expected(emulator_any, "new-dashboard")
            ),
            what="convergence",
        )
        # The recorder takes updates on a task of its own: wait for it, not only the monitor.
        await wait_for(lambda: rec.of(TransitionRecorded), what="the transition recorded")
        assert [e for e in rec.of(FlagEvent) if e.flag_key == "new-dashboard"] == []
        (recorded,) = rec.of(TransitionRecorded)
        assert recorded.transition.event_id is None  # found by the re-evaluation, not an event
        assert recorded.transition.after == Evaluation(False, "boolean", "disabled", False)
    finally:
        await monitor.stop()


async def test_deletion_is_shown_and_history_is_kept(emulator_any: EmulatorHandle) -> None:
    monitor, rec = await started(emulator_any)
    try:
        await wait_for(lambda: settled(monitor, "new-dashboard"), what="first value")
        await asyncio.to_thread(
            emulator_any.world.update_flag, "production", "new-dashboard", enabled=False
        )
        await wait_for(lambda: len(rec.of(TransitionRecorded)) == 1, what="first transition")
        await asyncio.to_thread(emulator_any.world.delete_flag, "production", "new-dashboard")
        await wait_for(lambda: monitor.values()["new-dashboard"].deleted, what="deleted")
        await wait_for(  # the recorder's own task: the deletion's transition reaches it after
            lambda: len(rec.of(TransitionRecorded)) == 2, what="the deletion recorded"
        )
        (deleted_event,) = [e for e in rec.of(FlagEvent) if e.type == "flag.deleted"]
        value = monitor.values()["new-dashboard"]
        assert value.current is None
        assert value.previous == Evaluation(False, "boolean", "disabled", False)
        transitions = [u.transition for u in rec.of(TransitionRecorded)]
        assert transitions[-1].after is None and transitions[-1].event_id == deleted_event.event_id
        history = monitor.history("new-dashboard")
        assert [type(h).__name__ for h in history[:2]] == ["ValueTransition", "FlagEvent"]
        assert sum(isinstance(h, FlagEvent) for h in history) == 2
        # Re-evaluating everything asks about the deleted flag once: 404, still deleted, and
        # no second transition.
        transitions_before = len(rec.of(TransitionRecorded))
        not_found = monitor.evaluator.counters.not_found  # type: ignore[union-attr]
        monitor.reevaluate_all()
        await wait_for(
            lambda: monitor.evaluator.counters.not_found == not_found + 1,  # type: ignore[union-attr]
            what="a 404",
        )
        await wait_for(monitor.evaluations_idle, what="idle")
        assert monitor.values()["new-dashboard"].deleted
        assert len(rec.of(TransitionRecorded)) == transitions_before
        # ...and when it comes back, that is a transition from nothing.
        await asyncio.to_thread(emulator_any.world.create_flag, "production", "new-dashboard")
        await wait_for(lambda: len(rec.of(TransitionRecorded)) == transitions_before + 1)
        back = rec.of(TransitionRecorded)[-1].transition
        assert back.before is None and back.after is not None
        assert not monitor.values()["new-dashboard"].deleted
    finally:
        await monitor.stop()


async def test_a_403_from_evaluate_gives_one_status_and_no_request_storm(
    emulator_any: EmulatorHandle,
) -> None:
    # The key evaluated at start; then evaluate answers 403 (credentials refused: a key revoked
    # for evaluation, a proxy): one status, evaluation halted, no request per event.
    key = emulator_any.credentials.keys["production"]["sdk"]
    watched = ("new-dashboard", "checkout-v2")
    monitor, rec = await started(emulator_any, watch=watched)
    try:
        await wait_for(
            lambda: (
                all(monitor.values()[k].current for k in watched if k in monitor.values())
                and len(monitor.values()) == 2
            ),
            what="the first values",
        )
        emulator_any.faults.fail_evaluate(1_000, status=403)
        before = monitor.evaluator.counters.requests  # type: ignore[union-attr]

        def changes() -> None:
            for i in range(50):
                emulator_any.world.update_flag("production", "new-dashboard", enabled=i % 2 == 0)

        await asyncio.to_thread(changes)
        await wait_for(lambda: len(rec.of(FlagEvent)) == 50, what="50 events")
        await wait_for(lambda: rec.of(EvaluatorStatus), what="evaluator status")
        await wait_for(monitor.evaluations_idle, what="idle")
        statuses = rec.of(EvaluatorStatus)
        assert len(statuses) == 1
        assert statuses[0].credentials_rejected and not statuses[0].ok
        assert "403" in (statuses[0].message or "")
        assert key not in (statuses[0].message or "")
        asked = monitor.evaluator.counters.requests - before  # type: ignore[union-attr]
        assert 1 <= asked <= 2  # the first refusal halts: not one per event
        assert monitor.snapshot().evaluator == statuses[0]
        value = monitor.values()["new-dashboard"]
        assert value.stale and value.error is not None
    finally:
        await monitor.stop()


async def test_org_token_evaluates_only_the_profiles_environment(
    emulator_any: EmulatorHandle,
) -> None:
    # A server key cannot stream, so the token's organisation-wide stream is used.
    monitor, rec = await started(
        emulator_any,
        token=emulator_any.credentials.org_token,
        api_key=emulator_any.credentials.keys["production"]["server"],
        watch=(),
    )
    try:
        production = emulator_any.credentials.environment_ids["production"]
        snapshot = monitor.snapshot()
        assert snapshot.environment_id == production
        assert snapshot.environment_names[production] == "production"
        listed = {f.key for f in emulator_any.world.list_flags(production)}
        assert set(snapshot.values) == listed  # every flag the management API lists
        await wait_for(lambda: settled(monitor, "new-dashboard"), what="first value")
        await wait_for(monitor.evaluations_idle, timeout=10, what="idle")
        requests = monitor.evaluator.counters.requests  # type: ignore[union-attr]

        await asyncio.to_thread(
            emulator_any.world.update_flag, "staging", "new-dashboard", enabled=False
        )
        await wait_for(lambda: rec.of(FlagEvent), what="the staging event")
        await asyncio.to_thread(
            emulator_any.world.update_flag, "production", "checkout-v2", enabled=False
        )
        await wait_for(lambda: len(rec.of(FlagEvent)) == 2, what="the production event")
        await wait_for(lambda: settled(monitor, "checkout-v2"), what="settled")
        await wait_for(monitor.evaluations_idle, what="idle")
        # Only the production change cost an evaluation; staging's twin flag is untouched.
        assert monitor.evaluator.counters.requests == requests + 1  # type: ignore[union-attr]
        assert not monitor.values()["new-dashboard"].stale
        assert monitor.values()["new-dashboard"].current == expected(emulator_any, "new-dashboard")
        await wait_for(lambda: rec.of(TransitionRecorded), what="the transition recorded")
        assert [u.transition.flag_key for u in rec.of(TransitionRecorded)] == ["checkout-v2"]
    finally:
        await monitor.stop()


async def test_a_streaming_key_with_a_token_streams_one_environment_and_lists_every_flag(
    emulator_any: EmulatorHandle,
) -> None:
    monitor, rec = await started(emulator_any, token=emulator_any.credentials.org_token, watch=())
    try:
        production = emulator_any.credentials.environment_ids["production"]
        listed = {f.key for f in emulator_any.world.list_flags(production)}
        assert set(monitor.snapshot().values) == listed
        await wait_for(lambda: settled(monitor, "checkout-v2"), what="first value")
        await asyncio.to_thread(
            emulator_any.world.update_flag, "staging", "new-dashboard", enabled=False
        )
        await asyncio.to_thread(
            emulator_any.world.update_flag, "production", "checkout-v2", enabled=False
        )
        await wait_for(lambda: rec.of(FlagEvent), what="the production event")
        await wait_for(lambda: rec.of(TransitionRecorded), what="the transition")
        # The sdk key's stream carries production only; the staging change never arrives.
        assert [e.flag_key for e in rec.of(FlagEvent)] == ["checkout-v2"]
        # Listed up front, so the flag's first change already has a "before".
        transition = rec.of(TransitionRecorded)[0].transition
        assert transition.flag_key == "checkout-v2"
        assert transition.before is not None and transition.after is not None
    finally:
        await monitor.stop()


async def test_history_survives_a_restart_of_the_process(emulator: EmulatorHandle) -> None:
    # Ids: the history is looked up by the event's SSE id (the documented form has none).
    monitor, rec = await started(emulator)
    try:
        await wait_for(lambda: settled(monitor, "new-dashboard"), what="first value")
        await asyncio.to_thread(
            emulator.world.update_flag, "production", "new-dashboard", enabled=False
        )
        await wait_for(lambda: rec.of(TransitionRecorded), what="transition")
        event_id = rec.of(TransitionRecorded)[0].transition.event_id
    finally:
        await monitor.stop()

    # A new Monitor (what a new process builds) on the same profile: nothing new happens.
    again = Monitor(make_profile(emulator))
    await again.start()
    try:
        history = again.history("new-dashboard")
        [event] = [h for h in history if isinstance(h, FlagEvent) and h.event_id == event_id]
        [transition] = again.transitions_for(event)
        assert transition.after is not None
        assert transition.after.reason == "disabled"
        assert [e.event_id for e in again.events()] == [event_id]  # loaded into the log
        # The remembered value is the baseline: re-evaluating the same value is no transition.
        await wait_for(lambda: settled(again, "new-dashboard"), what="settled")
        assert again.values()["new-dashboard"].current == transition.after
    finally:
        await again.stop()


async def test_no_record_writes_no_journal(emulator_any: EmulatorHandle, isolated_home) -> None:
    monitor = Monitor(make_profile(emulator_any), record=False)
    await monitor.start()
    try:
        await wait_for(lambda: emulator_any.open_streams == 1, what="stream open")
        await asyncio.to_thread(
            emulator_any.world.update_flag, "production", "new-dashboard", enabled=False
        )
        await wait_for(lambda: monitor.history("new-dashboard"), what="history in memory")
        assert not monitor.snapshot().recording
    finally:
        await monitor.stop()
    assert not (isolated_home / "journal").exists()


def test_monitor_thread_serves_another_thread(emulator: EmulatorHandle) -> None:
    # Ids: `transitions_for` looks the transition up by the event's SSE id.
    from togul_monitor.domain.filters import parse_filter

    thread = MonitorThread(make_profile(emulator, watch=()), max_pending=100_000)
    thread.start()
    try:

        def until(cond: Callable[[], object], what: str) -> None:
            deadline = time.monotonic() + 5
            while not cond():
                assert time.monotonic() < deadline, what
                time.sleep(0.01)

        until(lambda: emulator.open_streams == 1, "stream")
        thread.monitor.set_watched("new-dashboard", True)
        until(
            lambda: (v := thread.monitor.snapshot().values.get("new-dashboard")) and v.current,
            "value",
        )
        emulator.world.update_flag("production", "new-dashboard", enabled=False)
        emulator.world.update_flag("production", "checkout-v2", enabled=False)
        drained: list[object] = []
        until(
            lambda: (
                drained.extend(thread.monitor.drain())
                or any(isinstance(u, TransitionRecorded) for u in drained)
            ),
            "transition drained",
        )
        events = thread.monitor.events(parse_filter("flag:new-*"))
        assert [e.flag_key for e in events] == ["new-dashboard"]
        assert len(thread.monitor.events()) == 2
        (t,) = [u.transition for u in drained if isinstance(u, TransitionRecorded)]
        assert thread.monitor.transitions_for(events[0]) == [t]
        history = thread.monitor.history("new-dashboard")
        assert history[0] == t
        snap = thread.monitor.snapshot()
        assert snap.counters.events == 2 and "new-dashboard" in snap.watched
        assert snap.recording and snap.dropped_updates == 0
        # The rate counts complete seconds only: the events show once their second is over.
        until(lambda: sum(thread.monitor.snapshot().events_per_second) >= 2, "the rate")
        thread.monitor.restart_stream()
        until(
            lambda: emulator.open_streams == 1 and thread.monitor.snapshot().counters.reconnects,
            "re",
        )
    finally:
        started_at = time.monotonic()
        thread.stop(timeout=5)
        assert time.monotonic() - started_at < 5
    assert emulator.wait_for_streams(0, timeout=2)


async def test_an_unreadable_journal_is_moved_aside_and_said_so(
    emulator_any: EmulatorHandle, isolated_home
) -> None:
    journal_file = isolated_home / "journal" / "test.sqlite3"
    journal_file.parent.mkdir(parents=True)
    journal_file.write_bytes(b"not a database" * 1000)
    monitor = Monitor(make_profile(emulator_any))
    await monitor.start()
    try:
        snap = monitor.snapshot()
        assert snap.recording
        assert snap.journal_notice is not None and "moved aside" in snap.journal_notice
        aside = list(journal_file.parent.glob("test.sqlite3.unreadable-*"))
        assert len(aside) == 1 and aside[0].read_bytes() == b"not a database" * 1000
    finally:
        await monitor.stop()


async def test_run_headless_records_like_the_tui(emulator_any: EmulatorHandle) -> None:
    from togul_monitor.core import run_headless
    from togul_monitor.domain.events import ConnectionState, Status
    from togul_monitor.store.journal import journal_path
    from togul_monitor.store.reader import read_history

    seen: list[object] = []

    async def watch() -> None:
        async with run_headless(make_profile(emulator_any), record=True) as (monitor, updates):
            async for update in updates:
                seen.append(update)
                if isinstance(update, Status) and update.state is ConnectionState.LIVE:
                    # The first value first: a change racing the very first evaluation has no
                    # "before" to compare with.
                    await wait_for(lambda: settled(monitor, "new-dashboard"), what="first value")
                    await asyncio.to_thread(
                        emulator_any.world.update_flag, "production", "new-dashboard", enabled=False
                    )
                if isinstance(update, TransitionRecorded):
                    break

    await asyncio.wait_for(watch(), 10)
    assert any(isinstance(u, FlagEvent) for u in seen)
    history = read_history(journal_path("test"), "new-dashboard")
    assert [type(h).__name__ for h in history] == ["ValueTransition", "FlagEvent"]


async def test_a_failed_environment_lookup_falls_back_to_the_api_key_stream(
    emulator_any: EmulatorHandle,
) -> None:
    monitor, rec = await started(emulator_any, token="not-a-valid-token")
    try:
        snap = monitor.snapshot()
        assert any("environment lookup failed" in n for n in snap.notices)
        assert "not-a-valid-token" not in " ".join(snap.notices)
        await wait_for(lambda: settled(monitor, "new-dashboard"), what="first value")
        await asyncio.to_thread(
            emulator_any.world.update_flag, "staging", "new-dashboard", enabled=False
        )
        await asyncio.to_thread(
            emulator_any.world.update_flag, "production", "new-dashboard", enabled=False
        )
        await wait_for(lambda: rec.of(TransitionRecorded), what="transition")
        # The API-key stream is the production environment only: staging's event never came.
        production = emulator_any.credentials.environment_ids["production"]
        assert {e.environment_id for e in rec.of(FlagEvent)} == {production}
        assert monitor.snapshot().environment_names == {production: "production"}
    finally:
        await monitor.stop()


async def test_stop_reading_closes_the_stream_and_evaluation_goes_on(
    emulator: EmulatorHandle,
) -> None:
    """What `tail --count` does at its count: the server sees the stream closed, and a
    re-evaluation asked for afterwards is still made."""
    monitor, _ = await started(emulator)
    try:
        emulator.world.update_flag("production", "new-dashboard", enabled=False)
        await wait_for(lambda: monitor.event_log.total >= 1, what="the event")
        await wait_for(lambda: settled(monitor, "new-dashboard"), what="its value")
        await monitor.stop_reading()
        await wait_for(lambda: emulator.open_streams == 0, what="the server to see it closed")
        asked = monitor.snapshot().evaluate_requests
        monitor.reevaluate_all()
        await wait_for(lambda: monitor.snapshot().evaluate_requests > asked, what="evaluation")
    finally:
        await monitor.stop()
