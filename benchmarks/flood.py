"""Benchmark: a hostile server that names 200,000 new flag keys, one event each.

    .venv/bin/python benchmarks/flood.py [--keys 200000] [--max-flags 10000] [--no-record]

A server subprocess (so its memory and CPU are not counted) serves:
- `GET /api/v1/stream`: the documented form (`data:` lines only), N `flag.created` events of the
  `production` environment, each naming a key never seen before, written as fast as loopback
  takes them; then heartbeats;
- evaluate, on the real emulator (seed 0) in the same subprocess: the flood's keys are unknown
  to it, so each evaluate answers 404 (the flag is shown as deleted) at loopback speed.

In this process: a `MonitorThread` (its own thread and loop, as in the TUI) with the journal on
(a temporary directory), the main thread draining at 20 Hz. Measured, each against a baseline of
the same run:
1. memory: peak RSS of this process after the flood vs its RSS before the monitor started;
2. evaluate requests: the highest count in any one-second window and the mean over the run vs
   the documented rate for flags first seen (NEW_FLAGS_PER_SECOND after a burst of
   NEW_FLAGS_BURST, docs/protocol.md); the values kept vs `max_flags`;
3. the re-evaluation queue on its own (no HTTP): answers per second with 200,000 flags waiting
   vs with 1,000 waiting.

Targets: peak RSS < 150 MB; no one-second window above burst + rate (+ the 8 that may be on
their way); values kept <= max_flags; queue ratio >= 0.5. Exit status 0 when all hold.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHUNK = 64 * 1024


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the server side (subprocess) ---------------------------------------------------------------


def build_stream(n: int, environment_id: str, key_length: int) -> bytes:
    base = int(time.time())
    parts = []
    for i in range(n):
        key = f"flood-{i:07d}-".ljust(key_length, "x")
        data = json.dumps(
            {
                "type": "flag.created",
                "flag_key": key,
                "environment_id": environment_id,
                "version": 1,
                "timestamp": base,
            },
            separators=(",", ":"),
        )
        parts.append(f"data: {data}\n\n".encode())
    return b"".join(parts)


async def serve_stream(blob: bytes, ready: asyncio.Future[int]) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Cache-Control: no-cache\r\nConnection: close\r\n\r\n"
            )
            view = memoryview(blob)
            for start in range(0, len(blob), CHUNK):
                writer.write(view[start : start + CHUNK])
                await writer.drain()
            while True:  # the flood is over: stay open, as a live server does
                writer.write(b": heartbeat\n\n")
                await writer.drain()
                await asyncio.sleep(1.0)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    ready.set_result(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


def server_main(n: int, key_length: int) -> None:
    from togul_monitor.emulator.harness import running_emulator

    with running_emulator(seed=0, heartbeat=30.0, replay=0) as emu:
        env_id = emu.credentials.environment_ids["production"]
        blob = build_stream(n, env_id, key_length)

        async def main() -> None:
            ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
            serving = asyncio.create_task(serve_stream(blob, ready))
            port = await ready
            info = {
                "stream_url": f"http://127.0.0.1:{port}",
                "evaluate_url": emu.base_url,
                "sdk_key": emu.credentials.keys["production"]["sdk"],
                "bytes": len(blob),
            }
            print(json.dumps(info), flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
            # The parent is done: leave at once (cancelling a connection still held open
            # would only print its CancelledError).
            os._exit(0 if not serving.done() else 1)

        asyncio.run(main())


# --- the measuring side -------------------------------------------------------------------------


def flood(info: dict, n: int, max_flags: int, record: bool, journal_dir: Path) -> dict:
    from togul_monitor.client.stream import StreamClient
    from togul_monitor.config.profiles import Profile
    from togul_monitor.core import MonitorThread

    profile = Profile(
        name="flood",
        base_url=info["evaluate_url"],
        environment_key="production",
        api_key=info["sdk_key"],
        context={"user_id": "bench-user"},
        heartbeat_seconds=30.0,
    )

    def stream_factory(  # type: ignore[no-untyped-def]
        profile: Profile, *, api_key, token, clock, resumed=None
    ):
        assert resumed is None  # where an earlier run's journal ends: each run journals afresh
        return StreamClient(info["stream_url"], api_key=api_key, read_timeout=90.0, clock=clock)

    baseline = rss_mb()
    thread = MonitorThread(
        profile,
        record=record,
        stream_factory=stream_factory,
        journal_dir=journal_dir,
        max_flags=max_flags,
    )
    samples: list[tuple[float, int]] = []
    started = time.perf_counter()
    cpu_started = time.process_time()
    thread.start()
    try:
        monitor = thread.monitor
        while monitor.event_log.total < n:
            time.sleep(0.05)  # the TUI's 20 Hz timer
            monitor.drain()
            samples.append((time.perf_counter() - started, monitor.snapshot().evaluate_requests))
        flood_seconds = time.perf_counter() - started
        # A while longer: the queue of new flags keeps draining at its rate.
        until = time.perf_counter() + 3.0
        while time.perf_counter() < until:
            time.sleep(0.05)
            monitor.drain()
            samples.append((time.perf_counter() - started, monitor.snapshot().evaluate_requests))
        if monitor.journal is not None:
            monitor.journal.flush(timeout=120)
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        snap = monitor.snapshot()
        stats = {
            "baseline_rss_mb": baseline,
            "rss_mb": rss_mb(),
            "peak_rss_mb": peak_rss_mb(),
            "flood_seconds": flood_seconds,
            "wall_seconds": wall,
            "cpu_share": cpu / wall,
            "events_in_log": snap.events_in_log,
            "values": len(snap.values),
            "unmonitored_events": snap.unmonitored_events,
            "evaluate_requests": snap.evaluate_requests,
            "samples": samples,
        }
    finally:
        thread.stop(timeout=10)
    return stats


def max_per_second(samples: list[tuple[float, int]]) -> int:
    """The most requests counted in any one-second window of the samples."""
    best = 0
    j = 0
    for t, count in samples:
        while samples[j][0] < t - 1.0:
            j += 1
        base = samples[j - 1][1] if j > 0 else 0
        best = max(best, count - base)

    return best


async def queue_rate(waiting: int, answers: int = 20_000) -> float:
    from togul_monitor.client.evaluate import EvaluateResult, Outcome
    from togul_monitor.core.reevaluate import Reevaluator
    from togul_monitor.domain.values import Evaluation

    ok = EvaluateResult(Outcome.OK, evaluation=Evaluation(True, "boolean", "default", True))
    done = asyncio.Event()
    count = 0

    async def instant(flag_key: str) -> EvaluateResult:
        return ok

    def on_result(*_: object) -> None:
        nonlocal count
        count += 1
        r.request(f"more-{count}", None)  # the queue stays as long as it began
        if count == answers:
            done.set()

    r = Reevaluator(instant, on_result, settle=0, min_interval=0)
    for i in range(waiting):
        r.request(f"flag-{i}", str(i))
    begun = time.perf_counter()
    await done.wait()
    elapsed = time.perf_counter() - begun
    await r.aclose()
    return answers / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keys", type=int, default=200_000)
    parser.add_argument("--key-length", type=int, default=32)
    parser.add_argument("--max-flags", type=int, default=10_000)
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        server_main(args.keys, args.key_length)
        return 0

    from togul_monitor.core.reevaluate import NEW_FLAGS_BURST, NEW_FLAGS_PER_SECOND

    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--keys", str(args.keys)]
        + ["--key-length", str(args.key_length)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert child.stdout is not None
        info = json.loads(child.stdout.readline())
        print(
            f"stream: {args.keys:,} events, each a new flag key of {args.key_length} characters, "
            f"{info['bytes'] / 1e6:.1f} MB over loopback from a subprocess"
        )
        with tempfile.TemporaryDirectory() as tmp:
            stats = flood(info, args.keys, args.max_flags, not args.no_record, Path(tmp))
        peak_window = max_per_second(stats["samples"])
        allowed = NEW_FLAGS_BURST + NEW_FLAGS_PER_SECOND + 8
        mean_rate = stats["evaluate_requests"] / stats["wall_seconds"]
        growth = stats["peak_rss_mb"] / stats["baseline_rss_mb"]
        print(f"flood received in            : {stats['flood_seconds']:.1f} s")
        print(
            f"RSS before / after / peak    : {stats['baseline_rss_mb']:.0f} / "
            f"{stats['rss_mb']:.0f} / {stats['peak_rss_mb']:.0f} MB   (peak target < 150 MB; "
            f"peak / baseline {growth:.2f})"
        )
        print(f"CPU of this process          : {stats['cpu_share']:.0%} of one core over the run")
        print(
            f"evaluate requests            : {stats['evaluate_requests']:,} in "
            f"{stats['wall_seconds']:.1f} s; mean {mean_rate:.1f}/s; busiest second "
            f"{peak_window} (allowed {allowed:.0f}: burst {NEW_FLAGS_BURST} + "
            f"{NEW_FLAGS_PER_SECOND:g}/s + 8 in flight); mean / documented rate "
            f"{mean_rate / NEW_FLAGS_PER_SECOND:.2f}"
        )
        print(
            f"values kept                  : {stats['values']:,} (max_flags {args.max_flags:,}); "
            f"events not evaluated {stats['unmonitored_events']:,}; "
            f"events in the log {stats['events_in_log']:,}"
        )
        small = asyncio.run(queue_rate(1_000))
        large = asyncio.run(queue_rate(200_000))
        ratio = large / small
        print(
            f"queue answers/s, 1k waiting  : {small:,.0f}\n"
            f"queue answers/s, 200k waiting: {large:,.0f}   (ratio 200k / 1k {ratio:.2f}, "
            "target >= 0.5)"
        )
        ok = (
            stats["peak_rss_mb"] < 150
            and peak_window <= allowed
            and stats["values"] <= args.max_flags
            and ratio >= 0.5
        )
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
