"""`lag` (receive time less the server's time on the last event) measures the live stream: the
events a server replays after an outage were published before the connection, and their age is
the outage's, not the stream's delay. Against the emulator (with ids: it replays)."""

from __future__ import annotations

import time

from togul_monitor.domain.events import ConnectionState, FlagEvent
from togul_monitor.emulator.harness import EmulatorHandle

from .test_monitor import settled, started, wait_for


async def test_lag_is_measured_on_live_events_not_on_a_replay(emulator: EmulatorHandle) -> None:
    monitor, rec = await started(emulator)
    try:
        await wait_for(lambda: settled(monitor, "new-dashboard"), what="first value")
        emulator.world.update_flag("production", "new-dashboard", enabled=False)
        await wait_for(lambda: rec.of(FlagEvent), what="a live event")
        assert monitor.snapshot().last_lag_seconds is not None
        # Down (the next attempt refused), a change meanwhile, then the replay brings it.
        emulator.faults.fail_next(1, 503, retry_after=0.5)
        emulator.faults.cut_streams()

        def state() -> ConnectionState:
            return monitor.snapshot().status.state

        await wait_for(lambda: state() is ConnectionState.RETRYING, what="down")
        # A change the server made while the monitor was away: 30 s ago by its clock (an outage
        # that long, without the wait).
        world = emulator.world
        world.clock = lambda: time.time() - 30
        try:
            world.update_flag("production", "new-dashboard", enabled=True)
        finally:
            world.clock = time.time
        await wait_for(lambda: len(rec.of(FlagEvent)) == 2, what="the replayed event")
        assert state() is ConnectionState.LIVE
        assert monitor.snapshot().last_lag_seconds is None  # nothing live measured it yet
        emulator.world.update_flag("production", "new-dashboard", enabled=False)
        await wait_for(lambda: len(rec.of(FlagEvent)) == 3, what="a live event again")
        assert monitor.snapshot().last_lag_seconds is not None
    finally:
        await monitor.stop()
