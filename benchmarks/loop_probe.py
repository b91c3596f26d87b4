"""How long a TUI benchmark's event loop was held: shared by benchmarks/tui.py and
benchmarks/config_load_tui.py."""

from __future__ import annotations

import asyncio
import time

PERIOD = 0.005  # seconds each probe sleeps


async def stall_probe(done: asyncio.Event, stalls: list[float]) -> None:
    """Sleep PERIOD again and again until `done`: how much longer each sleep took than asked is
    how long the loop was held (appended to `stalls`, in seconds)."""
    while not done.is_set():
        started = time.perf_counter()
        await asyncio.sleep(PERIOD)
        stalls.append(time.perf_counter() - started - PERIOD)
