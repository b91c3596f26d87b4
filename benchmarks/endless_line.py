"""Memory against a line that never ends: the stream client's RSS while a server sends one line
of `--megabytes` (200) without a newline, then a blank line and one valid event.

The server is a separate process (its buffers do not count). The client is our StreamClient,
as the monitor runs it; its peak RSS (target < 100 MB) is sampled from /proc every 50 ms and
taken from getrusage at the end. The run also checks that the line was reported once (a
malformed item, "oversized") and that the event after it arrived.

    .venv/bin/python benchmarks/endless_line.py [--megabytes 200]

Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from togul_monitor.client.stream import StreamClient  # noqa: E402
from togul_monitor.domain.events import FlagEvent, Malformed  # noqa: E402

LIMIT_MB = 100.0
PIECE = 65536
EVENT = (
    b'id: 1\ndata: {"type":"flag.updated","flag_key":"after","environment_id":"e",'
    b'"version":1,"timestamp":1700000000}\n\n'
)


def serve(sock: socket.socket, megabytes: int) -> None:
    """Child process: headers, `data: xxx...` for `megabytes` MB, then an event; hold."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
    piece = b"x" * PIECE

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(head + b"data: ")
            for _ in range(megabytes * 1024 * 1024 // PIECE):
                writer.write(piece)
                await writer.drain()
            writer.write(b"\n\n" + EVENT)
            await writer.drain()
            await reader.read()  # until the client closes
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, sock=sock)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def run(url: str) -> tuple[float, float, int, bool, float, int]:
    peak = rss_mb()
    start_rss = peak
    malformed = 0
    got_event = False
    client = StreamClient(url, api_key="tgl_sdk_benchmark", read_timeout=60.0)
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_mb())
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    try:
        async for item in client.items():
            if isinstance(item, Malformed):
                malformed += 1
                print(f"  malformed item: {item.reason} ({item.raw[:30]!r}...)", flush=True)
            elif isinstance(item, FlagEvent):
                got_event = item.flag_key == "after"
                break
    finally:
        elapsed = time.perf_counter() - started
        done.set()
        await sampler
        received = client.counters.bytes
        await client.aclose()
    return start_rss, max(peak, rss_mb()), malformed, got_event, elapsed, received


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=int, default=200)
    args = parser.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = multiprocessing.get_context("fork").Process(
        target=serve, args=(sock, args.megabytes), daemon=True
    )
    server.start()
    try:
        before, peak, malformed, got_event, elapsed, received = asyncio.run(run(url))
    finally:
        server.terminate()
        server.join()
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"endless line: {received / 1e6:.1f} MB received in {elapsed:.1f} s")
    print(
        f"  client RSS: {before:.1f} MB before, peak {peak:.1f} MB sampled, "
        f"{max_rss:.1f} MB max (getrusage); target < {LIMIT_MB:g} MB"
    )
    print(f"  oversized reported {malformed} time(s) (target 1), event after it: {got_event}")
    ok = max(peak, max_rss) < LIMIT_MB and malformed == 1 and got_event
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
