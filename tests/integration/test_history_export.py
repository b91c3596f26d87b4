"""`history` and `export` read what a monitor recorded, after that monitor has stopped."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.journal_helpers import import_events
from togul_monitor.cli import cli
from togul_monitor.cli.tail import run_tail
from togul_monitor.core import Monitor, TransitionRecorded
from togul_monitor.domain.events import FlagEvent
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.store.export import read_jsonl, write_jsonl
from togul_monitor.store.journal import Journal, journal_path
from togul_monitor.store.reader import iter_journal_events

from .test_monitor import Recorder, make_profile, settled, wait_for


async def record_some_history(emu: EmulatorHandle) -> list[FlagEvent]:
    monitor = Monitor(make_profile(emu, name="rec"))
    recorder = Recorder(monitor)
    await monitor.start()
    recorder.start()
    try:
        await wait_for(lambda: emu.open_streams == 1, what="stream")
        await wait_for(lambda: settled(monitor, "new-dashboard"), what="first value")

        def changes() -> None:
            emu.world.update_flag("production", "new-dashboard", enabled=False)
            emu.world.update_flag("production", "checkout-v2", enabled=False)
            emu.world.create_flag("production", "[bold]odd\x1b[31m-key", value_type="string")

        await asyncio.to_thread(changes)
        await wait_for(lambda: len(recorder.of(FlagEvent)) == 3, what="3 events")
        await wait_for(lambda: recorder.of(TransitionRecorded), what="transition")
        await wait_for(lambda: settled(monitor, "new-dashboard"), what="settled")
        return recorder.of(FlagEvent)
    finally:
        await monitor.stop()


async def test_history_command_after_the_monitor_stopped(emulator: EmulatorHandle) -> None:
    events = await record_some_history(emulator)
    runner = CliRunner()
    result = await asyncio.to_thread(
        runner.invoke, cli, ["history", "new-dashboard", "--profile", "rec", "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["kind"] for r in rows] == ["transition", "event"]  # newest first
    assert rows[0]["event_id"] == rows[1]["id"] == events[0].event_id
    assert rows[0]["before"]["value"] is True and rows[0]["after"]["reason"] == "disabled"

    human = await asyncio.to_thread(
        runner.invoke, cli, ["history", "new-dashboard", "--profile", "rec", "--limit", "1"]
    )
    assert human.exit_code == 0
    (line,) = human.output.splitlines()
    assert "true (rule_match, enabled) → false (disabled, disabled)" in line

    odd = await asyncio.to_thread(
        runner.invoke, cli, ["history", "[bold]odd\x1b[31m-key", "--profile", "rec"]
    )
    assert odd.exit_code == 0 and "flag.created" in odd.output
    unknown = await asyncio.to_thread(
        runner.invoke, cli, ["history", "\x1b[2Jnope", "--profile", "rec"]
    )
    assert unknown.exit_code == 0 and "No history" in unknown.output
    assert "\x1b" not in unknown.output and "\\x1b" in unknown.output
    assert "\\\\x1b" not in unknown.output  # escaped once, not twice

    via_group = await asyncio.to_thread(
        runner.invoke, cli, ["--profile", "rec", "history", "new-dashboard", "--json"]
    )
    assert via_group.exit_code == 0 and via_group.output == result.output

    missing = await asyncio.to_thread(runner.invoke, cli, ["history", "x", "--profile", "nope"])
    assert missing.exit_code == 1 and "No journal" in missing.output


async def test_export_then_reimport_of_jsonl_gives_the_same_events(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    events = await record_some_history(emulator)
    out = tmp_path / "export.jsonl"
    runner = CliRunner()
    result = await asyncio.to_thread(
        runner.invoke, cli, ["export", "--format", "jsonl", "-o", str(out), "--profile", "rec"]
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "\x1b" not in text  # escaped: safe even when printed
    back = list(read_jsonl(text.splitlines()))
    assert back == events

    # Re-import into a fresh journal and export again: byte for byte the same.
    journal = Journal.open(tmp_path / "again.sqlite3")
    try:
        assert import_events(journal, back) == 3
    finally:
        journal.close()
    buffer = io.StringIO()
    write_jsonl(iter_journal_events(tmp_path / "again.sqlite3"), buffer)
    assert buffer.getvalue() == text
    assert list(iter_journal_events(journal_path("rec"))) == events


async def test_export_filter_since_and_csv(emulator: EmulatorHandle) -> None:
    await record_some_history(emulator)
    runner = CliRunner()
    csv_run = await asyncio.to_thread(
        runner.invoke,
        cli,
        ["export", "--format", "csv", "--filter", "flag:checkout-*", "--profile", "rec"],
    )
    assert csv_run.exit_code == 0, csv_run.output
    lines = csv_run.output.splitlines()
    assert lines[0].startswith("id,type,flag_key") and len(lines) == 2
    assert ",checkout-v2," in lines[1]

    env_run = await asyncio.to_thread(
        runner.invoke,
        cli,
        ["export", "--format", "jsonl", "--filter", "env:production -dash", "--profile", "rec"],
    )
    assert env_run.exit_code == 0, env_run.output
    assert [json.loads(x)["flag_key"] for x in env_run.output.splitlines()] == [
        "checkout-v2",
        "[bold]odd\x1b[31m-key",
    ]

    future = await asyncio.to_thread(
        runner.invoke, cli, ["export", "--format", "jsonl", "--since", "-1h", "--profile", "rec"]
    )
    assert future.exit_code == 2  # not a time

    recent = await asyncio.to_thread(
        runner.invoke, cli, ["export", "--format", "jsonl", "--since", "1h", "--profile", "rec"]
    )
    assert recent.exit_code == 0 and len(recent.output.splitlines()) == 3

    bad = await asyncio.to_thread(
        runner.invoke,
        cli,
        ["export", "--format", "jsonl", "--filter", "tpye:x", "--profile", "rec"],
    )
    assert bad.exit_code == 2 and "character 1" in bad.output


async def test_csv_on_stdout_escapes_server_text_and_a_file_keeps_it_exact(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    await record_some_history(emulator)
    runner = CliRunner()
    piped = await asyncio.to_thread(
        runner.invoke, cli, ["export", "--format", "csv", "--filter", "odd", "--profile", "rec"]
    )
    assert piped.exit_code == 0, piped.output
    assert "\x1b" not in piped.output
    assert ",[bold]odd\\x1b[31m-key," in piped.output  # printed literally, not as markup
    target = tmp_path / "out.csv"
    to_file = await asyncio.to_thread(
        runner.invoke,
        cli,
        ["export", "--format", "csv", "--filter", "odd", "--profile", "rec", "-o", str(target)],
    )
    assert to_file.exit_code == 0, to_file.output
    assert ",[bold]odd\x1b[31m-key," in target.read_text()


async def test_tail_count_records_the_transition_of_its_last_event(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`tail --profile P --count N` stops on the Nth event only after that event's
    re-evaluation: the flight recorder keeps the value change it was stopped on."""
    from togul_monitor import core

    started: list[Monitor] = []
    real_run_headless = core.run_headless

    @contextlib.asynccontextmanager
    async def spy(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        async with real_run_headless(*args, **kwargs) as pair:
            started.append(pair[0])
            yield pair

    monkeypatch.setattr(core, "run_headless", spy)  # where `tail` looks it up
    out, err = io.StringIO(), io.StringIO()
    profile = make_profile(emulator, name="rec")
    task = asyncio.create_task(
        run_tail(profile, query=None, count=1, as_json=True, out=out, err=err, record=True)
    )
    await wait_for(lambda: started and settled(started[0], "new-dashboard"), what="first value")
    await wait_for(lambda: emulator.open_streams == 1, what="stream")
    await asyncio.to_thread(
        emulator.world.update_flag, "production", "new-dashboard", enabled=False
    )
    assert await asyncio.wait_for(task, 10) == 0
    event_id = json.loads(out.getvalue())["id"]
    assert f"new-dashboard: true → false (event {event_id})" in err.getvalue()
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["history", "new-dashboard", "--profile", "rec", "--json"]
    )
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [(r["kind"], r.get("event_id", r.get("id"))) for r in rows] == [
        ("transition", event_id),
        ("event", event_id),
    ]
