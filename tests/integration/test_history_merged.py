"""`history` after a burst a recorder answered with one evaluation (core/coalesce.py: a flag is
asked about at most once a second): the event answered with the next one says so, as `tail`
does; the event evaluated on its own and found unchanged says nothing (domain/merged.py)."""

from __future__ import annotations

import asyncio
import json

from click.testing import CliRunner

from togul_monitor.cli import cli
from togul_monitor.core import Monitor
from togul_monitor.domain.events import FlagEvent
from togul_monitor.emulator.harness import EmulatorHandle

from .test_monitor import Recorder, make_profile, settled, wait_for

FLAG = "new-dashboard"


async def test_history_says_which_event_was_evaluated_with_the_next(
    emulator: EmulatorHandle,
) -> None:
    monitor = Monitor(make_profile(emulator, name="merges", watch=(FLAG,)))
    recorder = Recorder(monitor)
    await monitor.start()
    recorder.start()
    world = emulator.world

    def events() -> list[FlagEvent]:
        return [e for e in recorder.of(FlagEvent) if e.flag_key == FLAG]

    try:
        await wait_for(lambda: emulator.open_streams == 1, what="stream")
        await wait_for(lambda: settled(monitor, FLAG), what="a first value")
        # Evaluated on its own: its value does not change.
        await asyncio.to_thread(world.update_flag, "production", FLAG, description="alone")
        await wait_for(lambda: len(events()) == 1 and settled(monitor, FLAG), what="answered")

        def burst() -> None:  # within the second the answer above paces the flag's next call
            world.update_flag("production", FLAG, description="merged")
            world.update_flag("production", FLAG, enabled=False)

        await asyncio.to_thread(burst)
        await wait_for(lambda: len(events()) == 3 and settled(monitor, FLAG), what="answered")
    finally:
        await monitor.stop()
    alone, merged, last = (e.version for e in events())

    args = ["history", FLAG, "--profile", "merges"]
    result = await asyncio.to_thread(CliRunner().invoke, cli, args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    said = [(lines[i - 1], line) for i, line in enumerate(lines) if "↳" in line]
    line = f"  ↳ {FLAG} (production): v{merged} evaluated with the next change"
    assert [line for _, line in said] == [line], result.stdout
    assert f" v{merged} " in said[0][0], result.stdout  # under its event

    result = await asyncio.to_thread(CliRunner().invoke, cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(text) for text in result.stdout.splitlines()]
    with_next = {r["version"]: r.get("evaluated_with_next") for r in rows if r["kind"] == "event"}
    assert with_next == {last: None, merged: ["default"], alone: None}
