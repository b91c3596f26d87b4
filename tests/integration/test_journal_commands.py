"""`history` and `export` name environments by key and write ISO-8601 times; a profile that does
not exist is a usage error (exit 2) as for `tail`; an invalid `--filter` is reported once."""

from __future__ import annotations

import asyncio
import csv
import io
import json

from click.testing import CliRunner

from togul_monitor.cli import cli
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.store.export_json import parse_time

from .test_history_export import record_some_history


async def test_history_names_the_environment_by_key(emulator_any: EmulatorHandle) -> None:
    await record_some_history(emulator_any)
    env_id = emulator_any.credentials.environment_ids["production"]
    human = await asyncio.to_thread(
        CliRunner().invoke, cli, ["history", "checkout-v2", "--profile", "rec"]
    )
    assert human.exit_code == 0, human.output
    (event_line,) = [line for line in human.stdout.splitlines() if "  event  " in line]
    assert "env production" in event_line and env_id[:8] not in event_line
    as_json = await asyncio.to_thread(
        CliRunner().invoke, cli, ["history", "checkout-v2", "--profile", "rec", "--json"]
    )
    events = [r for r in map(json.loads, as_json.stdout.splitlines()) if r["kind"] == "event"]
    assert [(e["environment_id"], e["environment_key"]) for e in events] == [(env_id, "production")]


async def test_exports_carry_the_environment_key_and_iso_times(
    emulator_any: EmulatorHandle,
) -> None:
    events = await record_some_history(emulator_any)
    runner = CliRunner()
    jsonl = await asyncio.to_thread(
        runner.invoke, cli, ["export", "--format", "jsonl", "--profile", "rec"]
    )
    assert jsonl.exit_code == 0, jsonl.output
    lines = [json.loads(line) for line in jsonl.stdout.splitlines()]
    rows = [r for r in lines if r["kind"] == "event"]
    assert [r["environment_key"] for r in rows] == ["production"] * 3
    for row, event in zip(rows, events, strict=True):
        assert row["timestamp"].endswith("Z") and parse_time(row["timestamp"]) == event.timestamp
        received = row["received_at"]
        assert received.endswith("Z") and len(received.rsplit(".", 1)[1]) == 4  # `.123Z`
        assert 0 <= event.received_at - parse_time(received) < 0.001  # type: ignore[operator]

    table = await asyncio.to_thread(
        runner.invoke, cli, ["export", "--format", "csv", "--profile", "rec"]
    )
    assert table.exit_code == 0, table.output
    records = [r for r in csv.DictReader(io.StringIO(table.stdout)) if r["kind"] == "event"]
    assert [r["environment_key"] for r in records] == ["production"] * 3
    assert [r["received_at"] for r in records] == [r["received_at"] for r in rows]


async def test_a_profile_that_does_not_exist_is_a_usage_error(emulator_any: EmulatorHandle) -> None:
    await record_some_history(emulator_any)  # the journal of "rec", a profile never configured
    runner = CliRunner()
    for args in (["history", "x", "--profile", "nope"], ["export", "--format", "csv"]):
        result = await asyncio.to_thread(runner.invoke, cli, [*args, "--profile", "nope"])
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(f"{args[0]}: no profile named 'nope'")
        assert result.stdout == ""
    # A journal without a profile (one removed since, say) stays readable.
    readable = await asyncio.to_thread(
        runner.invoke, cli, ["export", "--format", "jsonl", "--profile", "rec"]
    )
    assert readable.exit_code == 0
    assert [json.loads(x)["kind"] for x in readable.stdout.splitlines()].count("event") == 3


def test_an_invalid_export_filter_names_its_position_once() -> None:
    result = CliRunner().invoke(cli, ["export", "--format", "jsonl", "--filter", "flag:a type:"])
    assert result.exit_code == 2
    message, query, caret = result.stderr.splitlines()
    assert message.startswith("export: invalid --filter: type: needs a value")
    assert message.count("character 8") == 1 and result.stderr.count("character") == 1
    assert query == "  flag:a type:" and caret == "         ^"  # under `type:`


def test_the_filter_caret_counts_terminal_cells() -> None:
    # Six wide characters take twelve cells: the caret is under `tpye:`, not under the 4th
    # character; a control character is printed as its escape, which the caret counts too.
    for text, before in (("日本語日本語 tpye:x", 13), ("a\tb tpye:x", 7), ("e\u0301 tpye:x", 2)):
        result = CliRunner().invoke(cli, ["export", "--format", "jsonl", "--filter", text])
        assert result.exit_code == 2, result.output
        _, query, caret = result.stderr.splitlines()
        assert caret == "  " + " " * before + "^", (text, query, caret)
