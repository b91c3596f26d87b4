"""`history` and `export` read what a monitor recorded, after that monitor has stopped."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

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
from togul_monitor.store.reader import iter_journal_events, read_environment_names

from .monitors import spy_on_monitors
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


async def test_history_command_after_the_monitor_stopped(emulator_any: EmulatorHandle) -> None:
    events = await record_some_history(emulator_any)
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

    # No such profile and no journal of that name: a usage error, exit 2 as for `tail` (it was
    # 1 once). A profile without a journal yet is a runtime failure, 1.
    missing = await asyncio.to_thread(runner.invoke, cli, ["history", "x", "--profile", "nope"])
    assert missing.exit_code == 2 and "no profile named 'nope'" in missing.stderr
    added = await asyncio.to_thread(
        runner.invoke,
        cli,
        ["profiles", "add", "fresh", "--url", emulator_any.base_url, "--environment", "production",
         "--token-env", "T"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    unrecorded = await asyncio.to_thread(runner.invoke, cli, ["history", "x", "--profile", "fresh"])
    assert unrecorded.exit_code == 1 and "No journal" in unrecorded.output


async def test_export_then_reimport_of_jsonl_gives_the_same_events(
    emulator_any: EmulatorHandle, tmp_path: Path
) -> None:
    events = await record_some_history(emulator_any)
    out = tmp_path / "export.jsonl"
    runner = CliRunner()
    result = await asyncio.to_thread(
        runner.invoke, cli, ["export", "--format", "jsonl", "-o", str(out), "--profile", "rec"]
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "\x1b" not in text  # escaped: safe even when printed
    names: dict[str, str] = {}
    back = list(read_jsonl(text.splitlines(), names))

    # The same events, but for `received_at`: an export keeps its milliseconds (ISO-8601).
    def but_received(e: FlagEvent) -> tuple[object, ...]:
        # Field by field (FlagEvent is a msgspec Struct: dataclasses.replace does not apply).
        return (e.type, e.flag_key, e.environment_id, e.version, e.timestamp, e.event_id)

    assert [but_received(e) for e in back] == [but_received(e) for e in events]
    assert all(
        abs(b.received_at - e.received_at) < 0.001 for b, e in zip(back, events, strict=True)
    )
    assert names == {emulator_any.credentials.environment_ids["production"]: "production"}

    # Re-import into a fresh journal and export again: byte for byte the same.
    journal = Journal.open(tmp_path / "again.sqlite3")
    try:
        assert import_events(journal, back, names) == 3
    finally:
        journal.close()
    buffer = io.StringIO()
    again = tmp_path / "again.sqlite3"
    write_jsonl(iter_journal_events(again), buffer, read_environment_names(again))
    # Only the events are imported (the value changes stay the recorder's).
    assert buffer.getvalue() == "".join(
        f"{line}\n" for line in text.splitlines() if json.loads(line)["kind"] == "event"
    )
    assert list(iter_journal_events(journal_path("rec"))) == events


async def test_export_filter_since_and_csv(emulator_any: EmulatorHandle) -> None:
    await record_some_history(emulator_any)
    runner = CliRunner()
    csv_run = await asyncio.to_thread(
        runner.invoke,
        cli,
        ["export", "--format", "csv", "--filter", "flag:checkout-*", "--profile", "rec"],
    )
    assert csv_run.exit_code == 0, csv_run.output
    lines = csv_run.output.splitlines()
    assert lines[0].startswith("id,type,flag_key")
    assert [line.split(",")[2] for line in lines[1:] if ",event," in line] == ["checkout-v2"]

    env_run = await asyncio.to_thread(
        runner.invoke,
        cli,
        ["export", "--format", "jsonl", "--filter", "env:production -dash", "--profile", "rec"],
    )
    assert env_run.exit_code == 0, env_run.output
    rows = [json.loads(x) for x in env_run.output.splitlines()]
    assert [r["flag_key"] for r in rows if r["kind"] == "event"] == [
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
    assert recent.exit_code == 0
    assert [json.loads(x)["kind"] for x in recent.output.splitlines()].count("event") == 3

    bad = await asyncio.to_thread(
        runner.invoke,
        cli,
        ["export", "--format", "jsonl", "--filter", "tpye:x", "--profile", "rec"],
    )
    assert bad.exit_code == 2 and "character 1" in bad.output


async def test_csv_escapes_server_text_on_stdout_and_in_a_file(
    emulator_any: EmulatorHandle, tmp_path: Path
) -> None:
    """`cat changes.csv` must not run a server's escape sequence: JSONL is the exact export."""
    await record_some_history(emulator_any)
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
    assert "\x1b" not in target.read_text()
    assert ",[bold]odd\\x1b[31m-key," in target.read_text()


async def test_tail_count_records_the_transition_of_its_last_event(
    emulator_any: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`tail --profile P --count N` stops on the Nth event only after that event's
    re-evaluation: the flight recorder keeps the value change it was stopped on."""
    started = spy_on_monitors(monkeypatch)
    out, err = io.StringIO(), io.StringIO()
    profile = make_profile(emulator_any, name="rec")
    task = asyncio.create_task(
        run_tail(profile, query=None, count=1, as_json=True, out=out, err=err, record=True)
    )
    await wait_for(lambda: started and settled(started[0], "new-dashboard"), what="first value")
    await wait_for(lambda: emulator_any.open_streams == 1, what="stream")
    await asyncio.to_thread(
        emulator_any.world.update_flag, "production", "new-dashboard", enabled=False
    )
    assert await asyncio.wait_for(task, 10) == 0
    # The event, then the value it changed, both on stdout (the change was on stderr once).
    line, change = (json.loads(text) for text in out.getvalue().splitlines())
    event_id = line["id"]  # None in the documented stream form, which has no ids
    assert change["kind"] == "transition" and change["event_id"] == event_id
    assert (change["before"]["value"], change["after"]["value"]) == (True, False)
    assert "true → false" not in err.getvalue()
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["history", "new-dashboard", "--profile", "rec", "--json"]
    )
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [(r["kind"], r.get("event_id", r.get("id"))) for r in rows] == [
        ("transition", event_id),
        ("event", event_id),
    ]
