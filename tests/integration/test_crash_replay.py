"""A stream task that fails after the journal took a batch and before the event log did: the
restart resumes after the last event the log holds, the server replays the batch, and the
journal keeps each event once (core/held_events.py). Against the emulator over loopback, the
journal a SQLite file (which has no identity key to drop a copy: docs/journal.md)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from togul_monitor.core import Monitor
from togul_monitor.domain.events import ConnectionState, FlagEvent
from togul_monitor.emulator.harness import EmulatorHandle

from .test_monitor import make_profile, wait_for


async def test_the_replay_of_a_batch_journalled_before_the_task_failed_is_not_journalled_again(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    monitor = Monitor(make_profile(emulator), journal_dir=tmp_path)
    await monitor.start()
    try:
        await wait_for(lambda: monitor.snapshot().status.state is ConnectionState.LIVE, what="live")
        await asyncio.to_thread(emulator.world.update_flag, "production", "dark-mode")
        await wait_for(lambda: len(monitor.event_log) == 1, what="the first event")
        log = monitor.event_log
        real_extend = log.extend_events  # the intake's write after the journal's

        def broken(events: list[FlagEvent]) -> None:
            raise RuntimeError("a bug in the event log")

        log.extend_events = broken  # type: ignore[method-assign]
        await asyncio.to_thread(emulator.world.update_flag, "production", "checkout-v2")
        await wait_for(
            lambda: monitor.snapshot().status.state is ConnectionState.STOPPED, what="the crash"
        )
        log.extend_events = real_extend  # type: ignore[method-assign]
        journal = monitor.journal
        assert journal is not None and journal.flush(timeout=5)
        assert journal.count_events() == 2  # the batch the log never took
        monitor.restart_stream()
        await wait_for(lambda: len(log.events()) == 2, what="the replayed event")
        await asyncio.to_thread(emulator.world.update_flag, "production", "dark-mode")
        await wait_for(lambda: len(log.events()) == 3, what="a live event after the replay")
        assert journal.flush(timeout=5)
        journalled = [(e.event_id, e.flag_key) for e in journal.recent_events(10)]
        assert journalled == [(e.event_id, e.flag_key) for e in log.events()]  # each once
    finally:
        await monitor.stop()
