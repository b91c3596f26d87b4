"""Soak: does the monitor stay live, lose nothing and converge when the stream keeps failing?

Two runs against the emulator (replay and ids on), each with the real monitor core (`Monitor`,
read only: its updates, its values) on this process's loop, and the emulator on its thread:

1. `cuts`: the emulator ends the stream every `--cut-every` seconds (20) for `--duration` seconds
   (300) while changes flow at `--rate` a second. Reports the share of time the stream was
   LIVE (target >= 95 %), events lost (target 0: replay covers every reconnect) and duplicates.
2. `faults`: `--faults` (100) faults one after another, drawn with `--seed` from every stream
   fault the emulator offers: abrupt and clean cuts, a cut after n events, a cut in the middle
   of an event, short and long stalls (a long one outlives the read timeout), 5xx answers
   before the next connection, a malformed event, and a "restart" that forgets the replay ring.
   After each fault: the time until data flows again (the monitor receives an event published
   after the fault), then, with the changes paused, that every value the monitor holds equals
   a fresh evaluation by the emulator. Reports recovery p50 / max (targets <= 2 s, <= 35 s),
   events lost outside restarts (0), duplicates (0) and value mismatches (0).

    .venv/bin/python benchmarks/soak.py                       # both runs, full length (~10 min)
    .venv/bin/python benchmarks/soak.py --duration 30 --faults 10   # a short run
    .venv/bin/python benchmarks/soak.py --only faults

Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from togul_monitor.config.profiles import Profile  # noqa: E402
from togul_monitor.core import Monitor  # noqa: E402
from togul_monitor.domain.events import ConnectionState, FlagEvent, Malformed, Status  # noqa: E402
from togul_monitor.emulator.errors import ApiError  # noqa: E402
from togul_monitor.emulator.harness import EmulatorHandle, running_emulator  # noqa: E402
from togul_monitor.emulator.outbox import OutboxEvent  # noqa: E402

ENV = "production"
CONTEXT = {"user_id": "u-1", "plan": "premium", "country": "DE"}
HEARTBEAT = 1.0  # the emulator's heartbeat and the profile's: a read timeout of 3 s
FAULTS = (
    "cut",
    "cut-clean",
    "cut-after",
    "cut-mid-event",
    "stall",
    "stall-long",
    "fail-5xx",
    "malformed",
    "restart",
)


@dataclass
class Watch:
    """What the monitor received, from its update stream, with monotonic arrival times."""

    ids: list[int] = field(default_factory=list)
    arrivals: list[tuple[float, int]] = field(default_factory=list)
    malformed: int = 0
    live_since: float | None = None
    live_total: float = 0.0
    started: float | None = None
    stopped: str | None = None
    drops: list[float] = field(default_factory=list)  # when a LIVE connection ended
    retries: list[tuple[float, int, str]] = field(default_factory=list)  # RETRYING statuses

    def status(self, item: Status, now: float) -> None:
        if item.state is ConnectionState.LIVE:
            if self.live_since is None:
                self.live_since = now
            if self.started is None:
                self.started = now
        elif self.live_since is not None:
            self.live_total += now - self.live_since
            self.live_since = None
            self.drops.append(now)
        if item.state is ConnectionState.RETRYING:
            self.retries.append((now, item.attempt, item.error or ""))
        if item.state is ConnectionState.STOPPED:
            self.stopped = item.error or "stopped"

    def live_share(self, now: float) -> float:
        if self.started is None:
            return 0.0
        live = self.live_total + (now - self.live_since if self.live_since is not None else 0.0)
        return live / max(1e-9, now - self.started)


class Changes:
    """Steady changes to the watched environment's flags, which can be paused."""

    def __init__(self, emu: EmulatorHandle, rate: float, seed: int) -> None:
        self.emu = emu
        self.rate = rate
        self.rng = random.Random(f"{seed}:changes")
        self.paused = False
        self.env_id = emu.world.environments[ENV].id
        self.published: list[int] = []  # seqs of the watched environment's events
        emu.outbox.listeners.append(self._seen)

    def _seen(self, event: OutboxEvent) -> None:
        if event.environment_id == self.env_id:
            self.published.append(event.seq)

    def step(self) -> None:
        world = self.emu.world
        flags = [f for f in world.list_flags(ENV) if not f.key.startswith("sim-")]
        flag = self.rng.choice(flags)
        if flag.value_type == "boolean" and self.rng.random() < 0.5:
            world.update_flag(ENV, flag.key, default_value=not flag.default_value)
        elif self.rng.random() < 0.7:
            world.update_flag(ENV, flag.key, enabled=not flag.enabled)
        else:
            world.update_flag(ENV, flag.key, name=f"{flag.key} {self.rng.randrange(1000)}")

    async def run(self) -> None:
        interval = 1.0 / self.rate
        next_at = time.monotonic()
        while True:
            if not self.paused:
                self.step()
            next_at = max(next_at + interval, time.monotonic() - interval)
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))


async def watch(monitor: Monitor, seen: Watch) -> None:
    async for item in monitor.updates():
        now = time.monotonic()
        if isinstance(item, FlagEvent) and item.event_id is not None:
            seen.ids.append(int(item.event_id))
            seen.arrivals.append((now, int(item.event_id)))
        elif isinstance(item, Malformed):
            seen.malformed += 1
        elif isinstance(item, Status):
            seen.status(item, now)


def make_profile(emu: EmulatorHandle) -> Profile:
    return Profile(
        name="soak",
        base_url=emu.base_url,
        environment_key=ENV,
        api_key=emu.credentials.keys[ENV]["sdk"],
        context=dict(CONTEXT),
        watch=tuple(sorted(f.key for f in emu.world.list_flags(ENV))),
        heartbeat_seconds=HEARTBEAT,
    )


async def wait_until(cond: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def drained(changes: Changes, seen: Watch, timeout: float = 10.0) -> bool:
    """Changes paused: wait until the monitor received the last one published."""
    changes.paused = True
    await asyncio.sleep(0.2)  # the emulator's loop numbers and fans out what was just made
    return await wait_until(
        lambda: (
            not changes.published or (bool(seen.ids) and max(seen.ids) >= changes.published[-1])
        ),
        timeout,
    )


def lost_and_duplicates(changes: Changes, seen: Watch) -> tuple[set[int], int]:
    received = set(seen.ids)
    return set(changes.published) - received, len(seen.ids) - len(received)


# ---------------------------------------------------------------------------- run 1: cuts


async def soak_cuts(args: argparse.Namespace) -> bool:
    with running_emulator(seed=args.seed, heartbeat=HEARTBEAT, replay=100_000, ids=True) as emu:
        changes = Changes(emu, args.rate, args.seed)
        monitor = Monitor(make_profile(emu), record=False)
        seen = Watch()
        watcher = asyncio.create_task(watch(monitor, seen))
        await monitor.start()
        # Changes start once the stream is live: a first connection has nothing to resume from.
        await wait_until(lambda: seen.started is not None, 10)
        producer = asyncio.create_task(changes.run())
        begin = time.monotonic()
        cuts = 0
        try:
            while time.monotonic() - begin < args.duration:
                await asyncio.sleep(min(args.cut_every, args.duration - (time.monotonic() - begin)))
                if time.monotonic() - begin < args.duration:
                    emu.faults.cut_streams(clean=True)
                    cuts += 1
            share = seen.live_share(time.monotonic())
            await drained(changes, seen)
        finally:
            producer.cancel()
            await monitor.stop()
            watcher.cancel()
        lost, dups = lost_and_duplicates(changes, seen)
    print(
        f"cuts: {args.duration:g} s, stream ended every {args.cut_every:g} s ({cuts} ends), "
        f"{len(changes.published)} events at {args.rate:g}/s"
    )
    print(f"  live {share * 100:.2f} % of the time (target >= 95 %)")
    print(f"  events lost {len(lost)} (target 0), duplicates {dups} (target 0)")
    if seen.stopped:
        print(f"  STOPPED: {seen.stopped}")
    return share >= 0.95 and not lost and dups == 0 and not seen.stopped


# ---------------------------------------------------------------------------- run 2: faults


@dataclass
class FaultResult:
    kind: str
    recovery: float | None
    mismatches: list[str]


def inject(emu: EmulatorHandle, kind: str, rng: random.Random) -> None:
    faults = emu.faults
    if kind == "cut":
        faults.cut_streams()
    elif kind == "cut-clean":
        faults.cut_streams(clean=True)
    elif kind == "cut-after":
        faults.cut_after(rng.randint(1, 5))
    elif kind == "cut-mid-event":
        faults.cut_after(rng.randint(0, 3), mid_event=True)
    elif kind == "stall":
        faults.stall(rng.uniform(0.3, 2.0))  # under the 3 s read timeout: no reconnect
    elif kind == "stall-long":
        faults.stall(rng.uniform(3.5, 6.0))  # the read timeout gives the connection up
    elif kind == "fail-5xx":
        faults.fail_next(rng.randint(1, 3), rng.choice([500, 502, 503]), rng.choice([None, 1]))
        faults.cut_streams()
    elif kind == "malformed":
        faults.emit_malformed('{"flag_key": 7}')
    elif kind == "restart":
        faults.forget_replay()
        faults.cut_streams()
    else:
        raise ValueError(kind)


def mismatches(monitor: Monitor, emu: EmulatorHandle) -> list[str]:
    wrong = []
    for key, held in sorted(monitor.values().items()):
        try:
            body = emu.world.evaluate(ENV, key, CONTEXT)
        except ApiError:
            if not held.deleted:
                wrong.append(f"{key}: deleted on the server, held {held.current}")
            continue
        current = held.current
        fresh = (body["value"], body["reason"], body["enabled"])
        if (
            current is None
            or held.stale
            or (current.value, current.reason, current.enabled) != fresh
        ):
            got = None if current is None else (current.value, current.reason, current.enabled)
            wrong.append(f"{key}: held {got} (stale={held.stale}), fresh {fresh}")
    return wrong


async def soak_faults(args: argparse.Namespace) -> bool:
    rng = random.Random(f"{args.seed}:faults")
    results: list[FaultResult] = []
    excused: list[tuple[int, int]] = []  # id ranges a "restart" could lose (no replay)
    with running_emulator(seed=args.seed, heartbeat=HEARTBEAT, replay=100_000, ids=True) as emu:
        changes = Changes(emu, args.fault_rate, args.seed)
        monitor = Monitor(make_profile(emu), record=False)
        seen = Watch()
        watcher = asyncio.create_task(watch(monitor, seen))
        await monitor.start()
        await wait_until(lambda: seen.started is not None, 10)
        producer = asyncio.create_task(changes.run())
        await wait_until(lambda: len(seen.ids) >= 5, 10)
        try:
            for n in range(args.faults):
                kind = rng.choice(FAULTS)
                highest = max(seen.ids) if seen.ids else 0
                at_seq = emu.outbox.last_seq
                at = time.monotonic()
                inject(emu, kind, rng)
                if kind in ("cut-after", "cut-mid-event"):
                    # Armed, not done: the cut comes after the next events. Measure from it.
                    drops = len(seen.drops)
                    if await wait_until(lambda d=drops: len(seen.drops) > d, 10):
                        at, at_seq = seen.drops[drops], emu.outbox.last_seq
                ok = await wait_until(
                    lambda s=at_seq: bool(seen.arrivals) and seen.arrivals[-1][1] > s,
                    60,
                )
                recovery = None
                if ok:
                    recovery = next(t for t, i in seen.arrivals if i > at_seq and t >= at) - at
                if kind == "restart":
                    first_after = min((i for i in seen.ids if i > highest), default=at_seq)
                    excused.append((highest, first_after))
                # Pause the changes, let everything arrive and settle, then compare.
                await drained(changes, seen)
                wrong: list[str] = []
                settled = await wait_until(lambda: not mismatches(monitor, emu), 10)
                if not settled:
                    wrong = mismatches(monitor, emu)
                results.append(FaultResult(kind, recovery, wrong))
                shown = "no recovery in 60 s" if recovery is None else f"{recovery:.2f} s"
                if recovery is None or recovery > 5:
                    # Why it took long: every failed attempt since the fault.
                    why = [f"#{a} {e[:60]}" for t, a, e in seen.retries if t >= at]
                    shown += f"  ({'; '.join(why) or 'no reconnect'})"
                print(
                    f"  fault {n + 1:3d} {kind:14s} recovery {shown}"
                    + (f"  MISMATCH {wrong[:2]}" if wrong else ""),
                    flush=True,
                )
                changes.paused = False
                await asyncio.sleep(rng.uniform(0.3, 1.0))
            await drained(changes, seen)
        finally:
            producer.cancel()
            await monitor.stop()
            watcher.cancel()
        lost, dups = lost_and_duplicates(changes, seen)
    lost_outside = {i for i in lost if not any(lo < i < hi for lo, hi in excused)}
    times = [r.recovery for r in results if r.recovery is not None]
    unrecovered = sum(r.recovery is None for r in results)
    wrong = sum(bool(r.mismatches) for r in results)
    p50 = statistics.median(times) if times else float("inf")
    worst = max(times) if times else float("inf")
    print(f"faults: {len(results)} back to back, {len(changes.published)} events")
    by_kind: dict[str, list[float]] = {}
    for r in results:
        if r.recovery is not None:
            by_kind.setdefault(r.kind, []).append(r.recovery)
    for kind in FAULTS:
        got = by_kind.get(kind, [])
        if got:
            print(
                f"    {kind:14s} n={len(got):3d} p50 {statistics.median(got):.2f} s "
                f"max {max(got):.2f} s"
            )
    print(
        f"  recovery p50 {p50:.2f} s (target <= 2 s), max {worst:.2f} s (target <= 35 s), "
        f"not recovered {unrecovered}"
    )
    print(
        f"  events lost outside restarts {len(lost_outside)} (target 0), lost in restarts "
        f"{len(lost) - len(lost_outside)}, duplicates {dups} (target 0)"
    )
    print(f"  faults after which a value differed from a fresh evaluate: {wrong} (target 0)")
    if seen.stopped:
        print(f"  STOPPED: {seen.stopped}")
    return (
        p50 <= 2.0
        and worst <= 35.0
        and not unrecovered
        and not lost_outside
        and dups == 0
        and wrong == 0
        and not seen.stopped
    )


async def main(args: argparse.Namespace) -> int:
    ok = True
    if args.only in (None, "cuts"):
        ok = await soak_cuts(args) and ok
    if args.only in (None, "faults"):
        ok = await soak_faults(args) and ok
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=300.0, help="cuts run, seconds")
    parser.add_argument("--cut-every", type=float, default=20.0, help="seconds between ends")
    parser.add_argument("--rate", type=float, default=5.0, help="changes a second (cuts run)")
    parser.add_argument("--faults", type=int, default=100, help="faults in the faults run")
    parser.add_argument("--fault-rate", type=float, default=20.0, help="changes a second (faults)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=("cuts", "faults"))
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
