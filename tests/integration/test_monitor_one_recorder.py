"""Two monitors of one profile: only the first records, so nothing is journalled twice."""

from __future__ import annotations

import asyncio

from togul_monitor.core import Monitor
from togul_monitor.domain.events import FlagEvent
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.store.journal import journal_path
from togul_monitor.store.reader import iter_journal_events

from .test_monitor import Recorder, make_profile, wait_for


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
