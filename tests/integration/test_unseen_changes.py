"""A value change the stream may not have shown in full is said so, whichever event it is tied to.

After an outage that could not prove continuity, the monitor re-evaluates every value; an event of
a flag that arrives before that answer is the one the change is tied to, but the change may also
hold what was missed: the transition says `includes_unseen`. Against the emulator over loopback.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from togul_monitor.config.profiles import Profile
from togul_monitor.core import Monitor, TransitionRecorded, unusable_pace
from togul_monitor.domain.events import (
    ConnectionState,
    FlagEvent,
    Malformed,
    Outage,
    PossibleGap,
    Status,
)
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.emulator.harness import EmulatorHandle, running_emulator

from .test_monitor import Recorder, make_profile, settled, wait_for

OFF = Evaluation(False, "boolean", "disabled", False)

# Long enough that an event sent once the outage is seen lands before the re-evaluation the
# outage asked for is sent, so both are answered by one call (what the test is about).
SETTLE = 2.0


async def _started(
    emu: EmulatorHandle, *, settle_free: bool = False, settle: float = SETTLE, **options: Any
) -> tuple[Monitor, Recorder]:
    settle = 0.01 if settle_free else settle
    monitor = Monitor(make_profile(emu), record=False, evaluate_settle=settle, **options)
    recorder = Recorder(monitor)
    await monitor.start()
    recorder.start()
    await wait_for(lambda: emu.open_streams == 1, what="stream open")
    await wait_for(lambda: settled(monitor, "new-dashboard"), what="first value")
    return monitor, recorder


async def test_a_change_missed_in_an_outage_is_marked_on_the_event_it_is_tied_to(
    emulator: EmulatorHandle,
) -> None:
    monitor, rec = await _started(emulator)
    try:
        emulator.faults.cut_streams()
        emulator.world.update_flag("production", "new-dashboard", enabled=False)
        emulator.faults.forget_replay()  # the change's event is never sent
        await wait_for(lambda: rec.of(Outage), what="an outage")
        assert rec.of(Outage)[0].may_have_missed
        # An edit that leaves the value as it is: the change from on to off is not its doing.
        await asyncio.to_thread(
            emulator.world.update_flag, "production", "new-dashboard", description="edited"
        )
        await wait_for(lambda: rec.of(TransitionRecorded), timeout=15, what="the transition")
        (event,) = [e for e in rec.of(FlagEvent) if e.flag_key == "new-dashboard"]
        (recorded,) = rec.of(TransitionRecorded)
        transition = recorded.transition
        assert transition.event_id == event.event_id is not None
        assert transition.after == OFF
        assert transition.includes_unseen
    finally:
        await monitor.stop()


async def test_a_change_replayed_after_an_outage_is_its_events_alone(
    emulator: EmulatorHandle,
) -> None:
    monitor, rec = await _started(emulator)
    try:
        # An event first: the reconnect then sends its id, and the replay proves continuity.
        await asyncio.to_thread(
            emulator.world.update_flag, "production", "checkout-v2", description="edited"
        )
        await wait_for(lambda: rec.of(FlagEvent), what="an event")
        emulator.faults.cut_streams()
        emulator.world.update_flag("production", "new-dashboard", enabled=False)  # replayed
        await wait_for(lambda: rec.of(Outage), what="an outage")
        assert not rec.of(Outage)[0].may_have_missed
        await wait_for(lambda: rec.of(TransitionRecorded), timeout=15, what="the transition")
        (event,) = [e for e in rec.of(FlagEvent) if e.flag_key == "new-dashboard"]
        (recorded,) = rec.of(TransitionRecorded)
        assert recorded.transition.event_id == event.event_id is not None
        assert recorded.transition.after == OFF
        assert not recorded.transition.includes_unseen
    finally:
        await monitor.stop()


async def test_an_unusable_event_marks_at_once_though_its_re_evaluation_waits(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second unusable event within the interval only schedules the re-evaluation of every
    value; a change of a flag answered before that is still marked: the unusable event may
    have been that change."""
    monkeypatch.setattr(unusable_pace, "REEVALUATE_ALL_INTERVAL", 600.0)  # the due one never comes
    monitor = Monitor(make_profile(emulator), record=False)
    rec = Recorder(monitor)
    await monitor.start()
    rec.start()
    try:
        await wait_for(lambda: settled(monitor, "new-dashboard"), what="first value")
        production = emulator.credentials.environment_ids["production"]
        unusable = json.dumps({"type": "flag.updated", "environment_id": production})
        emulator.faults.emit_malformed(unusable)  # every value re-evaluated: nothing changed
        await wait_for(lambda: len(rec.of(Malformed)) == 1, what="the first unusable event")
        await wait_for(monitor.evaluations_idle, what="its re-evaluation answered")
        emulator.world.update_flag("production", "new-dashboard", enabled=False, publish=False)
        emulator.faults.emit_malformed(unusable)  # stands for that change: a re-evaluation due
        await asyncio.to_thread(
            emulator.world.update_flag, "production", "new-dashboard", description="edited"
        )
        await wait_for(lambda: rec.of(TransitionRecorded), what="the transition")
        (event,) = [e for e in rec.of(FlagEvent) if e.flag_key == "new-dashboard"]
        (recorded,) = rec.of(TransitionRecorded)
        assert recorded.transition.event_id == event.event_id is not None
        assert recorded.transition.after == OFF and recorded.transition.includes_unseen
    finally:
        await monitor.stop()


async def test_a_flags_next_change_after_a_possible_gap_is_marked(emulator: EmulatorHandle) -> None:
    """A flag's version jumped (the stream lost the event in between, the connection stayed up):
    its next change may hold the lost one's, whichever event it is tied to."""
    monitor, rec = await _started(emulator, settle_free=True)
    world = emulator.world
    try:
        for flag in ("new-dashboard", "checkout-v2", "new-dashboard", "checkout-v2"):
            # Interleaved +1s: the client learns that versions count per flag.
            await asyncio.to_thread(world.update_flag, "production", flag, description="x")
        await wait_for(lambda: len(rec.of(FlagEvent)) == 4, what="four events")
        await wait_for(monitor.evaluations_idle, what="their evaluations answered")
        # Switched off by an event the stream loses: its version is skipped below.
        flag = world.update_flag("production", "new-dashboard", enabled=False, publish=False)
        world.outbox.publish(
            flag.environment_id,
            {
                "type": "flag.updated",
                "flag_key": flag.key,
                "environment_id": flag.environment_id,
                "version": flag.version + 2,
                "timestamp": int(world.clock()),
            },
        )
        await wait_for(lambda: rec.of(PossibleGap), what="the gap")
        await wait_for(lambda: rec.of(TransitionRecorded), what="the transition")
        (recorded,) = rec.of(TransitionRecorded)
        assert recorded.transition.after == OFF and recorded.transition.includes_unseen
        assert recorded.transition.event_id == rec.of(FlagEvent)[-1].event_id is not None
    finally:
        await monitor.stop()


async def test_a_change_answered_while_the_stream_is_down_is_marked(
    emulator: EmulatorHandle,
) -> None:
    """An event's re-evaluation answered after the stream dropped, before its outage is decided,
    may hold a change whose event the drop lost: it is tied to the event, and marked."""
    # An event's re-evaluation is sent `settle` s later: the stream is cut by then.
    monitor, rec = await _started(emulator, settle=0.5)
    try:
        await asyncio.to_thread(
            emulator.world.update_flag, "production", "new-dashboard", description="edited"
        )
        await wait_for(lambda: rec.of(FlagEvent), what="the edit's event")
        emulator.faults.fail_next(3, status=503, retry_after=2)  # down for about 6 s
        emulator.faults.cut_streams()
        emulator.world.update_flag("production", "new-dashboard", enabled=False)  # not seen
        await wait_for(lambda: rec.of(TransitionRecorded), timeout=15, what="the transition")
        assert not rec.of(Outage)  # answered while the stream was down
        (event,) = rec.of(FlagEvent)
        (recorded,) = rec.of(TransitionRecorded)
        assert recorded.transition.event_id == event.event_id is not None
        assert recorded.transition.after == OFF and recorded.transition.includes_unseen
    finally:
        await monitor.stop()


async def _a_recorded_run(emulator: EmulatorHandle, profile: Profile, journal: Path) -> FlagEvent:
    """A recording run that sees one event of checkout-v2, then stops; that event."""
    first = Monitor(profile, journal_dir=journal)
    await first.start()
    try:
        await wait_for(lambda: emulator.open_streams == 1, what="stream open")
        await asyncio.to_thread(
            emulator.world.update_flag, "production", "checkout-v2", description="a"
        )
        await wait_for(lambda: len(first.event_log) == 1, what="the first run's event")
        await wait_for(lambda: settled(first, "new-dashboard"), what="its value, journalled")
    finally:
        await first.stop()
    (last,) = first.event_log.events()
    return last


async def _a_second_run(profile: Profile, journal: Path) -> tuple[Monitor, Recorder]:
    """A recording run on the journal of an earlier one, started, its updates collected."""
    second = Monitor(profile, journal_dir=journal)
    rec = Recorder(second)
    await second.start()
    rec.start()
    return second, rec


async def test_a_recorder_started_again_resumes_after_its_last_event_and_journals_the_gap(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """The changes made while no monitor ran are replayed from the journal's last event id,
    and the time between the runs is an outage: proved whole by the replay here."""
    profile = make_profile(emulator)
    last = await _a_recorded_run(emulator, profile, tmp_path)
    for text in ("b", "c"):  # while nothing watches
        emulator.world.update_flag("production", "checkout-v2", description=text)
    second, rec = await _a_second_run(profile, tmp_path)
    try:
        await wait_for(lambda: len(rec.of(FlagEvent)) == 2, what="the two replayed events")
        (outage,) = rec.of(Outage)
        assert outage.started_at == last.received_at and not outage.may_have_missed
        assert [int(e.event_id) for e in rec.of(FlagEvent)] == [
            int(last.event_id or 0) + 1,
            int(last.event_id or 0) + 2,
        ]
        journal = second.journal
        assert journal is not None and journal.flush(timeout=5)
        assert journal.count_events() == 3
        assert outage in journal.history("checkout-v2")
    finally:
        await second.stop()


@pytest.mark.parametrize("replayed", [True, False])
async def test_a_change_between_two_runs_is_marked_unless_the_replay_proved_that_time_whole(
    emulator: EmulatorHandle, tmp_path: Path, replayed: bool
) -> None:
    """The value before is the first run's, from its journal: once the replay proves the time
    between the runs whole, it and the replayed events are the whole account (domain/unseen.py);
    with the replay forgotten (as by a server's restart) the change may hold unseen ones."""
    profile = make_profile(emulator)
    await _a_recorded_run(emulator, profile, tmp_path)
    emulator.world.update_flag("production", "new-dashboard", enabled=False)  # nobody watches
    if not replayed:
        emulator.faults.forget_replay()
    # The start's request waits for the replayed event (what the answer is then tied to).
    second = Monitor(profile, journal_dir=tmp_path, evaluate_settle=SETTLE)
    rec = Recorder(second)
    await second.start()
    rec.start()
    try:
        await wait_for(lambda: rec.of(TransitionRecorded), timeout=15, what="the change")
        (outage,) = rec.of(Outage)
        assert outage.may_have_missed is not replayed
        (recorded,) = rec.of(TransitionRecorded)
        transition = recorded.transition
        assert transition.after == OFF and transition.includes_unseen is not replayed
        journal = second.journal
        assert journal is not None and journal.flush(timeout=5)
        (kept,) = [h for h in journal.history("new-dashboard") if isinstance(h, ValueTransition)]
        assert kept.includes_unseen is not replayed
    finally:
        await second.stop()


async def test_without_ids_the_time_between_two_runs_is_journalled_as_an_outage(
    tmp_path: Path,
) -> None:
    """Nothing can be replayed: the outage says changes in it may be missing, and the history
    reads it from the journal."""
    with running_emulator(seed=0, heartbeat=0.2, ids=False) as emulator:
        profile = make_profile(emulator)
        last = await _a_recorded_run(emulator, profile, tmp_path)
        second, rec = await _a_second_run(profile, tmp_path)
        try:
            await wait_for(lambda: rec.of(Outage), what="the outage between the runs")
            (outage,) = rec.of(Outage)
            assert outage.started_at == last.received_at
            assert outage.may_have_missed and outage.replayed is None
            journal = second.journal
            assert journal is not None and journal.flush(timeout=5)
            assert outage in journal.history("checkout-v2")
        finally:
            await second.stop()


async def test_a_stream_started_again_after_it_stopped_resumes_and_reports_the_window(
    emulator: EmulatorHandle,
) -> None:
    """Stopped (credentials refused on a reconnect), then started again by the user: the new
    stream resumes where the old one was lost, the window is an outage, and once it is told the
    changes that follow are their events' alone."""
    monitor, rec = await _started(emulator, settle_free=True)
    try:
        await asyncio.to_thread(
            emulator.world.update_flag, "production", "checkout-v2", description="seen"
        )
        await wait_for(lambda: rec.of(FlagEvent), what="an event")
        emulator.faults.fail_next(1, status=401, retry_after=None)
        emulator.faults.cut_streams()
        await wait_for(
            lambda: any(s.state is ConnectionState.STOPPED for s in rec.of(Status)), what="stopped"
        )
        emulator.world.update_flag("production", "new-dashboard", enabled=False)  # while stopped
        monitor.restart_stream()
        await wait_for(lambda: rec.of(Outage), what="the window, told")
        assert not rec.of(Outage)[0].may_have_missed  # resumed: the change was replayed
        await wait_for(lambda: rec.of(TransitionRecorded), what="the replayed change")
        await wait_for(monitor.evaluations_idle, what="the outage's re-evaluation")
        await asyncio.to_thread(
            emulator.world.update_flag, "production", "new-dashboard", enabled=True
        )
        await wait_for(lambda: len(rec.of(TransitionRecorded)) == 2, what="a later change")
        assert not rec.of(TransitionRecorded)[-1].transition.includes_unseen
    finally:
        await monitor.stop()


async def test_a_start_whose_stream_goes_live_late_asks_every_value_again(
    tmp_path: Path,
) -> None:
    """No ids: the start's answers came while the stream was refused; a change made before it
    went live has no event, and the outage of the first connection asks everything again."""
    with running_emulator(seed=0, heartbeat=0.2, ids=False) as emulator:
        profile = make_profile(emulator)
        await _a_recorded_run(emulator, profile, tmp_path)
        emulator.faults.fail_next(2, status=503, retry_after=1)
        second, rec = await _a_second_run(profile, tmp_path)
        try:
            await wait_for(lambda: settled(second, "new-dashboard"), what="the start's answer")
            assert not rec.of(Outage)  # not live yet
            emulator.world.update_flag("production", "new-dashboard", enabled=False)
            await wait_for(lambda: rec.of(Outage), what="the first connection's outage")
            await wait_for(
                lambda: second.values()["new-dashboard"].current == OFF, what="asked again"
            )
        finally:
            await second.stop()


async def test_a_resumed_start_refused_at_first_resumes_when_started_again(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    profile = make_profile(emulator)
    last = await _a_recorded_run(emulator, profile, tmp_path)
    emulator.faults.fail_next(1, status=401, retry_after=None)
    second, rec = await _a_second_run(profile, tmp_path)
    try:
        await wait_for(
            lambda: any(s.state is ConnectionState.STOPPED for s in rec.of(Status)), what="stopped"
        )
        emulator.world.update_flag("production", "checkout-v2", description="meanwhile")
        second.restart_stream()
        await wait_for(lambda: rec.of(FlagEvent), what="the replayed event")
        (outage,) = rec.of(Outage)
        assert outage.started_at == last.received_at and not outage.may_have_missed
    finally:
        await second.stop()


async def test_a_journal_of_another_environment_is_not_resumed(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    await _a_recorded_run(emulator, make_profile(emulator), tmp_path)
    staging = make_profile(emulator, api_key=emulator.credentials.keys["staging"]["sdk"])
    staging = replace(staging, environment_key="staging")
    second, rec = await _a_second_run(staging, tmp_path)
    try:
        await wait_for(lambda: second.snapshot().status.state is ConnectionState.LIVE, what="live")
        assert not second.snapshot().resumed
        await wait_for(lambda: settled(second, "new-dashboard"), what="the first value")
        await wait_for(second.evaluations_idle, what="every first answer")
        assert not rec.of(TransitionRecorded)  # no change from production's values
    finally:
        await second.stop()


async def test_every_value_is_in_doubt_from_a_lost_stream_until_asked_again(
    emulator: EmulatorHandle,
) -> None:
    """A change made while the stream is down reaches the monitor only after it is back: from
    the loss on, no value may be shown as current (stale) until the outage's answers come."""
    monitor, rec = await _started(emulator, settle_free=True)
    try:
        emulator.faults.fail_next(1, status=503, retry_after=0.3)  # down for an attempt
        emulator.faults.cut_streams()
        await wait_for(
            lambda: monitor.snapshot().status.state is not ConnectionState.LIVE,
            what="the stream lost",
        )
        emulator.world.update_flag("production", "new-dashboard", enabled=False)
        emulator.faults.forget_replay()
        await wait_for(
            lambda: all(v.stale for v in monitor.values().values() if v.current is not None),
            what="every value in doubt",
        )
        await wait_for(lambda: rec.of(Outage), timeout=15, what="the outage")
        await wait_for(lambda: settled(monitor, "new-dashboard"), timeout=15, what="answered")
        assert monitor.values()["new-dashboard"].current == OFF
    finally:
        await monitor.stop()


async def test_a_value_in_doubt_when_a_run_stopped_stays_marked_though_the_next_replay_is_whole(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """Run 1 loses the event between two versions of new-dashboard (a possible gap) and stops
    before its re-evaluation answers: the journal's last value is from before the gap. Run 2's
    replay proves the time between the runs whole, not that gap: the change it finds, tied to
    a replayed event of the flag, may still hold the lost event's."""
    profile = make_profile(emulator)
    world = emulator.world
    first = Monitor(profile, journal_dir=tmp_path, evaluate_settle=0.01)
    rec = Recorder(first)
    await first.start()
    rec.start()
    try:
        await wait_for(lambda: settled(first, "new-dashboard"), what="its value, journalled")
        for flag in ("new-dashboard", "checkout-v2", "new-dashboard", "checkout-v2"):
            # Interleaved +1s: the client learns that versions count per flag.
            await asyncio.to_thread(world.update_flag, "production", flag, description="x")
        await wait_for(lambda: len(rec.of(FlagEvent)) == 4, what="four events")
        await wait_for(first.evaluations_idle, what="their evaluations answered")
        emulator.faults.fail_evaluate(50)  # the gap's re-evaluation never answers in run 1
        # Switched off by an event the stream loses; the next one's version is skipped.
        world.update_flag("production", "new-dashboard", enabled=False, publish=False)
        flag = world.update_flag("production", "new-dashboard", description="z", publish=False)
        world.outbox.publish(
            flag.environment_id,
            {
                "type": "flag.updated",
                "flag_key": flag.key,
                "environment_id": flag.environment_id,
                "version": flag.version,
                "timestamp": int(world.clock()),
            },
        )
        await wait_for(lambda: rec.of(PossibleGap), what="the gap")
        await wait_for(lambda: emulator.faults.evaluate_failures_left < 50, what="a failure")
    finally:
        await first.stop()
    assert not rec.of(TransitionRecorded)
    while emulator.faults.evaluate_failures_left:  # evaluate answers again
        emulator.faults.take_evaluate_failure(authorized=False)
    # Edited while nobody watches, its value unchanged: replayed, it proves that time whole.
    world.update_flag("production", "new-dashboard", description="y")
    second = Monitor(profile, journal_dir=tmp_path, evaluate_settle=SETTLE)
    rec2 = Recorder(second)
    await second.start()
    rec2.start()
    try:
        await wait_for(lambda: rec2.of(TransitionRecorded), timeout=15, what="the change")
        (outage,) = rec2.of(Outage)
        assert not outage.may_have_missed
        (recorded,) = rec2.of(TransitionRecorded)
        transition = recorded.transition
        assert transition.event_id == rec2.of(FlagEvent)[-1].event_id is not None
        assert transition.after == OFF and transition.includes_unseen
        journal = second.journal
        assert journal is not None and journal.flush(timeout=5)
        (kept,) = [h for h in journal.history("new-dashboard") if isinstance(h, ValueTransition)]
        assert kept.includes_unseen
    finally:
        await second.stop()
