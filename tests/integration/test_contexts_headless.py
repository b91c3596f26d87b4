"""Named contexts on the headless commands, against the emulator over loopback: a recording
`tail` prints one line per context whose value changed, naming it, journals each with its
context, and `history` shows them; `wait --context` waits for that context's value only."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from click.testing import CliRunner

from togul_monitor.cli import cli
from togul_monitor.cli.tail import run_tail
from togul_monitor.cli.wait import run_wait
from togul_monitor.config.entry import Profile
from togul_monitor.core import Monitor
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.store.journal import journal_path
from togul_monitor.store.reader import read_history

from .test_monitor import make_profile, wait_for

FLAG = "plan-gate"
CONTEXTS = {"premium": {"user_id": "u-1", "plan": "premium"}, "free": {"user_id": "u-2"}}


def _profile(emu: EmulatorHandle, **overrides: Any) -> Profile:
    emu.world.create_flag("production", FLAG, default_value=False)
    return make_profile(emu, name="ctx", context={}, contexts=CONTEXTS, watch=(FLAG,), **overrides)


def _settled(monitor: Monitor) -> bool:
    values = monitor.snapshot().context_values
    for name in CONTEXTS:
        value = values.get(name, {}).get(FLAG)
        if value is None or value.current is None or value.stale:
            return False
    return monitor.evaluations_idle()


def _premium_only(emu: EmulatorHandle) -> Callable[[], object]:
    """A rule that changes the premium context's value and not the free one's."""
    return lambda: emu.world.create_rule(
        "production", FLAG, rule_type="attribute", attribute="plan", operator="eq",
        value_json='"premium"', return_value=True,
    )  # fmt: skip


@contextlib.asynccontextmanager
async def started(
    monkeypatch: pytest.MonkeyPatch, run: Callable[[], Any], emu: EmulatorHandle
) -> AsyncIterator[tuple[asyncio.Task[int], Monitor]]:
    """`run()` as a task and its monitor, yielded once it has every context's first value."""
    from togul_monitor import core

    monitors: list[Monitor] = []
    real_run_headless = core.run_headless

    @contextlib.asynccontextmanager
    async def spy(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        async with real_run_headless(*args, **kwargs) as pair:
            monitors.append(pair[0])
            yield pair

    monkeypatch.setattr(core, "run_headless", spy)
    task: asyncio.Task[int] = asyncio.create_task(run())
    try:
        await wait_for(lambda: monitors and _settled(monitors[0]), what="every context's value")
        await wait_for(lambda: emu.open_streams == 1, what="stream")
        yield task, monitors[0]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_recording_tail_prints_journals_and_shows_each_contexts_change(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = _profile(emulator)
    out, err = io.StringIO(), io.StringIO()

    def run() -> Any:
        return run_tail(profile, query=None, count=1, as_json=False, out=out, err=err, record=True)

    async with started(monkeypatch, run, emulator) as (task, _):
        await asyncio.to_thread(_premium_only(emulator))
        assert await asyncio.wait_for(asyncio.shield(task), 10) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == 2, lines  # the event, and premium's change only (free's did not)
    assert lines[1].startswith("  ↳ plan-gate [premium] (production): false → true")
    path = journal_path("ctx")
    transitions = [h for h in read_history(path, FLAG) if type(h).__name__ == "ValueTransition"]
    assert [t.context for t in transitions] == ["premium"]  # type: ignore[union-attr]

    runner = CliRunner()
    human = await asyncio.to_thread(runner.invoke, cli, ["history", FLAG, "--profile", "ctx"])
    assert human.exit_code == 0, human.output
    (value_line,) = [line for line in human.stdout.splitlines() if "  value  " in line]
    assert "  value       [premium] false (" in value_line
    as_json = await asyncio.to_thread(
        runner.invoke, cli, ["history", FLAG, "--profile", "ctx", "--json"]
    )
    rows = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [r["context"] for r in rows if r["kind"] == "transition"] == ["premium"]


async def test_tail_json_and_tail_context_name_the_contexts(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = _profile(emulator)
    out, err = io.StringIO(), io.StringIO()

    def run() -> Any:
        return run_tail(
            profile, query=None, count=2, as_json=True, out=out, err=err, contexts=("free",)
        )

    async with started(monkeypatch, run, emulator) as (task, monitor):
        await asyncio.to_thread(_premium_only(emulator))  # premium only: not printed
        # Its answers first: one asked after the next change would hold that change too.
        await wait_for(
            lambda: len(monitor.events()) == 1 and monitor.evaluations_idle(),
            what="the first event's answers",
        )
        # Every context changes: the default value moves for both (free's line only).
        await asyncio.to_thread(emulator.world.update_flag, "production", FLAG, default_value=True)
        assert await asyncio.wait_for(asyncio.shield(task), 10) == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["kind"] for r in rows] == ["event", "event", "transition"], rows
    assert rows[2]["context"] == "free" and rows[2]["after"]["value"] is True


async def test_wait_context_waits_for_that_contexts_value(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = _profile(emulator)
    out, err = io.StringIO(), io.StringIO()

    def run() -> Any:
        return run_wait(
            profile, FLAG, True, timeout=30, as_json=False, out=out, err=err, context="free"
        )

    def premium_true(monitor: Monitor) -> bool:
        value = monitor.snapshot().context_values["premium"].get(FLAG)
        current = value.current if value is not None and not value.stale else None
        return current is not None and current.value is True

    async with started(monkeypatch, run, emulator) as (task, monitor):
        await asyncio.to_thread(_premium_only(emulator))  # premium's value: not the one waited on
        await wait_for(lambda: premium_true(monitor) and monitor.evaluations_idle(), what="premium")
        assert not task.done()
        await asyncio.to_thread(emulator.world.update_flag, "production", FLAG, default_value=True)
        assert await asyncio.wait_for(asyncio.shield(task), 10) == 0
    assert out.getvalue().startswith("plan-gate is true for context free (after ")
