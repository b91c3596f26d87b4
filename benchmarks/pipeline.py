"""Benchmark: plain httpx-sse + json.loads vs the whole monitor pipeline, on one prebuilt stream.

    .venv/bin/python benchmarks/pipeline.py [--events 1000000] [--flags 20]

A server subprocess (so its memory and CPU are not counted) serves:
- `GET /api/v1/stream`: a prebuilt SSE stream of N events (`id:` + one-line JSON `data:`), written
  in 64 KiB chunks over loopback. A request carrying `Last-Event-ID` gets only the events after
  that id (none, once all were sent) and then heartbeats: the pipeline's reconnect after the end
  of the stream does not see the events twice.
- evaluate, on the real emulator (seed 0) started in the same subprocess; the events name flags
  of its `production` environment so every re-evaluation is a real 200.

In this process, measured in one run on the same stream:
1. plain: `httpx_sse.aconnect_sse` + `json.loads` of every data field;
2. pipeline: a `MonitorThread` (its own thread + loop, as in the TUI) with a StreamClient on the
   stream, the event log (100,000), flag values with coalesced re-evaluation against the
   emulator, and the journal (SQLite, WAL, writer thread); the main thread drains updates at
   20 Hz like the TUI. The clock stops when the N-th event is in the log AND the journal has
   committed everything (`flush()`).

Targets: pipeline rate >= 0.5 x plain rate; peak RSS of this process < 300 MB after
1,000,000 events. Exit status 0 when both hold, 1 otherwise.
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


# --- the server side (subprocess) ---------------------------------------------------------------


def build_stream(n: int, flags: list[str], environment_id: str) -> bytes:
    parts = [b"retry: 1000\n\n"]
    base = int(time.time())
    versions = dict.fromkeys(flags, 1)
    types = ("flag.updated", "rule.updated", "flag.updated", "rule.created")
    for i in range(1, n + 1):
        key = flags[i % len(flags)]
        versions[key] += 1
        data = json.dumps(
            {
                "type": types[i % len(types)],
                "flag_key": key,
                "environment_id": environment_id,
                "version": versions[key],
                "timestamp": base,
            },
            separators=(",", ":"),
        )
        parts.append(f"id: {i}\ndata: {data}\n\n".encode())
    return b"".join(parts)


async def serve_stream(blob: bytes, n: int, ready: asyncio.Future[int]) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            last_id = None
            for line in head.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                if name.strip().lower() == "last-event-id":
                    last_id = value.strip()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Cache-Control: no-cache\r\nConnection: close\r\n\r\n"
            )
            if last_id is None:
                view = memoryview(blob)
                for start in range(0, len(blob), CHUNK):
                    writer.write(view[start : start + CHUNK])
                    await writer.drain()
                writer.close()
                return
            # A resume after everything was sent: nothing to replay, stay open (heartbeats).
            while True:
                writer.write(b": heartbeat\n\n")
                await writer.drain()
                await asyncio.sleep(1.0)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, limit=1 << 16)
    ready.set_result(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


def server_main(n: int, nflags: int) -> None:
    from togul_monitor.emulator.harness import running_emulator

    with running_emulator(seed=0, heartbeat=30.0, replay=0) as emu:
        env_id = emu.credentials.environment_ids["production"]
        flags = sorted(f.key for f in emu.world.list_flags(env_id))[:nflags]
        blob = build_stream(n, flags, env_id)

        async def main() -> None:
            ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
            task = asyncio.create_task(serve_stream(blob, n, ready))
            port = await ready
            info = {
                "stream_url": f"http://127.0.0.1:{port}",
                "evaluate_url": emu.base_url,
                "sdk_key": emu.credentials.keys["production"]["sdk"],
                "flags": flags,
                "bytes": len(blob),
            }
            print(json.dumps(info), flush=True)
            # Run until the parent closes our stdin.
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
            task.cancel()

        asyncio.run(main())


# --- the measuring side -------------------------------------------------------------------------


async def plain_rate(url: str, n: int) -> float:
    import httpx
    from httpx_sse import aconnect_sse

    count = 0
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=None) as client:
        async with aconnect_sse(client, "GET", url + "/api/v1/stream") as source:
            async for sse in source.aiter_sse():
                if sse.data:
                    json.loads(sse.data)
                    count += 1
                    if count >= n:
                        break
    elapsed = time.perf_counter() - started
    assert count == n, count
    return n / elapsed


def pipeline_rate(info: dict, n: int, journal_dir: Path) -> tuple[float, dict]:
    from togul_monitor.client.stream import StreamClient
    from togul_monitor.config.profiles import Profile
    from togul_monitor.core import MonitorThread

    profile = Profile(
        name="bench",
        base_url=info["evaluate_url"],
        environment_key="production",
        api_key=info["sdk_key"],
        context={"user_id": "bench-user", "plan": "premium"},
        watch=tuple(info["flags"][:3]),
        heartbeat_seconds=30.0,
    )

    def stream_factory(profile: Profile, *, api_key, token, clock):  # type: ignore[no-untyped-def]
        return StreamClient(info["stream_url"], api_key=api_key, read_timeout=90.0, clock=clock)

    thread = MonitorThread(
        profile, record=True, stream_factory=stream_factory, journal_dir=journal_dir
    )
    drained = 0
    started = time.perf_counter()
    thread.start()
    try:
        monitor = thread.monitor
        while monitor.event_log.total < n:
            time.sleep(0.05)  # the TUI's 20 Hz timer
            drained += len(monitor.drain())
        journal = monitor.journal
        assert journal is not None
        committed = journal.flush(timeout=120)
        elapsed = time.perf_counter() - started
        drained += len(monitor.drain())
        snap = monitor.snapshot()
        stats = {
            "events_in_journal": journal.count_events(),
            "journal_committed": committed,
            "journal_dropped": journal.dropped,
            "journal_waits": snap.journal_waits,
            "evaluate_requests": snap.evaluate_requests,
            "updates_drained": drained,
            "dropped_updates": snap.dropped_updates,
            "trimmed": snap.trimmed,
            "malformed": snap.counters.malformed,
        }
    finally:
        thread.stop(timeout=10)
    return n / elapsed, stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--flags", type=int, default=20)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        server_main(args.events, args.flags)
        return 0

    child = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            "--events",
            str(args.events),
            "--flags",
            str(args.flags),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert child.stdout is not None
        info = json.loads(child.stdout.readline())
        print(
            f"stream: {args.events:,} events over {len(info['flags'])} flags, "
            f"{info['bytes'] / 1e6:.1f} MB, served over loopback by a subprocess"
        )
        plain = asyncio.run(plain_rate(info["stream_url"], args.events))
        print(f"plain httpx-sse + json.loads : {plain:>10,.0f} events/s")
        with tempfile.TemporaryDirectory() as tmp:
            rate, stats = pipeline_rate(info, args.events, Path(tmp))
        print(f"whole pipeline (to journal)  : {rate:>10,.0f} events/s")
        ratio = rate / plain
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"ratio pipeline / plain       : {ratio:.2f}   (target >= 0.5)")
        print(f"peak RSS of this process     : {peak_mb:.0f} MB   (target < 300 MB)")
        for key, value in stats.items():
            print(f"  {key:<18} {value:,}")
        ok = ratio >= 0.5 and peak_mb < 300 and stats["events_in_journal"] == args.events
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
