#!/usr/bin/env python3
"""The TUI under load, headless, against the real emulator and MonitorThread over loopback.

1. A 5,000 events/s stream for 10 s (targets: longest event-loop stall <= 100 ms, key press to
   repaint p95 <= 100 ms). A probe task on the app's own loop measures how late it wakes up
   (the stall); a key (`t`, the time format) is sent through the driver every 200 ms and timed
   until the first frame painted after the app handled it.
2. `togul-monitor --demo` in a pseudo-terminal, timed from spawn to the first painted frame (the
   feed's border title on screen), median of a few runs (target: <= 1.5 s).

    .venv/bin/python benchmarks/tui.py [--seconds 10] [--rate 5000] [--starts 5]

Not part of the test suite: timings depend on the machine, so they are reported, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import multiprocessing
import os
import pty
import select
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual import events  # noqa: E402

from togul_monitor.config.profiles import Profile  # noqa: E402
from togul_monitor.domain.events import ConnectionState  # noqa: E402
from togul_monitor.emulator.harness import running_emulator  # noqa: E402
from togul_monitor.ui.app import TogulMonitorApp  # noqa: E402


def publisher(world: Any, rate: int, seconds: float, stop: threading.Event) -> None:
    """Change flags at `rate` events/s, in 10 ms slices, across both seeded test flags."""
    flags = [f.key for f in world.list_flags("production")][:20]
    start = time.perf_counter()
    sent = 0
    while not stop.is_set():
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
        due = int(elapsed * rate)
        while sent < due:
            key = flags[sent % len(flags)]
            try:
                world.update_flag("production", key, name=f"{key} #{sent}")
            except Exception:  # noqa: BLE001 - a deleted/odd flag: skip it, keep the rate
                pass
            sent += 1
        time.sleep(0.005)


def emulator_process(conn: Any, rate: int, seconds: float) -> None:
    """The emulator and the publisher, in their own process: the TUI's process then holds only
    what a user's would (the app and its MonitorThread), not a server competing for the GIL."""
    with running_emulator(
        seed=0, heartbeat=1.0, replay=1000, max_pending=rate * int(seconds + 5)
    ) as emu:
        creds = emu.credentials
        conn.send(
            (emu.base_url, creds.keys["production"]["sdk"], creds.environment_ids["production"])
        )
        conn.recv()  # "go"
        publisher(emu.world, rate, seconds, threading.Event())
        conn.send(emu.events_published)
        conn.recv()  # "done": keep serving until the app has read everything


async def load_run(rate: int, seconds: float) -> dict[str, float]:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=emulator_process, args=(child, rate, seconds), daemon=True)
    server.start()
    base_url, api_key, environment_id = parent.recv()
    try:
        return await _load_run(parent, base_url, api_key, environment_id)
    finally:
        parent.send("done")
        server.join(10)


async def _load_run(
    conn: Any, base_url: str, api_key: str, environment_id: str
) -> dict[str, float]:
    profile = Profile(
        name="bench",
        base_url=base_url,
        environment_key="production",
        api_key=api_key,
        context={"user_id": "bench"},
        heartbeat_seconds=1.0,
        environment_names={environment_id: "production"},
    )
    app = TogulMonitorApp(profile, keymap={})
    paints: list[float] = []
    original_display = app._display

    def display(screen: Any, renderable: Any) -> None:
        if renderable is not None and not app._batch_count:
            paints.append(time.perf_counter())
        original_display(screen, renderable)

    app._display = display  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        while app.monitor is None or (
            app.monitor.snapshot().status.state is not ConnectionState.LIVE
        ):
            await pilot.pause(0.05)
        stalls: list[float] = []
        done = asyncio.Event()

        async def probe() -> None:
            while not done.is_set():
                t = time.perf_counter()
                await asyncio.sleep(0.005)
                stalls.append(time.perf_counter() - t - 0.005)

        latencies: list[float] = []

        async def keys() -> None:
            driver = app._driver
            assert driver is not None
            while not done.is_set():
                await asyncio.sleep(0.2)
                before = app.main.time_mode
                t0 = time.perf_counter()
                driver.send_message(events.Key("t", "t"))
                while app.main.time_mode == before:
                    await asyncio.sleep(0.0005)
                handled = time.perf_counter()
                while not paints or paints[-1] < handled:
                    await asyncio.sleep(0.0005)
                latencies.append(paints[-1] - t0)

        probe_task = asyncio.create_task(probe())
        keys_task = asyncio.create_task(keys())
        started = time.perf_counter()
        conn.send("go")
        while not conn.poll():
            await asyncio.sleep(0.05)
        duration = time.perf_counter() - started
        published = conn.recv()
        deadline = time.perf_counter() + 30
        while app.main.store.received < published and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        done.set()
        await asyncio.gather(probe_task, keys_task)
        snap = app.monitor.snapshot()
        store = app.main.store
        if os.environ.get("TUI_BENCH_GC_REPORT"):  # what the garbage collector has to walk
            counts = collections.Counter(type(o).__name__ for o in gc.get_objects())
            print("tracked objects:", sum(counts.values()), counts.most_common(12))
        accounted = (
            store.received == store.shown + store.pending_events + store.trimmed + store.filtered
        )
    latencies.sort()
    return {
        "published": published,
        "publish_rate": published / duration,
        "received_by_view": store.received,
        "dropped_updates": snap.dropped_updates,
        "accounted": float(accounted),
        "stall_max_ms": max(stalls) * 1000,
        "stall_p99_ms": statistics.quantiles(stalls, n=100)[98] * 1000,
        "key_p50_ms": statistics.median(latencies) * 1000,
        "key_p95_ms": statistics.quantiles(latencies, n=20)[18] * 1000,
        "keys": len(latencies),
    }


def first_frame_seconds(timeout: float = 20.0) -> float:
    """Spawn `togul-monitor --demo` on a pty; seconds until the first frame is on screen."""
    # The interpreter running this script, on this checkout: works from any virtual environment.
    argv = [sys.executable, "-m", "togul_monitor", "--demo"]
    with tempfile.TemporaryDirectory(prefix="togul-bench-") as home:
        env = dict(os.environ, TOGUL_MONITOR_HOME=home, TERM="xterm-256color")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        env.update(COLUMNS="120", LINES="40")
        start = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # child
            os.execve(argv[0], argv, env)
        seen = b""
        try:
            while time.perf_counter() - start < timeout:
                ready, _, _ = select.select([fd], [], [], 0.05)
                if ready:
                    try:
                        seen += os.read(fd, 65536)
                    except OSError:
                        break
                    if b"live feed" in seen:
                        return time.perf_counter() - start
            raise RuntimeError("no first frame before the timeout")
        finally:
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
            os.close(fd)


def main() -> int:
    parser = argparse.ArgumentParser(description="togul-monitor TUI benchmark")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args()

    result = asyncio.run(load_run(args.rate, args.seconds))
    print(f"load: {args.rate} events/s asked for {args.seconds:.0f} s")
    print(
        f"  published {result['published']:.0f} ({result['publish_rate']:.0f}/s achieved), "
        f"view received {result['received_by_view']:.0f}, dropped updates "
        f"{result['dropped_updates']:.0f}, all accounted: {bool(result['accounted'])}"
    )
    print(
        f"  longest event-loop stall {result['stall_max_ms']:.1f} ms "
        f"(p99 {result['stall_p99_ms']:.1f} ms; target <= 100 ms)"
    )
    print(
        f"  key press to repaint p50 {result['key_p50_ms']:.1f} ms, "
        f"p95 {result['key_p95_ms']:.1f} ms over {result['keys']} presses (target p95 <= 100 ms)"
    )
    starts = [first_frame_seconds() for _ in range(args.starts)]
    print(
        f"startup: `togul-monitor --demo` to first frame, median {statistics.median(starts):.2f} s "
        f"over {len(starts)} runs ({', '.join(f'{s:.2f}' for s in starts)}; target <= 1.5 s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
