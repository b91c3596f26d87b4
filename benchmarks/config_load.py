"""Configuration load benchmark: how long a token profile takes to hold a complete set of flag
configurations (core/configs.py), against the emulator on loopback.

The emulator runs in a process of its own (a server does not share the monitor's GIL), its
production environment with `--flags` flags of `--rules` rules each (default 2,000 × 5). A
monitor with a token (no API key: nothing is evaluated, only configurations are fetched)
starts; the time from `start()` to the state "complete", the requests the emulator answered for
it and the monitor's own count are reported. Target: under 5 s. `--same-process` runs the
emulator in a thread of this process instead (both sides then share one GIL).

`--cache-missing-sniffio`: httpcore imports `sniffio` on every request (several times); when it
is not installed the failed import is not cached and searches `sys.path` each time (about
1.3 ms per request on the development machine, in the monitor and in the emulator). This option
marks it missing once (`sys.modules["sniffio"] = None`, before the emulator's process is forked),
which is what installing `sniffio` achieves.

    .venv/bin/python benchmarks/config_load.py [--flags 2000] [--rules 5]

`config_load_tui.py` measures the other side of the same load: how responsive the TUI stays
(event-loop stall, key press to repaint) while a token profile loads these configurations,
against the same app on a profile without a token.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import time
from typing import Any

from togul_monitor.config.profiles import Profile
from togul_monitor.core import Monitor
from togul_monitor.emulator.harness import EmulatorHandle, running_emulator

ENV = "production"


def populate(emu: EmulatorHandle, flags: int, rules: int) -> None:
    world = emu.world
    for i in range(flags):
        key = f"bench-{i:05d}"
        world.create_flag(ENV, key, name=f"Bench {i}", value_type="boolean", publish=False)
        for r in range(rules):
            if r % 2:
                world.create_rule(
                    ENV, key, rule_type="percentage", rollout_percentage=(10 * r) % 100,
                    return_value=True, publish=False,
                )  # fmt: skip
            else:
                world.create_rule(
                    ENV, key, rule_type="attribute", attribute="plan", operator="eq",
                    value_json='"enterprise"', return_value=True, publish=False,
                )  # fmt: skip


def serve(flags: int, rules: int, pipe: Any) -> None:
    """The emulator's process: populate, say where it is, serve until told, report counts."""
    with running_emulator(seed=0, heartbeat=5.0) as emu:
        populate(emu, flags, rules)
        creds = emu.credentials
        pipe.send((emu.base_url, creds.org_token, creds.project_id))
        pipe.recv()  # done
        pipe.send(emu.requests.count(prefix=f"/api/v1/projects/{creds.project_id}/flags"))


async def load(base_url: str, token: str, answered: Any) -> None:
    profile = Profile(
        name="bench-configs",
        base_url=base_url,
        environment_key=ENV,
        token=token,
        heartbeat_seconds=5.0,
    )
    monitor = Monitor(profile, record=False)
    started = time.perf_counter()
    await monitor.start()
    try:
        while monitor.snapshot().config_state != "complete":
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - started
        snapshot = monitor.snapshot()
        print(
            f"complete: {snapshot.configs_loaded:,} of {snapshot.configs_total:,} flags with "
            f"{sum(len(c.rules) for c in snapshot.flag_configs.values()):,} rules in "
            f"{elapsed:.2f} s (start() included); {answered():,} flag requests at the emulator "
            f"(the lookup's listing included), {snapshot.config_requests:,} sent by the reader; "
            f"{snapshot.configs_loaded / elapsed:,.0f} flags/s"
        )
    finally:
        await monitor.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flags", type=int, default=2000)
    parser.add_argument("--rules", type=int, default=5)
    parser.add_argument("--same-process", action="store_true")
    parser.add_argument("--cache-missing-sniffio", action="store_true")
    args = parser.parse_args()
    if args.cache_missing_sniffio:
        sys.modules.setdefault("sniffio", None)  # type: ignore[assignment]
    if args.same_process:
        with running_emulator(seed=0, heartbeat=5.0) as emu:
            populate(emu, args.flags, args.rules)
            creds = emu.credentials
            prefix = f"/api/v1/projects/{creds.project_id}/flags"
            asyncio.run(
                load(emu.base_url, creds.org_token, lambda: emu.requests.count(prefix=prefix))
            )
        return
    here, there = multiprocessing.Pipe()
    server = multiprocessing.Process(target=serve, args=(args.flags, args.rules, there))
    server.start()
    try:
        base_url, token, _ = here.recv()
        counted: list[int] = []

        def answered() -> int:
            here.send("done")
            counted.append(here.recv())
            return counted[-1]

        asyncio.run(load(base_url, token, answered))
    finally:
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()


if __name__ == "__main__":
    main()
