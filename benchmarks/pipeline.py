"""CPU cost of the whole monitor pipeline (journal committed) against httpx-sse alone.

    python benchmarks/pipeline.py [--events 200000] [--rounds 5] [--flags 20] [--baseline DIR]

Runs from any virtual environment: every child uses this interpreter (`sys.executable`).

A server subprocess (its CPU is not counted) serves:
- `GET /api/v1/stream`: a prebuilt SSE stream of N events (`id:` + one-line JSON `data:`), written
  in 64 KiB chunks over loopback. A request carrying `Last-Event-ID` gets only the events after
  that id (none, once all were sent) and then heartbeats: the pipeline's reconnect after the end
  of the stream does not see the events twice.
- evaluate, on the real emulator (seed 0) started in the same subprocess; the events name flags
  of its `production` environment so every re-evaluation is a real 200.

Then, in alternating rounds (the order flips every round), each a fresh child process whose CPU
time (user + system, all its threads, from `os.wait4`) and peak RSS are taken from the kernel:

* `plain`     `httpx_sse.aconnect_sse` + `json.loads` of every data field (imports included);
* `pipeline`  a `MonitorThread` (its own thread and loop, as in the TUI) with a StreamClient on
              the stream, the event log (100,000), flag values with coalesced re-evaluation
              against the emulator and the journal (SQLite, WAL, its writer thread); the main
              thread drains updates at 20 Hz like the TUI, and the garbage collector runs as in
              the TUI's process (support/collector.py). It ends once the N-th event is in the
              log AND the journal has committed everything (`flush()`), and the monitor has
              stopped (imports included). Then this process checks the journal's file: every
              event in it once, in order (not measured: no part of the pipeline).

Printed: the medians, the ratio plain / pipeline (target >= 1.0: the whole pipeline costs no
more CPU than httpx-sse alone) and the median of the rounds' ratios (steadier where the
machine's speed shifts between runs), the pipeline's peak RSS (target < 250 MB at 1,000,000 events),
`nproc` and the load average. `--baseline DIR` adds `pipeline before`: the same pipeline on
another tree (e.g. `git archive HEAD togul_monitor | tar -x -C DIR`), measured in the same run,
with the median of the rounds' pipeline before / pipeline.
Exit status 0 when both targets hold, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# A child measuring another tree (`--baseline`) imports that tree's package.
_TREE = os.environ.get("BENCH_TREE", str(ROOT))
if _TREE not in sys.path:
    sys.path.insert(0, _TREE)

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


# --- the children --------------------------------------------------------------------------------


async def plain_child(url: str, n: int) -> None:
    import httpx
    from httpx_sse import aconnect_sse

    count = 0
    async with httpx.AsyncClient(timeout=None) as client:
        async with aconnect_sse(client, "GET", url + "/api/v1/stream") as source:
            async for sse in source.aiter_sse():
                if sse.data:
                    json.loads(sse.data)
                    count += 1
                    if count >= n:
                        break
    if count != n:
        raise SystemExit(f"plain saw {count} events of {n}")


def pipeline_child(info: dict[str, Any], n: int, journal_dir: Path) -> dict[str, Any]:
    import togul_monitor
    from togul_monitor.client.stream import StreamClient
    from togul_monitor.config.profiles import Profile
    from togul_monitor.core import MonitorThread
    from togul_monitor.support.collector import collect_for_a_long_run

    profile = Profile(
        name="bench",
        base_url=info["evaluate_url"],
        environment_key="production",
        api_key=info["sdk_key"],
        context={"user_id": "bench-user", "plan": "premium"},
        watch=tuple(info["flags"][:3]),
        heartbeat_seconds=30.0,
    )

    def stream_factory(  # type: ignore[no-untyped-def]
        profile: Profile, *, api_key, token, clock, resumed=None
    ):
        assert resumed is None  # where an earlier run's journal ends: each run journals afresh
        return StreamClient(info["stream_url"], api_key=api_key, read_timeout=90.0, clock=clock)

    thread = MonitorThread(
        profile, record=True, stream_factory=stream_factory, journal_dir=journal_dir
    )
    drained = 0
    # The collector as the TUI's process runs it (support/collector.py): its thresholds, and
    # what is alive once it is up frozen (the TUI freezes once its main screen is painted).
    collect_for_a_long_run()
    thread.start()
    gc.freeze()
    try:
        monitor = thread.monitor
        while monitor.event_log.total < n:
            time.sleep(0.05)  # the TUI's 20 Hz timer
            drained += len(monitor.drain())
        journal = monitor.journal
        assert journal is not None
        committed = journal.flush(timeout=300)
        drained += len(monitor.drain())
        snap = monitor.snapshot()
        stats = {
            "tree": str(Path(togul_monitor.__file__).parent.parent),
            "journal_committed": committed,
            "journal_dropped": journal.dropped,
            "journal_waits": snap.journal_waits,
            "evaluate_requests": snap.evaluate_requests,
            "updates_drained": drained,
            "dropped_updates": snap.dropped_updates,
        }
    finally:
        thread.stop(timeout=30)
    if not committed:
        raise SystemExit("the journal did not commit everything")
    return stats


def check_journal(journal_dir: Path, n: int) -> int:
    """Every event in the journal, once, in order (read by the parent: not measured). The
    stream's ids are 1..n and a new journal numbers its rows from 1, so each row's id is its
    number."""
    import sqlite3

    (path,) = journal_dir.glob("*.sqlite3")
    conn = sqlite3.connect(path)
    try:
        count, exact = conn.execute(
            "SELECT COUNT(*), SUM(CAST(event_id AS INTEGER) = seq) FROM events"
        ).fetchone()
    finally:
        conn.close()
    if count != n or exact != n:
        raise SystemExit(f"the journal holds {count} events of {n}, {exact} in place")
    return int(count)


# --- the measuring side -------------------------------------------------------------------------


def run_child(args: list[str], **popen: Any) -> tuple[float, float, str]:
    """Run `args` to its end: its CPU seconds (user + system, every thread) and peak RSS (MB)
    as the kernel counted them, and its stdout."""
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(args, stdout=out, **popen)
        _, status, usage = os.wait4(proc.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if code != 0:
        raise SystemExit(f"{args[2:4]} exited {code}")
    return float(usage.ru_utime + usage.ru_stime), usage.ru_maxrss / 1024, text


def paired_median(before: list[float], after: list[float]) -> float:
    """The median of each round's before / after: two trees compared round by round, so a
    round the whole machine was slow in counts once instead of moving both medians."""
    return statistics.median(b / a for b, a in zip(before, after, strict=True))


def machine() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"nproc {os.cpu_count()}, load average {load}"


def measure(
    info: dict[str, Any], args: argparse.Namespace, home: Path
) -> tuple[dict[str, list[float]], dict[str, list[float]], dict[str, dict[str, Any]]]:
    info_file = home / "info.json"
    info_file.write_text(json.dumps(info))
    n = str(args.events)
    runs = {
        "plain": [sys.executable, __file__, "--plain", info["stream_url"], "--events", n],
        "pipeline": [sys.executable, __file__, "--pipeline", str(info_file), "--events", n],
    }
    trees = {"plain": ROOT, "pipeline": ROOT}
    if args.baseline is not None:
        runs["pipeline before"] = runs["pipeline"]
        trees["pipeline before"] = args.baseline.resolve()
    for tree in set(trees.values()):
        # Every child imports compiled bytecode, as an installed program does: with
        # PYTHONDONTWRITEBYTECODE set, a tree without it would be compiled anew in every child.
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(tree / "togul_monitor")], check=True
        )
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    rss: dict[str, list[float]] = {name: [] for name in runs}
    stats: dict[str, dict[str, Any]] = {}
    err = home / "stderr"
    for r in range(args.rounds):
        order = list(runs) if r % 2 == 0 else list(reversed(runs))
        for name in order:
            journal_dir = home / f"journal-{r}-{name.replace(' ', '-')}"
            journal_dir.mkdir()
            env = {**os.environ, "PYTHONPATH": str(trees[name]), "TOGUL_MONITOR_HOME": str(home)}
            env["BENCH_TREE"] = str(trees[name])
            env["BENCH_JOURNAL_DIR"] = str(journal_dir)
            with err.open("w") as stderr:
                try:
                    seconds, peak, out = run_child(
                        runs[name], stderr=stderr, env=env, cwd=trees[name]
                    )
                except SystemExit:
                    print(err.read_text()[-3000:], file=sys.stderr)
                    raise
            cpu[name].append(seconds)
            rss[name].append(peak)
            if out.strip():
                stats[name] = json.loads(out)
                stats[name]["events_in_journal"] = check_journal(journal_dir, args.events)
            shutil.rmtree(journal_dir, ignore_errors=True)
        print(
            f"  round {r + 1}: "
            + ", ".join(f"{k} {v[-1]:.2f}s/{rss[k][-1]:.0f}MB" for k, v in cpu.items())
            + f"   ({machine()})",
            flush=True,
        )
    return cpu, rss, stats


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--flags", type=int, default=20)
    parser.add_argument("--baseline", type=Path, help="a tree whose pipeline to measure beside")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--plain", help=argparse.SUPPRESS)
    parser.add_argument("--pipeline", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        server_main(args.events, args.flags)
        return 0
    if args.plain:
        asyncio.run(plain_child(args.plain, args.events))
        return 0
    if args.pipeline:
        info = json.loads(args.pipeline.read_text())
        stats = pipeline_child(info, args.events, Path(os.environ["BENCH_JOURNAL_DIR"]))
        print(json.dumps(stats))
        return 0

    # The server's log goes to a file, shown only if it fails to start: a pipeline that stops
    # with an evaluate in flight makes the emulator log a ClientDisconnect, which is no news.
    server_log = tempfile.TemporaryFile("w+")
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--events", str(args.events)]
        + ["--flags", str(args.flags)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=server_log,
        text=True,
        cwd=ROOT,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        if not line:
            server_log.seek(0)
            raise SystemExit("the server did not start:\n" + server_log.read()[-3000:])
        info = json.loads(line)
        print(
            f"stream: {args.events:,} events over {len(info['flags'])} flags, "
            f"{info['bytes'] / 1e6:.1f} MB, over loopback from a subprocess ({machine()})",
            flush=True,
        )
        with tempfile.TemporaryDirectory() as tmp:
            cpu, rss, stats = measure(info, args, Path(tmp))
        median = {name: statistics.median(v) for name, v in cpu.items()}
        peak = {name: max(v) for name, v in rss.items()}
        print(f"medians of {args.rounds} rounds, CPU seconds (user + system, every thread):")
        for name, value in median.items():
            print(f"  {name:<16} {value:7.3f} s   peak RSS {peak[name]:5.0f} MB")
        ratio = median["plain"] / median["pipeline"]
        print(f"  ratio plain / pipeline          {ratio:.2f}   (target >= 1.0)")
        paired = paired_median(cpu["plain"], cpu["pipeline"])
        print(f"  plain / pipeline, the median of the rounds' ratios   {paired:.2f}")
        if "pipeline before" in median:
            before = median["plain"] / median["pipeline before"]
            print(f"  ratio plain / pipeline before   {before:.2f}")
            paired = paired_median(cpu["pipeline before"], cpu["pipeline"])
            print(f"  pipeline before / pipeline, the median of the rounds' ratios   {paired:.3f}")
        for name, values in stats.items():
            print(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in values.items()))
        print(f"({machine()})")
        ok = ratio >= 1.0 and (args.events < 1_000_000 or peak["pipeline"] < 250)
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        if server.stdin is not None:
            server.stdin.close()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server_log.close()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
