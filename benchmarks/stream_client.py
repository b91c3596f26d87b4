"""CPU cost of reading the change stream: our StreamClient against other SSE clients.

A prebuilt stream of realistic flag events (the emulator's `serve --ids` framing: `id:` and one
compact JSON `data:` line per event, LF only, a `: heartbeat` comment every 100 events, a
`retry:` at the start) is served over loopback by a separate process. Each client reads it in a
fresh subprocess of its own and reports the CPU time (`time.process_time`) from connecting to
the last event, so imports and the server never count. Rounds alternate the clients (their
order rotates each round); the medians of the rounds are compared, and so is each round on its
own (the median of the rounds' ratios: steadier where the machine's speed shifts between runs):

* `ours`          StreamClient.items() → FlagEvent (validated, de-duplicated, gap-tracked)
* `ours-batches`  the same through StreamClient.batches() (one list per network read)
* `before`        `ours` from another tree (`--baseline DIR`, e.g. `git archive HEAD togul_monitor
                  | tar -x -C DIR`), to compare a change with what it replaces in the same run
* `httpx-sse`     httpx-sse's aiter_sse() + json.loads of each event's data
* `ld`            launchdarkly-eventsource's SSEClient.events + json.loads (sync, urllib3)
* `ld-raw`        the same without json.loads (only with `--clients`)
* `lines`         the official SDKs' style: httpx aiter_lines() + json.loads of each `data:` line

The other clients come with the `bench` extra (`pip install -e '.[bench]'`). Run it with any
virtual environment's interpreter (children use the same one):

    python benchmarks/stream_client.py [--events 200000 1000000] [--rounds 5] [--baseline DIR]
    python benchmarks/stream_client.py --first-connection [--baseline DIR]

`--first-connection` measures, in fresh processes, the time from importing the stream client to
its first event (imports, the HTTP client, connecting) instead.

`nproc` and the load average are printed beside the figures: on a shared machine a ratio of
CPU times is steadier than events per second, but not immune to a busy neighbour.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAGS = [f"flag-{i:03d}" for i in range(200)]
TYPES = ["flag.updated", "flag.updated", "rule.updated", "flag.created", "rule.created"]
ENV = "6f1c2a7e-3b4d-4c5e-8f90-a1b2c3d4e5f6"
DEFAULT_CLIENTS = ["ours", "ours-batches", "httpx-sse", "ld", "lines"]


def build_stream(count: int) -> bytes:
    """The emulator's frames (emulator/outbox.py) for `count` changes of 200 flags."""
    parts = [b"retry: 1000\n"]
    versions: dict[str, int] = {}
    for i in range(1, count + 1):
        flag = FLAGS[i % len(FLAGS)]
        versions[flag] = versions.get(flag, 0) + 1
        data = json.dumps(
            {
                "type": TYPES[i % len(TYPES)],
                "flag_key": flag,
                "environment_id": ENV,
                "version": versions[flag],
                "timestamp": 1_700_000_000 + i // 50,
            },
            separators=(",", ":"),
            ensure_ascii=True,
        )
        parts.append(f"id: {i}\ndata: {data}\n\n".encode())
        if i % 100 == 0:
            parts.append(b": heartbeat\n")
    return b"".join(parts)


def serve(sock: socket.socket, body: bytes) -> None:
    """Server process: answer every request with the whole stream, then close."""
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        b"Connection: close\r\n\r\n"
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(head)
            view = memoryview(body)
            for start in range(0, len(body), 65536):
                writer.write(view[start : start + 65536])
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, sock=sock)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# ------------------------------------------------------------------------------- the clients


async def _ours(url: str, count: int, batches: bool) -> float:
    from togul_monitor.client.stream import StreamClient
    from togul_monitor.domain.events import FlagEvent

    start = time.process_time()
    seen = 0
    client = StreamClient(url, api_key="tgl_sdk_benchmark", read_timeout=60.0)
    try:
        if batches:
            async for batch in client.batches():
                for item in batch:
                    if item.__class__ is FlagEvent:
                        seen += 1
                if seen >= count:
                    break
        else:
            async for item in client.items():
                if item.__class__ is FlagEvent:
                    seen += 1
                    if seen == count:
                        break
    finally:
        await client.aclose()
    cpu = time.process_time() - start
    assert seen == count and client.counters.malformed == 0, (seen, client.counters)
    return cpu


async def _httpx_sse(url: str, count: int) -> float:
    import httpx
    from httpx_sse import aconnect_sse

    start = time.process_time()
    seen = 0
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=60.0)) as http:
        async with aconnect_sse(http, "GET", url + "/api/v1/stream") as source:
            async for sse in source.aiter_sse():
                json.loads(sse.data)
                seen += 1
                if seen == count:
                    break
    cpu = time.process_time() - start
    assert seen == count, seen
    return cpu


async def _lines(url: str, count: int) -> float:
    import httpx

    start = time.process_time()
    seen = 0
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=60.0)) as http:
        async with http.stream("GET", url + "/api/v1/stream") as response:
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    json.loads(line[5:])
                    seen += 1
                    if seen == count:
                        break
    cpu = time.process_time() - start
    assert seen == count, seen
    return cpu


def _ld(url: str, count: int, parse: bool) -> float:
    from ld_eventsource import SSEClient

    start = time.process_time()
    seen = 0
    client = SSEClient(url + "/api/v1/stream")
    try:
        for event in client.events:
            if parse:
                json.loads(event.data)
            seen += 1
            if seen == count:
                break
    finally:
        client.close()
    cpu = time.process_time() - start
    assert seen == count, seen
    return cpu


async def _first_event(url: str) -> tuple[float, float]:
    """Seconds to import the stream client, and from then to the first event."""
    start = time.perf_counter()
    from togul_monitor.client.stream import StreamClient
    from togul_monitor.domain.events import FlagEvent

    imported = time.perf_counter()
    client = StreamClient(url, api_key="tgl_sdk_benchmark")
    try:
        async for item in client.items():
            if item.__class__ is FlagEvent:
                break
    finally:
        await client.aclose()
    return imported - start, time.perf_counter() - imported


def child(name: str, url: str, count: int) -> None:
    try:
        measure(name, url, count)
    except ImportError as exc:  # a client of the `bench` extra that is not installed
        print(json.dumps({"missing": str(exc)}))


def measure(name: str, url: str, count: int) -> None:
    if name == "first":
        imports, first = asyncio.run(_first_event(url))
        print(json.dumps({"imports": imports, "first": first}))
        return
    if name in ("ours", "before"):
        cpu = asyncio.run(_ours(url, count, batches=False))
    elif name == "ours-batches":
        cpu = asyncio.run(_ours(url, count, batches=True))
    elif name == "httpx-sse":
        cpu = asyncio.run(_httpx_sse(url, count))
    elif name == "lines":
        cpu = asyncio.run(_lines(url, count))
    elif name in ("ld", "ld-raw"):
        cpu = _ld(url, count, parse=name == "ld")
    else:
        raise SystemExit(f"unknown client {name!r}")
    print(json.dumps({"cpu": cpu}))


# ------------------------------------------------------------------------------- the runner


def run_child(name: str, url: str, count: int, tree: Path = ROOT) -> dict[str, float]:
    """Run one measurement in a fresh interpreter that imports togul_monitor from `tree`."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, __file__, "--child", name, "--url", url, "--count", str(count)],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if out.returncode != 0:
        raise SystemExit(f"{name} failed:\n{out.stderr[-2000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    if "missing" in result:
        raise Missing(f"{name} skipped: {result['missing']} (pip install -e '.[bench]')")
    return result


class Missing(Exception):
    """A client whose package is not installed: the comparison goes on without it."""


def machine() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"nproc {os.cpu_count()}, load average {load}"


def start_server(count: int) -> tuple[str, multiprocessing.process.BaseProcess]:
    body = build_stream(count)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = multiprocessing.get_context("fork").Process(
        target=serve, args=(sock, body), daemon=True
    )
    server.start()
    sock.close()
    print(f"stream: {count:,} events, {len(body) / 1e6:.1f} MB   ({machine()})", flush=True)
    return url, server


def compare(count: int, rounds: int, clients: list[str], baseline: Path | None) -> None:
    from pipeline import paired_median  # this script's folder: first on the path

    clients = list(clients)
    url, server = start_server(count)
    cpu: dict[str, list[float]] = {name: [] for name in clients}
    try:
        for r in range(rounds):
            order = clients[r % len(clients) :] + clients[: r % len(clients)]
            for name in order:
                tree = baseline if name == "before" and baseline is not None else ROOT
                try:
                    cpu[name].append(run_child(name, url, count, tree)["cpu"])
                except Missing as exc:
                    print(f"  {exc}")
                    clients.remove(name)
                    del cpu[name]
            print(f"  round {r + 1}: " + ", ".join(f"{n} {cpu[n][-1]:.2f}s" for n in clients))
    finally:
        server.terminate()
        server.join()
    median = {name: statistics.median(times) for name, times in cpu.items()}
    print(f"medians of {rounds} rounds, CPU seconds ({machine()}):")
    for name in clients:
        rate = count / median[name]
        print(f"  {name:<13} {median[name]:7.3f} s  {rate:>10,.0f} events per CPU-second")
    for mine in ("ours", "ours-batches", "before"):
        if mine not in median:
            continue
        others = [o for o in clients if o not in ("ours", "ours-batches", "before")]
        ratios = [f"{median[other] / median[mine]:.2f}x {other}" for other in others]
        if mine != "before" and "before" in median:
            ratios.append(f"{median['before'] / median[mine]:.2f}x before")
        print(f"  {mine} is " + ", ".join(ratios))
        # The same, round by round: on a machine whose speed shifts between runs (these
        # shared ones do, by a third at times) a slow round then moves one ratio, not a median.
        paired = [f"{paired_median(cpu[other], cpu[mine]):.2f}x {other}" for other in others]
        if paired:
            print(f"  {mine} is, the median of the rounds' ratios, " + ", ".join(paired))
    print(flush=True)


def first_connection(rounds: int, baseline: Path | None) -> None:
    url, server = start_server(1)
    names = ["ours"] + (["before"] if baseline is not None else [])
    times: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    try:
        for _ in range(rounds):
            for name in names:
                tree = baseline if name == "before" and baseline is not None else ROOT
                times[name].append(run_child("first", url, 1, tree))
    finally:
        server.terminate()
        server.join()
    print(f"first connection, medians of {rounds} fresh processes ({machine()}):")
    for name, results in times.items():
        imports = statistics.median(r["imports"] for r in results) * 1000
        first = statistics.median(r["first"] for r in results) * 1000
        print(f"  {name:<7} import {imports:6.1f} ms, then to the first event {first:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", nargs="+", default=DEFAULT_CLIENTS)
    parser.add_argument("--baseline", type=Path, help="a tree holding the togul_monitor to compare")
    parser.add_argument("--first-connection", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url, args.count)
        return
    if args.first_connection:
        first_connection(max(args.rounds, 9), args.baseline)
        return
    clients = list(args.clients)
    if args.baseline is not None and "before" not in clients:
        clients.append("before")
    for count in args.events:
        compare(count, args.rounds, clients, args.baseline)


if __name__ == "__main__":
    main()
