#!/usr/bin/env python3
"""The TUI's responsiveness while a token profile loads its flag configurations, against the
same app on a profile without a token (the baseline), in one run.

The emulator runs in a process of its own (as in `config_load.py`), its production environment
holding `--flags` flags of `--rules` rules each (default 2,000 × 5; seed 0, the same world every
run). The real app (`TogulMonitorApp` and its MonitorThread, headless Textual `run_test`, 120×40,
a fresh data folder each time) is started on three profiles, one after the other:

- `key+token`: an API key and the organisation's token, as a token profile usually is: the
  2,000 configurations are fetched, and every flag the management API lists is evaluated too;
- `token`: the token alone: only the configurations are fetched (what `config_load.py` times);
- `key`: the API key alone, the baseline: no configuration is fetched, nothing is listed.

Once the stream is live the emulator publishes `--rows` changes: rows in the feed, whose time
column `t` changes, so a key has something to repaint as it would in use. From then until the
configurations are complete, plus `--tail` seconds (the baseline: as long as the longer token
run of its round), a probe task on the app's own loop measures how late it wakes up (the
event-loop stall), and a key (`t`, the time format) is sent through the driver every
`--key-every` seconds and timed until the app handled it and until the first frame painted
after that (key press to repaint, as `tui.py` does). Here `t` does not save the time mode: that
save (a worker writing profiles.toml) delays the next frame by about 130 ms even in an idle app,
against 10-20 ms without it, which would hide what the load does; `--save-time-mode` keeps it.
Each token run is reported against the baseline of its round as ratios, and the median ratio
over `--rounds` rounds; the order within a round is fixed (key+token, token, key), after one
unreported warm-up run.

    .venv/bin/python benchmarks/config_load_tui.py [--flags 2000] [--rules 5] [--rounds 3]

On the development machine (two cores, shared), median of 3 rounds: with the token alone the
configurations are complete in 5.2-6.4 s and the longest stall is ×2.0 the baseline's (88-112 ms
against 48-56 ms), key to repaint p95 ×1.4 (49-75 ms); with key and token the load takes
17-22 s and the longest stall is ×10 (220-603 ms), key p95 ×4.4 (120-187 ms). A profile of that
run puts the time in the values pane, not in the configurations: 2,023 rows upserted as their
values arrive, and its once-a-second tick, which builds every row's cells again (the ages), after
the load too.

Not part of the test suite: timings depend on the machine, so they are reported, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import togul_monitor.ui  # noqa: E402, F401  (first: the app's Textual settings, ui/__init__.py)

# isort: split
from config_load import ENV, populate  # noqa: E402
from loop_probe import stall_probe  # noqa: E402
from textual import events  # noqa: E402

from togul_monitor.config.profiles import Profile  # noqa: E402
from togul_monitor.domain.events import ConnectionState  # noqa: E402
from togul_monitor.emulator.harness import running_emulator  # noqa: E402
from togul_monitor.ui.app import TogulMonitorApp  # noqa: E402

SIZE = (120, 40)
VARIANTS = ("key+token", "token", "key")


def serve(flags: int, rules: int, pipe: Any) -> None:
    """The emulator's process: populate, say where it is and with what, publish changes when
    asked, serve until told."""
    with running_emulator(seed=0, heartbeat=1.0) as emu:
        populate(emu, flags, rules)
        creds = emu.credentials
        pipe.send(
            (
                emu.base_url,
                creds.keys[ENV]["sdk"],
                creds.org_token,
                creds.environment_ids[ENV],
            )
        )
        while (asked := pipe.recv()) != "done":  # a number: publish that many changes
            for i in range(asked):
                key = f"bench-{i % flags:05d}"
                emu.world.update_flag(ENV, key, name=f"Bench {i % flags} renamed")
            pipe.send(emu.events_published)


@dataclass
class Run:
    variant: str
    start: float  # seconds from the app's start to the measurement's
    window: float  # seconds measured
    load: float | None  # seconds from the app's start until the configurations were complete
    configs: str  # how many were loaded, of how many
    stalls: list[float]
    keys: list[float]  # key sent → first frame painted after the app handled it
    handled: list[float]  # key sent → the app handled it (its action ran)

    def figure(self, name: str) -> float:
        stalls, keys = sorted(self.stalls), sorted(self.keys)
        if name == "stall_max":
            return stalls[-1] * 1000
        if name == "stall_p99":
            return statistics.quantiles(stalls, n=100, method="inclusive")[98] * 1000
        if name == "key_p50":
            return statistics.median(keys) * 1000
        if name == "key_p95":
            return statistics.quantiles(keys, n=20, method="inclusive")[18] * 1000
        if name == "key_max":
            return keys[-1] * 1000
        if name == "handled_p50":
            return statistics.median(self.handled) * 1000
        if name == "handled_max":
            return max(self.handled) * 1000
        raise KeyError(name)


FIGURES = ("stall_max", "stall_p99", "key_p50", "key_p95", "key_max", "handled_p50", "handled_max")


async def measure(
    variant: str,
    profile: Profile,
    *,
    window: float | None,
    tail: float,
    key_every: float,
    timeout: float,
    rows: Any,
    save_time_mode: bool,
) -> Run:
    """Run the app on `profile`; measure from the monitor's handover until the configurations
    are complete plus `tail` seconds (`window` None), or for `window` seconds. `rows()` has the
    emulator publish a few changes once the stream is live: rows whose time column `t` changes."""
    app = TogulMonitorApp(profile, keymap={})
    paints: list[float] = []
    original_display = app._display

    def display(screen: Any, renderable: Any) -> None:
        if renderable is not None and not app._batch_count:
            paints.append(time.perf_counter())
        original_display(screen, renderable)

    app._display = display  # type: ignore[method-assign]
    started = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        while app.monitor is None:
            await pilot.pause(0.005)
        while app.monitor.snapshot().status.state is not ConnectionState.LIVE:
            await pilot.pause(0.005)
        if not save_time_mode:  # `t` saves the mode to profiles.toml on a worker: not timed
            app.main.keys.save_time_mode = lambda current: None  # type: ignore[method-assign]
        published = rows()
        while app.main.store.received < published:
            await pilot.pause(0.005)
        stalls: list[float] = []
        latencies: list[float] = []
        handling: list[float] = []
        done = asyncio.Event()

        async def keys() -> None:
            driver = app._driver
            assert driver is not None
            while not done.is_set():
                await asyncio.sleep(key_every)
                before = app.main.time_mode
                t0 = time.perf_counter()
                driver.send_message(events.Key("t", "t"))
                while app.main.time_mode == before:
                    await asyncio.sleep(0.0005)
                handled = time.perf_counter()
                handling.append(handled - t0)
                while not paints or paints[-1] < handled:
                    await asyncio.sleep(0.0005)
                latencies.append(paints[-1] - t0)

        tasks = [asyncio.create_task(stall_probe(done, stalls)), asyncio.create_task(keys())]
        handed = time.perf_counter()
        load: float | None = None
        if window is None:
            deadline = handed + timeout
            while app.monitor.snapshot().config_state != "complete":
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"configurations not complete after {timeout:.0f} s")
                await asyncio.sleep(0.01)
            load = time.perf_counter() - started
            await asyncio.sleep(tail)
        else:
            await asyncio.sleep(window)
        measured = time.perf_counter() - handed
        done.set()
        await asyncio.gather(*tasks)
        snap = app.monitor.snapshot()
        configs = f"{snap.configs_loaded:,} of {snap.configs_total:,} ({snap.config_state})"
    return Run(variant, handed - started, measured, load, configs, stalls, latencies, handling)


async def one_run(variant: str, profile: Profile, **options: Any) -> Run:
    # A fresh data folder: no journal of an earlier run is read back (backfill) or written to.
    with tempfile.TemporaryDirectory(prefix="togul-bench-") as home:
        os.environ["TOGUL_MONITOR_HOME"] = home
        return await measure(variant, profile, **options)


def profiles(base_url: str, api_key: str, token: str, environment_id: str) -> dict[str, Profile]:
    key = Profile(
        name="bench",
        base_url=base_url,
        environment_key=ENV,
        api_key=api_key,
        context={"user_id": "bench", "plan": "premium"},
        heartbeat_seconds=1.0,
        environment_names={environment_id: ENV},
    )
    return {
        "key+token": replace(key, token=token),
        "token": replace(key, api_key=None, token=token),
        "key": key,
    }


def describe(run: Run) -> str:
    figures = ", ".join(f"{name} {run.figure(name):.1f} ms" for name in FIGURES)
    load = f"configurations complete {run.load:.2f} s after start, " if run.load else ""
    return (
        f"  {run.variant:<9} {load}{run.window:.2f} s measured from {run.start:.2f} s; "
        f"configurations {run.configs}; {len(run.keys)} keys: {figures}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flags", type=int, default=2000)
    parser.add_argument("--rules", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tail", type=float, default=1.0, help="seconds measured after")
    parser.add_argument("--key-every", type=float, default=0.1, help="seconds between keys")
    parser.add_argument("--rows", type=int, default=20, help="changes in the feed before")
    parser.add_argument(
        "--save-time-mode", action="store_true", help="let `t` save the mode (see above)"
    )
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    ctx = multiprocessing.get_context("spawn")
    here, there = ctx.Pipe()
    server = ctx.Process(target=serve, args=(args.flags, args.rules, there), daemon=True)
    server.start()
    ratios: dict[str, dict[str, list[float]]] = {v: {f: [] for f in FIGURES} for v in VARIANTS}
    try:
        by_variant = profiles(*here.recv())

        def rows() -> int:
            here.send(args.rows)
            here.recv()
            return args.rows

        options = {
            "tail": args.tail,
            "key_every": args.key_every,
            "timeout": args.timeout,
            "rows": rows,
            "save_time_mode": args.save_time_mode,
        }
        # Warm-up, not reported: the first app of a process pays for imports and CSS parsing.
        asyncio.run(one_run("key", by_variant["key"], window=1.0, **options))
        print(
            f"{args.flags:,} flags × {args.rules} rules; the app {SIZE[0]}×{SIZE[1]}, "
            f"{args.rows} rows in the feed, a key every {args.key_every * 1000:.0f} ms, "
            f"{args.tail:.1f} s measured after the load"
        )
        for round_ in range(1, args.rounds + 1):
            print(f"round {round_}")
            runs = [
                asyncio.run(one_run(v, by_variant[v], window=None, **options)) for v in VARIANTS[:2]
            ]
            window = max(run.window for run in runs)
            base = asyncio.run(one_run("key", by_variant["key"], window=window, **options))
            for run in (*runs, base):
                print(describe(run))
            for run in runs:
                for name in FIGURES:
                    ratios[run.variant][name].append(run.figure(name) / base.figure(name))
                said = ", ".join(
                    f"{name} ×{run.figure(name) / base.figure(name):.1f}" for name in FIGURES
                )
                print(f"    {run.variant} / key: {said}")
    finally:
        here.send("done")
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()
    print(f"median ratio over {args.rounds} rounds (a token profile / the same app without one)")
    for variant in VARIANTS[:2]:
        said = ", ".join(
            f"{name} ×{statistics.median(ratios[variant][name]):.1f}" for name in FIGURES
        )
        print(f"  {variant:<9} {said}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
