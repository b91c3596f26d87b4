"""Two monitors of one profile: only the first records, so nothing is journalled twice; the
second reads what the first records (its backfill, last values and history)."""

from __future__ import annotations

import asyncio

from togul_monitor.core import Monitor, TransitionRecorded
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import ValueTransition
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.store.journal import journal_path
from togul_monitor.store.reader import iter_journal_events

from .test_monitor import Recorder, make_profile, settled, wait_for


async def test_the_second_recorder_of_a_profile_streams_without_recording(
    emulator_any: EmulatorHandle,
) -> None:
    profile = make_profile(emulator_any, name="twice")
    first, second = Monitor(profile), Monitor(profile)
    seen = Recorder(second)
    await first.start()
    await second.start()
    seen.start()
    try:
        assert first.snapshot().recording
        snapshot = second.snapshot()
        assert not snapshot.recording
        assert "another togul-monitor" in (snapshot.journal_notice or "")
        await wait_for(lambda: emulator_any.open_streams == 2, what="both streams")
        await asyncio.to_thread(
            emulator_any.world.update_flag, "production", "new-dashboard", enabled=False
        )
        await wait_for(lambda: seen.of(FlagEvent), what="the event on the second monitor")
    finally:
        await second.stop()
        await first.stop()
    ids = [e.event_id for e in iter_journal_events(journal_path("twice"))]
    assert ids == [seen.of(FlagEvent)[0].event_id]  # journalled once, by the first recorder


async def test_a_monitor_that_may_not_record_reads_what_the_recorder_journals(
    emulator_any: EmulatorHandle,
) -> None:
    # Its backfill and a flag's history come from the file the first one records,
    # as `togul-monitor history` reads it meanwhile; it still says it is not recording.
    profile = make_profile(emulator_any, name="read-busy")
    first = Monitor(profile)
    seen = Recorder(first)
    await first.start()
    seen.start()
    second: Monitor | None = None
    try:
        await wait_for(lambda: settled(first, "new-dashboard"), what="the first value")
        await asyncio.to_thread(
            emulator_any.world.update_flag, "production", "new-dashboard", enabled=False
        )
        await wait_for(lambda: seen.of(TransitionRecorded), what="the value change")
        event = seen.of(FlagEvent)[0]
        change = seen.of(TransitionRecorded)[0].transition
        assert first.journal is not None and first.journal.flush(timeout=10)
        second = Monitor(profile)
        await second.start()
        snapshot = second.snapshot()
        assert not snapshot.recording and snapshot.recorder_busy
        assert "another togul-monitor" in (snapshot.journal_notice or "")
        # The feed's backfill: the recorded event, and its value change tied to it.
        assert [(e.flag_key, e.version, e.received_at) for e in second.event_log.events()] == [
            (event.flag_key, event.version, event.received_at)
        ]
        assert [(e.version, t.at) for e, t in snapshot.recorded.transitions] == [
            (event.version, change.at)
        ]
        history = await asyncio.to_thread(second.history, "new-dashboard")
        assert change.at in [h.at for h in history if isinstance(h, ValueTransition)]
    finally:
        if second is not None:
            await second.stop()
        await first.stop()
    # Read, not written: the first recorder journalled the event once.
    assert len(list(iter_journal_events(journal_path("read-busy")))) == 1
