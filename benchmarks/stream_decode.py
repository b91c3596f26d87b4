"""Stream decoding throughput: plain httpx-sse + json.loads vs our StreamClient → FlagEvent.

One prebuilt stream of 200,000 events (the emulator's framing: `id:` + one-line JSON `data:`,
LF only, a `: heartbeat` comment every 100 events) is served over loopback by a separate process,
so the server does not compete for the client's interpreter. Each round measures both clients on
the same bytes; the best round of each is reported with the ratio (target: >= 0.8).

    .venv/bin/python benchmarks/stream_decode.py [--events N] [--rounds R]

httpx-sse comes with the `bench` extra (`pip install -e '.[bench]'`). `stream_client.py` is the
fuller comparison: CPU time, fresh processes, more clients, medians.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from httpx_sse import aconnect_sse  # noqa: E402

# The same stream and server as the fuller comparison.
from stream_client import build_stream, serve  # noqa: E402

from togul_monitor.client.stream import StreamClient  # noqa: E402
from togul_monitor.domain.events import FlagEvent  # noqa: E402


async def plain(url: str, count: int) -> float:
    start = time.perf_counter()
    seen = 0
    timeout = httpx.Timeout(10.0, read=60.0)
    async with httpx.AsyncClient(timeout=timeout) as http:
        async with aconnect_sse(http, "GET", url + "/api/v1/stream") as source:
            async for sse in source.aiter_sse():
                json.loads(sse.data)
                seen += 1
                if seen == count:
                    break
    elapsed = time.perf_counter() - start
    assert seen == count, seen
    return count / elapsed


async def ours(url: str, count: int) -> float:
    start = time.perf_counter()
    seen = 0
    client = StreamClient(url, api_key="tgl_sdk_benchmark", read_timeout=60.0)
    try:
        async for item in client.items():
            if item.__class__ is FlagEvent:
                seen += 1
                if seen == count:
                    break
    finally:
        await client.aclose()
    elapsed = time.perf_counter() - start
    assert seen == count and client.counters.malformed == 0, (seen, client.counters)
    return count / elapsed


async def cancel_latency() -> float:
    """Seconds from cancelling the consuming task to the server seeing the connection close."""
    closed = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n" + build_stream(1)
        )
        await writer.drain()
        await reader.read()  # b"" when the client closes
        closed.set()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    client = StreamClient(url, api_key="tgl_sdk_benchmark")
    live = asyncio.Event()

    async def consume() -> None:
        async for item in client.items():
            if item.__class__ is FlagEvent:
                live.set()

    task = asyncio.create_task(consume())
    await live.wait()
    start = time.perf_counter()
    task.cancel()
    await closed.wait()
    elapsed = time.perf_counter() - start
    await client.aclose()
    server.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    body = build_stream(args.events)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = multiprocessing.get_context("fork").Process(
        target=serve, args=(sock, body), daemon=True
    )
    server.start()
    sock.close()
    try:
        plain_rates: list[float] = []
        our_rates: list[float] = []
        for _ in range(args.rounds):
            plain_rates.append(asyncio.run(plain(url, args.events)))
            our_rates.append(asyncio.run(ours(url, args.events)))
    finally:
        server.terminate()
        server.join()

    best_plain, best_ours = max(plain_rates), max(our_rates)
    print(f"stream: {args.events} events, {len(body) / 1e6:.1f} MB, {args.rounds} rounds (best)")
    print(f"httpx-sse + json.loads : {best_plain:>10,.0f} events/s")
    print(f"StreamClient FlagEvent : {best_ours:>10,.0f} events/s")
    print(f"ratio ours/plain       : {best_ours / best_plain:.2f}  (target >= 0.80)")
    latency = min(asyncio.run(cancel_latency()) for _ in range(5))
    print(f"cancel → connection closed: {latency * 1000:.1f} ms  (target < 100 ms)")


if __name__ == "__main__":
    main()
