#!/usr/bin/env python3
"""The TUI under load, idle and starting, against the real emulator over loopback.

The emulator and its publisher run in ANOTHER PROCESS (spawned): the TUI's process holds only
what a user's would (the app and its MonitorThread).
1. `load`: `--rates` events/s (5,000 and 20,000) for `--seconds`: the longest event-loop stall
   (a probe task on the app's loop), key press (`t`, every 200 ms) to the first painted frame that
   shows its effect (the other time format), and every published event accounted for by the view (shown, or counted as not shown:
   pending, trimmed (with `skipped`: left out by a paint's budget), filtered). Targets: at 5k/s
   stall <= 50 ms and key p95 <= 50 ms; at 20k/s key p95 <= 100 ms.
2. `latency`: 100 events/s; the publisher notes when it published each (flag, version), a probe
   on the feed's row rendering when each was first painted (target p99 <= 100 ms).
3. `idle`: the real TUI in a pseudo-terminal on a stream with heartbeats only: its process's CPU
   time over `--idle-seconds` (scaled to 60 s; target < 1 % of a core).
4. `startup`: `python -m togul_monitor --demo` in a pseudo-terminal, spawn to the first frame
   (the feed's border title on screen), median of `--starts` runs (target <= 0.5 s).

    python benchmarks/tui.py [--modes load,latency,idle,startup] [--rates 5000,20000]
                             [--seconds 10] [--idle-seconds 20] [--starts 5]

Runs from any virtual environment (`sys.executable -m togul_monitor` on this checkout). Not part
of the test suite: timings depend on the machine, so they are reported with `nproc` and the
load average, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import os
import pty
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import togul_monitor.ui  # noqa: E402, F401  (first: the app's Textual settings, ui/__init__.py)

# isort: split
from loop_probe import stall_probe  # noqa: E402
from textual import events  # noqa: E402

from togul_monitor.config.profiles import Profile  # noqa: E402
from togul_monitor.domain.events import ConnectionState, FlagEvent  # noqa: E402
from togul_monitor.emulator.harness import running_emulator  # noqa: E402
from togul_monitor.ui.app import TogulMonitorApp  # noqa: E402


def publisher(
    world: Any,
    rate: int,
    seconds: float,
    stop: threading.Event,
    stamps: dict[tuple[str, int], float] | None = None,
) -> None:
    """Change flags at `rate` events/s, in 5 ms slices, across the first 20 seeded flags; with
    `stamps`, note when each (flag, version) was published (wall clock: shared by processes)."""
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
                flag = world.update_flag("production", key, name=f"{key} #{sent}")
                if stamps is not None:
                    stamps[key, flag.version] = time.time()
            except Exception:  # noqa: BLE001 - a deleted/odd flag: skip it, keep the rate
                pass
            sent += 1
        time.sleep(0.001 if rate <= 1000 else 0.005)


def emulator_process(conn: Any, rate: int, seconds: float, stamp: bool = False) -> None:
    """The emulator and the publisher, in their own process: the TUI's process then holds only
    what a user's would (the app and its MonitorThread), not a server competing for the GIL."""
    # The app's evaluate requests cut short when it exits are no news: keep the report readable.
    logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
    with running_emulator(
        seed=0, heartbeat=1.0, replay=1000, max_pending=rate * int(seconds + 5) + 1000
    ) as emu:
        creds = emu.credentials
        conn.send(
            (emu.base_url, creds.keys["production"]["sdk"], creds.environment_ids["production"])
        )
        if conn.recv() == "idle":  # serve heartbeats only, until told to stop
            conn.recv()
            return
        stamps: dict[tuple[str, int], float] | None = {} if stamp else None
        publisher(emu.world, rate, seconds, threading.Event(), stamps)
        conn.send((emu.events_published, stamps))
        conn.recv()  # "done": keep serving until the app has read everything


def _spawn_emulator(rate: int, seconds: float, stamp: bool = False) -> tuple[Any, Any, tuple]:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=emulator_process, args=(child, rate, seconds, stamp), daemon=True)
    server.start()
    return parent, server, parent.recv()


async def load_run(rate: int, seconds: float, stamp: bool = False) -> dict[str, Any]:
    parent, server, (base_url, api_key, environment_id) = _spawn_emulator(rate, seconds, stamp)
    try:
        return await _load_run(parent, base_url, api_key, environment_id, stamp)
    finally:
        parent.send("done")
        server.join(10)


async def _load_run(
    conn: Any, base_url: str, api_key: str, environment_id: str, stamp: bool
) -> dict[str, Any]:
    from togul_monitor.ui.widgets import event_feed

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
    # Every frame written to the terminal: when, and the time format it shows (the key's effect).
    paints: list[tuple[float, str]] = []
    original_display = app._display

    def display(screen: Any, renderable: Any) -> None:
        if renderable is not None and not app._batch_count:
            paints.append((time.perf_counter(), app.main.time_mode))
        original_display(screen, renderable)

    app._display = display  # type: ignore[method-assign]
    # The latency probe: when each event's row is first rendered (the benchmark's, not the app's).
    painted: dict[tuple[str, int], float] = {}
    original_row_text = event_feed.row_text

    def row_text(row: Any, *args: Any, **kwargs: Any) -> Any:
        if type(row) is FlagEvent:
            painted.setdefault((row.flag_key, row.version), time.time())
        return original_row_text(row, *args, **kwargs)

    event_feed.row_text = row_text  # type: ignore[assignment]
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            while app.monitor is None or (
                app.monitor.snapshot().status.state is not ConnectionState.LIVE
            ):
                await pilot.pause(0.05)
            result = await _measure(app, conn, paints)
            store = app.main.store
    finally:
        event_feed.row_text = original_row_text  # type: ignore[assignment]
    if stamp:
        stamps = result.pop("stamps")
        late = sorted(painted[k] - t for k, t in stamps.items() if k in painted)
        result["latency_painted"] = len(late)
        result["latency_p50_ms"] = statistics.median(late) * 1000 if late else float("nan")
        result["latency_p99_ms"] = (
            statistics.quantiles(late, n=100)[98] * 1000 if len(late) > 1 else float("nan")
        )
        result["latency_max_ms"] = late[-1] * 1000 if late else float("nan")
    result["skipped"] = getattr(store, "skipped", 0)
    return result


async def _measure(app: Any, conn: Any, paints: list[tuple[float, str]]) -> dict[str, Any]:
    stalls: list[float] = []
    done = asyncio.Event()

    latencies: list[float] = []

    async def keys() -> None:
        driver = app._driver
        assert driver is not None
        while not done.is_set():
            await asyncio.sleep(0.2)
            before = app.main.time_mode
            t0, seen = time.perf_counter(), len(paints)
            driver.send_message(events.Key("t", "t"))
            # The first frame that shows the other time format: the key's repaint.
            while not any(mode != before for _, mode in paints[seen:]):
                await asyncio.sleep(0.0005)
            painted = next(at for at, mode in paints[seen:] if mode != before)
            latencies.append(painted - t0)

    probe_task = asyncio.create_task(stall_probe(done, stalls))
    keys_task = asyncio.create_task(keys())
    started, cpu_before = time.perf_counter(), _thread_cpu()
    conn.send("go")
    while not conn.poll():
        await asyncio.sleep(0.05)
    duration = time.perf_counter() - started
    cpu = {k: (v - cpu_before.get(k, 0.0)) / duration for k, v in _thread_cpu().items()}
    published, stamps = conn.recv()
    store = app.main.store
    deadline = time.perf_counter() + 30
    # Every event published reaches the view (the stream may carry more: a replay at connect).
    while store.received < published and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # the last frame
    done.set()
    await asyncio.gather(probe_task, keys_task)
    snap = app.monitor.snapshot()
    pending = store.pending_events
    accounted = store.received == store.shown + pending + store.trimmed + store.filtered
    latencies.sort()
    return {
        "published": published,
        "publish_rate": published / duration,
        "received_by_view": store.received,
        "shown": store.shown,
        "not_shown": store.trimmed + store.filtered + pending,
        "dropped_updates": snap.dropped_updates,
        "accounted": accounted and store.received >= published,
        "stall_max_ms": max(stalls) * 1000,
        "stall_p99_ms": statistics.quantiles(stalls, n=100)[98] * 1000,
        "key_p50_ms": statistics.median(latencies) * 1000,
        "key_p95_ms": statistics.quantiles(latencies, n=20)[18] * 1000,
        "keys": len(latencies),
        "ui_cpu": cpu.get("ui", float("nan")) * 100,  # % of a core while publishing
        "monitor_cpu": cpu.get("monitor", float("nan")) * 100,
        "stamps": stamps,
    }


def _cpu_seconds(pid: int, tid: int | None = None) -> float:
    """User + system CPU time of process `pid` (all its threads; with `tid`, that thread's)."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _thread_cpu() -> dict[str, float]:
    """CPU seconds so far of the UI's thread (the main one) and the monitor's."""
    pid, cpu = os.getpid(), {"ui": _cpu_seconds(os.getpid(), threading.main_thread().native_id)}
    for thread in threading.enumerate():
        if thread.name.startswith("monitor-") and thread.native_id is not None:
            cpu["monitor"] = _cpu_seconds(pid, thread.native_id)
    return cpu


def _pty_spawn(argv: list[str], home: str) -> tuple[int, int]:
    env = dict(os.environ, TOGUL_MONITOR_HOME=home, TERM="xterm-256color")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(COLUMNS="120", LINES="40")
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.execve(argv[0], argv, env)
    return pid, fd


def _read_until(fd: int, marker: bytes | None, until: float) -> bool:
    """Read the pty (the child blocks on a full one) until `marker` shows or `until` passes."""
    seen = b""
    while time.perf_counter() < until:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return False
            if marker is not None:
                seen = (seen + chunk)[-65536:]
                if marker in seen:
                    return True
    return False


def _stop(pid: int, fd: int) -> None:
    os.kill(pid, signal.SIGTERM)
    os.waitpid(pid, 0)
    os.close(fd)


def idle_cpu(seconds: float) -> dict[str, float]:
    """The real TUI on a stream with no events: its process's CPU time over `seconds`."""
    parent, server, (base_url, api_key, _) = _spawn_emulator(0, 0)
    parent.send("idle")
    argv = [sys.executable, "-m", "togul_monitor", "--profile", "bench"]
    try:
        with tempfile.TemporaryDirectory(prefix="togul-bench-") as home:
            profile = f'[profiles.bench]\nbase_url = "{base_url}"\nenvironment_key = "production"\n'
            profile += 'api_key_env = "TOGUL_BENCH_KEY"\n[profiles.bench.context]\nuser_id = "u"\n'
            Path(home, "profiles.toml").write_text(profile)
            os.environ["TOGUL_BENCH_KEY"] = api_key
            pid, fd = _pty_spawn(argv, home)
            try:
                if not _read_until(fd, b"live feed", time.perf_counter() + 30):
                    raise RuntimeError("the TUI painted no frame")
                _read_until(fd, None, time.perf_counter() + 5)  # settled: connected, evaluated
                before, t0 = _cpu_seconds(pid), time.perf_counter()
                _read_until(fd, None, t0 + seconds)
                used, wall = _cpu_seconds(pid) - before, time.perf_counter() - t0
            finally:
                _stop(pid, fd)
    finally:
        parent.send("done")
        server.join(10)
    return {"cpu_seconds": used, "wall_seconds": wall, "core_percent": 100 * used / wall}


def first_frame_seconds(timeout: float = 20.0) -> float:
    """Spawn `python -m togul_monitor --demo` on a pty; seconds until the first frame shows."""
    # The interpreter running this script, on this checkout: works from any virtual environment.
    argv = [sys.executable, "-m", "togul_monitor", "--demo"]
    with tempfile.TemporaryDirectory(prefix="togul-bench-") as home:
        start = time.perf_counter()
        pid, fd = _pty_spawn(argv, home)
        try:
            if _read_until(fd, b"live feed", start + timeout):
                return time.perf_counter() - start
            raise RuntimeError("no first frame before the timeout")
        finally:
            _stop(pid, fd)


def machine() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return f"[nproc {nproc}, load average {load}]"


def report_load(rate: int, seconds: float) -> None:
    result = asyncio.run(load_run(rate, seconds))
    target = "stall <= 50 ms, key p95 <= 50 ms" if rate <= 5000 else "key p95 <= 100 ms"
    print(f"load: {rate} events/s asked for {seconds:.0f} s (targets: {target}) {machine()}")
    print(
        f"  published {result['published']:.0f} ({result['publish_rate']:.0f}/s achieved), "
        f"view received {result['received_by_view']:.0f}: shown {result['shown']}, not shown "
        f"{result['not_shown']} (of which skipped by the paint budget {result['skipped']}); "
        f"dropped updates {result['dropped_updates']:.0f}; all accounted: "
        f"{bool(result['accounted'])}"
    )
    r = result
    print(f"  longest event-loop stall {r['stall_max_ms']:.1f} ms (p99 {r['stall_p99_ms']:.1f} ms)")
    print(f"  key press to repaint p50 {r['key_p50_ms']:.1f} ms, p95 {r['key_p95_ms']:.1f} ms")
    print(
        f"  CPU: UI thread {r['ui_cpu']:.0f} %, monitor thread {r['monitor_cpu']:.0f} % of a core"
    )


def report_latency(seconds: float) -> None:
    result = asyncio.run(load_run(100, seconds, stamp=True))
    print(
        f"latency: published -> painted in the feed at 100 events/s for {seconds:.0f} s {machine()}"
    )
    print(
        f"  p50 {result['latency_p50_ms']:.1f} ms, p99 {result['latency_p99_ms']:.1f} ms, "
        f"max {result['latency_max_ms']:.1f} ms over {result['latency_painted']} events "
        f"(target p99 <= 100 ms); longest stall {result['stall_max_ms']:.1f} ms"
    )


def report_idle(seconds: float) -> None:
    result = idle_cpu(seconds)
    per_minute = result["cpu_seconds"] * 60 / result["wall_seconds"]
    print(f"idle: the TUI with no events for {result['wall_seconds']:.0f} s {machine()}")
    print(
        f"  CPU {result['cpu_seconds']:.2f} s = {result['core_percent']:.2f} % of a core "
        f"({per_minute:.2f} s per 60 s, scaled; target < 1 %)"
    )


def report_startup(starts: int) -> None:
    # Compiled first, as an installed program is: with PYTHONDONTWRITEBYTECODE set (or a
    # checkout just edited), every start would otherwise compile what it imports anew.
    package = str(ROOT / "togul_monitor")
    subprocess.run([sys.executable, "-m", "compileall", "-q", package], check=True)
    times = [first_frame_seconds() for _ in range(starts)]
    print(
        f"startup: `--demo` to first frame, median {statistics.median(times):.2f} s over "
        f"{len(times)} runs ({', '.join(f'{s:.2f}' for s in times)}; target <= 0.5 s) {machine()}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="togul-monitor TUI benchmark")
    parser.add_argument("--modes", default="load,latency,idle,startup")
    parser.add_argument("--rates", default="5000,20000")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args()
    modes = args.modes.split(",")
    if "load" in modes:
        for rate in (int(r) for r in args.rates.split(",")):
            report_load(rate, args.seconds)
    if "latency" in modes:
        report_latency(args.seconds)
    if "idle" in modes:
        report_idle(args.idle_seconds)
    if "startup" in modes:
        report_startup(args.starts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
