"""`history` after a burst a recorder answered with one evaluation (core/coalesce.py: a flag is
asked about at most once a second): the event answered with the next one says so, as `tail`
does; the event evaluated on its own and found unchanged says nothing (domain/merged.py)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Awaitable, Callable

from click.testing import CliRunner

from togul_monitor.cli import cli
from togul_monitor.cli.render import TailPrinter
from togul_monitor.client.evaluate import EvaluateResult
from togul_monitor.core import Monitor
from togul_monitor.core.updates import TransitionRecorded, ValueUpdated
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


async def test_tail_and_history_agree_on_a_created_flags_first_answer_held_past_its_update(
    emulator: EmulatorHandle,
) -> None:
    """A flag created, then updated while the creation's evaluation is on its way (held here
    until the update has come, so that the server answers with the update's value): `tail`
    says the creation was evaluated with the update and prints `∅ → "u1"` under the update,
    and `history` says the same (core/evaluation.py)."""
    key = "bx-1"
    monitor = Monitor(make_profile(emulator, name="created"))
    recorder = Recorder(monitor)
    await monitor.start()
    recorder.start()
    world = emulator.world
    flying, update_came = asyncio.Event(), asyncio.Event()
    for evaluations in monitor._evaluations.all:
        assert evaluations._reevaluator is not None
        call = evaluations._reevaluator._call

        async def held(
            flag: str, call: Callable[[str], Awaitable[EvaluateResult]] = call
        ) -> EvaluateResult:
            if flag == key:
                flying.set()
                await update_came.wait()  # the creation's call flies until the update came
            return await call(flag)

        evaluations._reevaluator._call = held

    def events() -> list[FlagEvent]:
        return [e for e in recorder.of(FlagEvent) if e.flag_key == key]

    try:
        await wait_for(lambda: emulator.open_streams == 1, what="stream")
        await asyncio.to_thread(
            world.create_flag, "production", key, value_type="string", default_value="c1"
        )
        await wait_for(flying.is_set, what="the creation's call in flight")
        await asyncio.to_thread(world.update_flag, "production", key, default_value="u1")
        await wait_for(lambda: len(events()) == 2, what="the update")
        update_came.set()
        await wait_for(lambda: settled(monitor, key), what="answered")
    finally:
        await monitor.stop()

    out = io.StringIO()
    names = {e.environment_id: "production" for e in events()}
    printer = TailPrinter(
        out,
        io.StringIO(),
        as_json=False,
        environment_names=names,
        url="",
        environment_key="production",
    )
    for item in recorder.items:  # in the order tail takes them (cli/tail_loop.py)
        if isinstance(item, FlagEvent):
            printer.event(item)
        elif isinstance(item, ValueUpdated):
            printer.value(item.value)
            if item.first:
                printer.first_value(item.value)
        elif isinstance(item, TransitionRecorded):
            printer.transition(item.transition)
    tail = [line for line in out.getvalue().splitlines() if key in line]
    assert tail[1:] == [
        f"  ↳ {key} (production): v1 evaluated with the next change",
        tail[2],
        f'  ↳ {key} (production): ∅ → "u1"',
    ], tail

    args = ["history", key, "--profile", "created", "--json"]
    result = await asyncio.to_thread(CliRunner().invoke, cli, args)
    assert result.exit_code == 0, result.output
    rows = [json.loads(text) for text in result.stdout.splitlines()]
    with_next = {r["version"]: r.get("evaluated_with_next") for r in rows if r["kind"] == "event"}
    assert with_next == {2: None, 1: ["default"]}
    changes = [(r["before"], r["after"]["value"]) for r in rows if r["kind"] == "transition"]
    assert changes == [(None, "u1")]
    owners = [r["event_id"] for r in rows if r["kind"] == "transition"]
    assert owners == [events()[1].event_id]
