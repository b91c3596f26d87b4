"""CPU cost of `togul-monitor tail --json` against the stream client alone, and its latency.

    python benchmarks/tail.py [--events 200000] [--rounds 5] [--flags 20] [--latency 20]
                              [--baseline DIR]

Runs from any virtual environment: every child uses this interpreter (`sys.executable`).

A server subprocess (its CPU is not counted) runs the emulator (seed 0) and, in front of it on
another port, a router: `GET /api/v1/stream` goes to a prebuilt stream of N realistic events
(benchmarks/pipeline.py's `build_stream` and `serve_stream`: the emulator's production flags and
environment, so every re-evaluation `tail` makes is a real 200), every other request (the
environment check, evaluate) to the emulator. Then, in alternating rounds (the order flips every
round), each a fresh child process whose CPU time (user + system, from `os.wait4`) is measured:

* `client`  `StreamClient.items()` consuming every event (imports included);
* `tail`    `python -m togul_monitor tail --url … --environment production --json --count N
            --no-record` writing to /dev/null (the whole monitor: intake, event log,
            re-evaluation against the emulator; imports included).

Printed: the medians, their ratio client / tail (target >= 0.9) and the median of the rounds'
ratios (steadier where the machine's speed shifts between runs), the import cost of each child
and the ratio with it left out, `nproc` and the load average. The import cost is that of a child
that imports every module the run had loaded when it ended (recorded in a run before the rounds),
and exits: much of what a run imports is imported lazily, after its start.
`--small N` (default 2000) also runs both on the first N events: what `tail` adds is then told
apart into a fixed part and a part per event, beside what the target leaves per event and what
making and encoding the `--json` lines alone costs per event (in the measuring process).
`--baseline DIR` adds `tail before`: the same tail from another tree (e.g. `git archive HEAD
togul_monitor | tar -x -C DIR`), to compare a change with what it replaces in the same run,
and the median of the rounds' tail before / tail (steadier than the two medians' ratio here).

Where `tail`'s time over the client goes (measured in-process, for whoever works on the 0.9
target): its evaluate requests, 20 at the start and then each flag asked again about once a
second while the burst lasts and once after its last change (core/coalesce.py `min_interval`):
about 40 at 200,000 events on an idle 2-core machine, more when the burst runs longer, at
0.75-0.85 ms of CPU each in httpx, httpcore and anyio (a raw `AsyncClient.post` costs the same);
the `--json` lines, about 0.43 us per event to build and encode (cli/tail_output.py: msgspec, the
cheapest tried; byte replacements on encoded events cost more); and 40-55 ms more imports than
the client's. At 200,000 events the target leaves about 77 ms in all.

Latency: a `tail --json` on the emulator's own stream with stdout a pipe; one flag change at a
time is published into the idle stream (the server child stamps it with `time.monotonic()`,
one clock for every process on Linux) and timed until its line is read from the pipe (target:
under 100 ms; p50 and max of `--latency` changes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
for _path in (str(ROOT), str(BENCH)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

STREAM_PATH = b"/api/v1/stream"
LATENCY_FLAG = "new-dashboard"


# --- the server side (subprocess) ---------------------------------------------------------------


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(1 << 16):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def _route(stream_port: int, emulator_port: int, ready: asyncio.Future[int]) -> None:
    """One port for `tail --url`: the stream to the prebuilt one, the rest to the emulator."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            writer.close()
            return
        path = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b""
        port = stream_port if path.startswith(STREAM_PATH) else emulator_port
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        up_writer.write(head)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0, limit=1 << 16)
    ready.set_result(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


def server_main(events: int, nflags: int) -> None:
    from pipeline import build_stream, serve_stream

    from togul_monitor.emulator.harness import running_emulator

    with running_emulator(seed=0, heartbeat=15.0, ids=True) as emu:
        env_id = emu.credentials.environment_ids["production"]
        flags = sorted(f.key for f in emu.world.list_flags(env_id))[:nflags]
        blob = build_stream(events, flags, env_id)

        def quiet(loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
            # At shutdown the stream handlers still open are cancelled: not worth a traceback.
            if not isinstance(context.get("exception"), asyncio.CancelledError):
                loop.default_exception_handler(context)

        async def main() -> None:
            loop = asyncio.get_running_loop()
            loop.set_exception_handler(quiet)
            stream_ready: asyncio.Future[int] = loop.create_future()
            route_ready: asyncio.Future[int] = loop.create_future()
            tasks = [asyncio.create_task(serve_stream(blob, events, stream_ready))]
            tasks.append(asyncio.create_task(_route(await stream_ready, emu.port, route_ready)))
            info = {
                "url": f"http://127.0.0.1:{await route_ready}",
                "emulator_url": emu.base_url,
                "sdk_key": emu.credentials.keys["production"]["sdk"],
                "flags": len(flags),
                "bytes": len(blob),
            }
            print(json.dumps(info), flush=True)
            enabled = False
            # One command a line on stdin: `publish` changes a flag and answers with when.
            while line := await loop.run_in_executor(None, sys.stdin.readline):
                if line.strip() == "publish":
                    enabled = not enabled
                    flag = emu.world.update_flag("production", LATENCY_FLAG, enabled=enabled)
                    stamp = {"at": time.monotonic(), "version": flag.version}
                    print(json.dumps(stamp), flush=True)
            for task in tasks:
                task.cancel()

        asyncio.run(main())


# --- the stream client alone (subprocess) -------------------------------------------------------


async def _client(url: str, key: str, count: int) -> None:
    from togul_monitor.client.stream import StreamClient
    from togul_monitor.domain.events import FlagEvent

    seen = 0
    client = StreamClient(url, api_key=key, read_timeout=60.0)
    try:
        async for item in client.items():
            if item.__class__ is FlagEvent:
                seen += 1
                if seen == count:
                    break
    finally:
        await client.aclose()
    if seen != count:
        raise SystemExit(f"the client saw {seen} events of {count}")


# --- the measuring side -------------------------------------------------------------------------


# Run a command (a script, or `-m module`) as `python` would, and write the names of the modules
# loaded when it ends to the file named first.
_RECORD_MODULES = """
import atexit, runpy, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write("\\n".join(sys.modules)))
if sys.argv[1] == "-m":
    sys.argv = [sys.argv[2], *sys.argv[3:]]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
else:
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")
"""
# Import, in their order, the modules a run recorded (not the run's own `__main__`s).
_IMPORT_MODULES = """
import importlib, sys
for name in open(sys.argv[1]).read().split():
    if name not in sys.modules and not name.endswith("__main__"):
        try:
            importlib.import_module(name)
        except Exception:
            pass
"""


def cpu_of(args: list[str], **popen: object) -> float:
    """Run `args` to its end; its CPU seconds (user + system) as the kernel counted them."""
    proc = subprocess.Popen(args, **popen)  # type: ignore[call-overload]
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{args[2:6]} exited {proc.returncode}")
    return float(usage.ru_utime + usage.ru_stime)


def machine() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"nproc {os.cpu_count()}, load average {load}"


def tail_args(url: str, key_file: Path, *more: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "togul_monitor",
        "tail",
        "--url",
        url,
        "--api-key-file",
        str(key_file),
        "--environment",
        "production",
        "--json",
        *more,
    ]


def measure(
    info: dict[str, object], args: argparse.Namespace, home: Path
) -> dict[str, list[float]]:
    url, key = str(info["url"]), str(info["sdk_key"])
    key_file = home / "key"
    key_file.write_text(key)
    env = {**os.environ, "TOGUL_MONITOR_HOME": str(home), "PYTHONPATH": str(ROOT)}
    n = str(args.events)
    runs = {
        "client": [sys.executable, __file__, "--client", url, "--key", key, "--events", n],
        "tail": tail_args(url, key_file, "--count", n, "--no-record"),
    }
    # The same interpreters, importing what each run ended with, and exiting.
    for name in ("client", "tail"):
        modules = home / f"{name}.modules"
        subprocess.run(
            [sys.executable, "-c", _RECORD_MODULES, str(modules), *runs[name][1:]],
            check=True,
            stdout=subprocess.DEVNULL,
            env=env,
            cwd=ROOT,
        )
        runs[f"{name} imports"] = [sys.executable, "-c", _IMPORT_MODULES, str(modules)]
    if args.small:  # the same two on the stream's first events only: what does not scale
        small = str(args.small)
        runs["client small"] = [*runs["client"][:-1], small]
        runs["tail small"] = tail_args(url, key_file, "--count", small, "--no-record")
    trees = dict.fromkeys(runs, ROOT)  # the working directory: first on `-m`'s and `-c`'s path
    if args.baseline is not None:
        runs["tail before"] = runs["tail"]
        trees["tail before"] = args.baseline.resolve()
    for tree in set(trees.values()):
        # Every child imports compiled bytecode, as an installed program does: with
        # PYTHONDONTWRITEBYTECODE set, a tree without it would be compiled anew in every child.
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(tree / "togul_monitor")], check=True
        )
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    err = home / "stderr"
    for r in range(args.rounds):
        order = list(runs) if r % 2 == 0 else list(reversed(runs))
        for name in order:
            with err.open("w") as stderr:
                try:
                    cpu[name].append(
                        cpu_of(
                            runs[name],
                            stdout=subprocess.DEVNULL,
                            stderr=stderr,
                            env={**env, "PYTHONPATH": str(trees[name])},
                            cwd=trees[name],
                        )
                    )
                except SystemExit:
                    print(err.read_text()[-2000:], file=sys.stderr)
                    raise
        print(f"  round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in cpu.items()))
    return cpu


def latency(info: dict[str, object], server: subprocess.Popen[str], count: int, home: Path) -> None:
    assert server.stdin is not None and server.stdout is not None
    key_file = home / "key"
    env = {**os.environ, "TOGUL_MONITOR_HOME": str(home), "PYTHONPATH": str(ROOT)}
    tail = subprocess.Popen(
        tail_args(str(info["emulator_url"]), key_file, "--no-record"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
        text=True,
    )
    lines: queue.Queue[tuple[float, str]] = queue.Queue()
    live = threading.Event()

    def read_out() -> None:
        assert tail.stdout is not None
        for line in tail.stdout:
            lines.put((time.monotonic(), line))

    def read_err() -> None:
        assert tail.stderr is not None
        for line in tail.stderr:
            if "live since" in line:
                live.set()

    for target in (read_out, read_err):
        threading.Thread(target=target, daemon=True).start()
    delays: list[float] = []
    try:
        if not live.wait(30):
            raise SystemExit("the latency tail never went live")
        for _ in range(count):
            server.stdin.write("publish\n")
            server.stdin.flush()
            stamp = json.loads(server.stdout.readline())
            while True:
                seen, line = lines.get(timeout=10)
                data = json.loads(line)
                if data.get("kind") == "event" and data.get("version") == stamp["version"]:
                    delays.append(seen - stamp["at"])
                    break
            time.sleep(0.1)  # idle again: the next line is alone in the buffer
    finally:
        tail.terminate()
        tail.wait(10)
    ms = sorted(d * 1000 for d in delays)
    print(
        f"pipe latency, event published → its line read, {count} changes: "
        f"p50 {statistics.median(ms):.1f} ms, max {ms[-1]:.1f} ms   (target < 100 ms)"
    )


def json_lines_cost(events: int, nflags: int, rounds: int = 5) -> float:
    """CPU µs per event of making and encoding `--json` event lines alone, in this process, as
    `tail` does under a burst (cli/tail_output.py: `FLUSH_EVENTS` at a time); the median of
    `rounds`. Events like the stream's, with their environment named."""
    from togul_monitor.cli.tail_output import FLUSH_EVENTS, _encode_events, event_lines
    from togul_monitor.domain.events import FlagEvent

    names = {"env-production": "production"}
    now = time.time()
    stream = [
        FlagEvent("flag.updated", f"flag-{i % nflags}", "env-production", i, now, str(i), now)
        for i in range(1, events + 1)
    ]
    runs = [stream[i : i + FLUSH_EVENTS] for i in range(0, events, FLUSH_EVENTS)]
    costs = []
    for _ in range(rounds):
        start = time.process_time()
        for run in runs:
            _encode_events(event_lines(run, names))
        costs.append((time.process_time() - start) / events * 1e6)
    return statistics.median(costs)


def split(median: dict[str, float], events: int, small: int, nflags: int) -> None:
    """What `tail` adds to the client, apart: a fixed part (the start, imports, the first
    calls: the difference at `small` events) and a part per event; what the 0.9 target leaves
    per event once the fixed part is paid, beside what the `--json` lines alone cost."""
    fixed = median["tail small"] - median["client small"]
    extra = median["tail"] - median["client"] - fixed
    per_event = extra / (events - small) * 1e6
    budget = (median["client"] / 0.9 - median["client"] - fixed) / events * 1e6
    print(
        f"  tail over the client: {fixed * 1000:.0f} ms fixed (at {small:,} events), then "
        f"{per_event:.2f} µs per event; the 0.9 target leaves {budget:.2f} µs per event"
    )
    print(
        f"  the --json lines alone (made and encoded in this process): "
        f"{json_lines_cost(events, nflags):.2f} µs per event"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--flags", type=int, default=20)
    parser.add_argument("--latency", type=int, default=20, help="changes timed (0: none)")
    parser.add_argument("--baseline", type=Path, help="a tree whose tail to measure beside")
    parser.add_argument(
        "--small", type=int, default=2000, help="events of the fixed-cost runs (0: none)"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        server_main(args.events, args.flags)
        return 0
    if args.client:
        asyncio.run(_client(args.client, args.key, args.events))
        return 0

    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--events", str(args.events)]
        + ["--flags", str(args.flags)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert server.stdout is not None
        info = json.loads(server.stdout.readline())
        print(
            f"stream: {args.events:,} events over {info['flags']} flags, "
            f"{int(info['bytes']) / 1e6:.1f} MB, over loopback from a subprocess ({machine()})"
        )
        with tempfile.TemporaryDirectory() as tmp:
            cpu = measure(info, args, Path(tmp))
            median = {name: statistics.median(times) for name, times in cpu.items()}
            client, tail = median["client"], median["tail"]
            bare_client = client - median["client imports"]
            bare_tail = tail - median["tail imports"]
            print(f"medians of {args.rounds} rounds, CPU seconds ({machine()}):")
            for name, value in median.items():
                print(f"  {name:<15} {value:7.3f} s")
            print(f"  ratio client / tail            {client / tail:.2f}   (target >= 0.9)")
            print(f"  the same without the imports   {bare_client / bare_tail:.2f}")
            from pipeline import paired_median

            paired = paired_median(cpu["client"], cpu["tail"])
            print(f"  client / tail, the median of the rounds' ratios   {paired:.2f}")
            if "tail small" in median:
                split(median, args.events, args.small, args.flags)
            if "tail before" in median:
                print(f"  ratio client / tail before     {client / median['tail before']:.2f}")
                paired = paired_median(cpu["tail before"], cpu["tail"])
                print(f"  tail before / tail, the median of the rounds' ratios   {paired:.3f}")
            if args.latency:
                latency(info, server, args.latency, Path(tmp))
        print(f"({machine()})")
        return 0
    finally:
        if server.stdin is not None:
            server.stdin.close()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


if __name__ == "__main__":
    sys.exit(main())
