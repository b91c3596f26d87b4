"""Fan-out benchmark for the emulator's stream endpoint (loopback only, bounded in time).

1. 200 concurrent stream clients connect; 20 events are published and the delivery lag to
   all 200 is measured.
2. 50 clients; 1,000 events per second are published for a few seconds; every event must
   reach every client; the delivery lag (publish -> parsed by the client) is reported.

Clients run in a separate process so they do not share the server's GIL; both sides use
time.monotonic() (CLOCK_MONOTONIC, the same clock across processes on Linux/macOS).

    .venv/bin/python benchmarks/emulator_fanout.py [--seconds 3] [--rate 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import threading
import time
from typing import Any

STOP = b"bench-stop"


def _clients_main(base_url: str, secret: str, count: int, results: Any) -> None:
    asyncio.run(_clients(base_url, secret, count, results))


async def _clients(base_url: str, secret: str, count: int, results: Any) -> None:
    import httpx

    limits = httpx.Limits(max_connections=count + 10, max_keepalive_connections=0)
    timeout = httpx.Timeout(30.0)
    arrivals: list[dict[int, float]] = [{} for _ in range(count)]

    async def one(index: int, client: httpx.AsyncClient) -> None:
        seen = arrivals[index]
        buffer = b""
        headers = {"X-API-Key": secret}
        async with client.stream("GET", base_url + "/api/v1/stream", headers=headers) as resp:
            async for chunk in resp.aiter_raw():
                now = time.monotonic()
                buffer += chunk
                *frames, buffer = buffer.split(b"\n\n")
                for frame in frames:
                    event_id = None
                    for line in frame.split(b"\n"):
                        if line.startswith(b"id: "):
                            event_id = int(line[4:])
                        elif line == b"data: " + STOP:
                            return
                    if event_id is not None:
                        seen[event_id] = now

    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
        await asyncio.gather(*(one(i, client) for i in range(count)))
    results.put(arrivals)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _run_phase(emu: Any, clients: int, rate: float, seconds: float) -> dict[str, float]:
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    secret = emu.credentials.keys["production"]["sdk"]
    process = ctx.Process(target=_clients_main, args=(emu.base_url, secret, clients, results))
    started = time.monotonic()
    process.start()
    if not emu.wait_for_streams(clients, timeout=60):
        process.kill()
        raise SystemExit(f"only {emu.open_streams} of {clients} streams connected")
    connect_time = time.monotonic() - started

    published: dict[int, float] = {}
    total = int(rate * seconds)
    tick = 0.005
    per_tick = max(1, round(rate * tick))

    def publisher() -> None:
        next_at = time.monotonic()
        sent = 0
        while sent < total:
            for _ in range(min(per_tick, total - sent)):
                t = time.monotonic()
                seq = emu.outbox.publish(
                    emu.credentials.environment_ids["production"],
                    {
                        "type": "flag.updated",
                        "flag_key": "checkout-v2",
                        "environment_id": emu.credentials.environment_ids["production"],
                        "version": sent + 2,
                        "timestamp": int(time.time()),
                    },
                )
                published[seq] = t
                sent += 1
            next_at += tick
            time.sleep(max(0.0, next_at - time.monotonic()))

    publish_started = time.monotonic()
    thread = threading.Thread(target=publisher)
    thread.start()
    thread.join()
    publish_time = time.monotonic() - publish_started
    emu.faults.emit_malformed(STOP.decode())
    arrivals = results.get(timeout=120)
    process.join(timeout=30)

    lags: list[float] = []
    missing = 0
    for seen in arrivals:
        for seq, t in published.items():
            if seq in seen:
                lags.append(seen[seq] - t)
            else:
                missing += 1
    return {
        "clients": clients,
        "connect_s": connect_time,
        "events": total,
        "publish_rate": total / publish_time,
        "deliveries": len(lags),
        "missing": missing,
        "p50_ms": _percentile(lags, 0.50) * 1000,
        "p99_ms": _percentile(lags, 0.99) * 1000,
        "max_ms": max(lags) * 1000,
        "mean_ms": statistics.fmean(lags) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rate", type=float, default=1000.0)
    args = parser.parse_args()

    from togul_monitor.emulator.harness import running_emulator

    # Heartbeat long enough not to matter; replay and per-client bounds at their defaults.
    with running_emulator(seed=0, heartbeat=5.0, replay=1000, ids=True) as emu:
        connected = _run_phase(emu, clients=200, rate=20, seconds=1.0)
    with running_emulator(seed=0, heartbeat=5.0, replay=1000, ids=True) as emu:
        fanout = _run_phase(emu, clients=50, rate=args.rate, seconds=args.seconds)

    print("emulator fan-out benchmark (loopback)")
    print(
        f"  200 clients: all connected in {connected['connect_s']:.2f} s; "
        f"{connected['events']} events -> {connected['deliveries']} deliveries, "
        f"{connected['missing']} missing; lag p50 {connected['p50_ms']:.1f} ms, "
        f"p99 {connected['p99_ms']:.1f} ms"
    )
    print(
        f"  50 clients at {fanout['publish_rate']:.0f} events/s for {args.seconds:g} s: "
        f"{fanout['deliveries']} deliveries, {fanout['missing']} missing; "
        f"lag p50 {fanout['p50_ms']:.1f} ms, p99 {fanout['p99_ms']:.1f} ms, "
        f"max {fanout['max_ms']:.1f} ms"
    )


if __name__ == "__main__":
    main()
