"""`run_headless(drained=True)` (core/runner.py, core/drained.py) over the real emulator: the
updates come from the drain buffer in batches, the same updates in the same order as the
subscription a headless reader had, and nothing is left in a subscriber's queue."""

from __future__ import annotations

import asyncio

from togul_monitor.core import TransitionRecorded, run_headless
from togul_monitor.core.drained import DrainedUpdates
from togul_monitor.core.runner import HEADLESS_EVENT_LOG
from togul_monitor.domain.events import ConnectionState, FlagEvent, Status
from togul_monitor.emulator.harness import EmulatorHandle

from .test_monitor import make_profile, settled, wait_for


async def test_drained_updates_bring_the_event_and_then_its_transition(
    emulator_any: EmulatorHandle,
) -> None:
    seen: list[object] = []
    batches = 0

    async def drain() -> None:
        nonlocal batches
        async with run_headless(make_profile(emulator_any), record=False, drained=True) as (
            monitor,
            updates,
        ):
            assert isinstance(updates, DrainedUpdates)
            changed = False
            while not any(isinstance(u, TransitionRecorded) for u in seen):
                batch = await updates.batch()
                batches += 1
                seen.extend(batch)
                live = any(isinstance(u, Status) and u.state is ConnectionState.LIVE for u in batch)
                if live and not changed:
                    changed = True
                    await wait_for(lambda: settled(monitor, "new-dashboard"), what="first value")
                    await asyncio.to_thread(
                        emulator_any.world.update_flag, "production", "new-dashboard", enabled=False
                    )
            # Nobody subscribed: the drain is the only reader, and it lost nothing.
            assert monitor.snapshot().dropped_updates == 0

    await asyncio.wait_for(drain(), 10)
    events = [u for u in seen if isinstance(u, FlagEvent)]
    assert [e.flag_key for e in events] == ["new-dashboard"]
    transition = next(u for u in seen if isinstance(u, TransitionRecorded)).transition
    assert transition.flag_key == "new-dashboard" and transition.event_id == events[0].event_id
    assert seen.index(events[0]) < len(seen) - 1  # the event before its transition
    assert batches < len(seen)  # some batch held more than one update


async def test_a_headless_monitor_keeps_a_small_event_log(emulator_any: EmulatorHandle) -> None:
    # Headless readers take events from their updates: the log the TUI's feed reads is kept
    # small (memory, the journal rows loaded at start).
    async def start(**options: int) -> int:
        async with run_headless(make_profile(emulator_any), record=False, **options) as (
            monitor,
            _,
        ):
            return monitor.event_log.capacity

    assert await asyncio.wait_for(start(), 10) == HEADLESS_EVENT_LOG < 100_000
    assert await asyncio.wait_for(start(event_log_size=50), 10) == 50
