"""A server that names ever new flag keys, over the real emulator: the monitor keeps at most
`max_flags` values, shows every event, counts the rest, and asks about new flags at a bounded
rate (core/reevaluate.py)."""

from __future__ import annotations

import asyncio
import time

import pytest

from togul_monitor.core import Monitor, reevaluate
from togul_monitor.emulator.harness import EmulatorHandle

from .test_monitor import make_profile, settled, wait_for

NEW_FLAGS = 100
MAX_FLAGS = 40
RATE, BURST = 40.0, 10


async def test_a_flood_of_new_keys_is_bounded_counted_and_paced(
    emulator_any: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reevaluate, "NEW_FLAGS_PER_SECOND", RATE)
    monkeypatch.setattr(reevaluate, "NEW_FLAGS_BURST", BURST)
    monitor = Monitor(make_profile(emulator_any), record=False, max_flags=MAX_FLAGS)
    await monitor.start()
    try:
        await wait_for(lambda: emulator_any.open_streams == 1, what="stream open")
        await wait_for(lambda: settled(monitor, "new-dashboard"), what="first value")
        before = monitor.snapshot().evaluate_requests
        keys = [f"flood-{i:04d}" for i in range(NEW_FLAGS)]

        def flood() -> None:
            for key in keys:
                emulator_any.world.create_flag("production", key)

        await asyncio.to_thread(flood)
        began = time.monotonic()
        samples: list[tuple[float, int]] = []

        def all_evaluated() -> bool:
            samples.append((time.monotonic() - began, monitor.snapshot().evaluate_requests))
            values = monitor.values()
            return len(values) == MAX_FLAGS and all(
                v.current is not None and not v.stale for v in values.values()
            )

        await wait_for(all_evaluated, what="the first flags evaluated")
        await wait_for(monitor.evaluations_idle, what="idle")
        snap = monitor.snapshot()
        monitored = MAX_FLAGS - 1  # the watched flag holds one place
        assert sorted(k for k in snap.values if k.startswith("flood-")) == keys[:monitored]
        assert snap.max_flags == MAX_FLAGS
        assert snap.unmonitored_events == NEW_FLAGS - monitored
        assert snap.evaluate_requests - before == monitored  # one each, none for the rest
        # Every event is in the feed, monitored or not.
        assert {e.flag_key for e in monitor.events() if e.flag_key.startswith("flood-")} == set(
            keys
        )
        # New flags are asked about at RATE a second after a burst of BURST (8 may be on their
        # way when a sample is taken, and one sample may lag the other by a poll).
        for elapsed, requests in samples:
            assert requests - before <= BURST + RATE * (elapsed + 0.05) + 8, (elapsed, requests)
    finally:
        await monitor.stop()
