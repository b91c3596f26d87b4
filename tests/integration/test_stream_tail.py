"""`togul-monitor tail` end to end: against the emulator fixture (the monitor's tests in both
stream forms: `emulator_any`, tests/integration/conftest.py), the demo, and Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from click.testing import CliRunner, Result

from togul_monitor import demo
from togul_monitor.cli import cli, tail_loop
from togul_monitor.core.monitor import Monitor
from togul_monitor.emulator.harness import EmulatorHandle

from ..processes import with_default_sigint


@contextmanager
def activity(
    emu: EmulatorHandle, environment: str = "production", every: float = 0.02
) -> Iterator[None]:
    """Toggle a flag every `every` seconds in a background thread while the block runs."""
    stop = threading.Event()

    def produce() -> None:
        enabled = False
        while not stop.wait(every):
            enabled = not enabled
            emu.world.update_flag(environment, "new-dashboard", enabled=enabled)

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def events_of(stdout: str) -> list[dict[str, Any]]:
    """The event lines of `tail --json` (the others are the transitions the events caused)."""
    objects = [json.loads(line) for line in stdout.splitlines()]
    return [o for o in objects if o["kind"] == "event"]


def test_tail_json_count_against_the_emulator(emulator_any: EmulatorHandle) -> None:
    key = emulator_any.credentials.keys["production"]["sdk"]
    args = ["tail", "--url", emulator_any.base_url, "--api-key", key, "--json", "--count", "5"]
    with activity(emulator_any):
        result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 5
    objects = [json.loads(line) for line in lines]
    assert {o["flag_key"] for o in objects} == {"new-dashboard"}
    assert set(objects[0]) == {
        "kind",  # "event"; a value's before → after is a "transition" line
        "type",
        "flag_key",
        "environment_id",
        "environment_key",  # None here: an ad-hoc --url target without --environment
        "version",
        "timestamp",
        "id",
        "received_at",
    }
    versions = [o["version"] for o in objects]
    assert versions == list(range(versions[0], versions[0] + 5))
    assert "live since" in result.stderr  # status goes to stderr, never stdout
    assert key not in result.output


def test_count_on_a_stream_that_never_pauses_waits_for_what_its_events_caused(
    emulator_any: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change every millisecond or so keeps the evaluator busy for good (each answer is
    followed by the next paced call before anyone can see it idle): `--count` waits for the
    re-evaluations its last events caused, sent at once, not for an idle evaluator, which never
    comes. Waiting for that would take the whole limit (30 s here); the bound below is the limit
    the command had before (5 s), which a run that waited for idleness cannot beat."""
    monkeypatch.setattr(tail_loop, "SETTLE_SECONDS", 30.0)
    key = emulator_any.credentials.keys["production"]["sdk"]
    args = ["tail", "--url", emulator_any.base_url, "--api-key", key]
    args += ["--environment", "production", "--json", "--count", "3"]
    with activity(emulator_any, every=0.001):
        started = time.monotonic()
        result = CliRunner().invoke(cli, args)
        took = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert "exiting before" not in result.stderr
    assert len(events_of(result.stdout)) == 3
    assert took < 5.0


def test_tail_human_lines_with_a_filter(emulator_any: EmulatorHandle) -> None:
    key = emulator_any.credentials.keys["production"]["sdk"]
    args = [
        "tail",
        "--url",
        emulator_any.base_url,
        "--api-key",
        key,
        "--environment",
        "production",
        "--filter",
        "flag:new-* env:production",
        "--count",
        "2",
    ]
    with activity(emulator_any):
        result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    # Each value change the events made follows them on a line of its own.
    lines = [line for line in result.stdout.splitlines() if not line.startswith(("  ↳ ", "  ↑ "))]
    assert len(lines) == 2
    for change in set(result.stdout.splitlines()) - set(lines):
        # Under its event; or, when the other event came first, naming its own.
        assert change.startswith(("  ↳ new-dashboard (production): ", "  ↑ new-dashboard v"))
    for line in lines:
        fields = line.split()
        # date, time, type, flag, environment, version
        assert fields[2:5] == ["flag.updated", "new-dashboard", "production"]
        assert fields[5].startswith("v")


def test_tail_exits_3_on_rejected_credentials_and_masks_the_key(emulator: EmulatorHandle) -> None:
    key = emulator.credentials.keys["production"]["sdk"]
    emulator.faults.revoke_key(key)
    result = CliRunner().invoke(cli, ["tail", "--url", emulator.base_url, "--api-key", key])
    assert result.exit_code == 3
    assert "rejected the credentials" in result.stderr
    assert key not in result.output
    assert key[-4:] in result.stderr  # the masked form names it: tgl_sdk_…9f2c
    assert "…" in result.stderr


def test_tail_exits_1_when_the_stream_stops_for_another_reason(emulator: EmulatorHandle) -> None:
    key = emulator.credentials.keys["production"]["sdk"]
    args = ["tail", "--url", emulator.base_url + "/nowhere", "--api-key", key]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert "stopped: stream not found (HTTP 404" in result.stderr


def test_tail_filter_errors_exit_2_with_the_position() -> None:
    result = CliRunner().invoke(cli, ["tail", "--demo", "--filter", "flag:a tpye:x"])
    assert result.exit_code == 2
    assert "invalid --filter" in result.stderr
    assert result.stderr.splitlines()[-1] == "         ^"  # under `tpye:x` (offset 7)


def test_tail_configuration_errors_exit_2() -> None:
    result = CliRunner().invoke(cli, ["tail", "--demo", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 2
    assert "only one of" in result.stderr


def test_tail_demo_json_count_20(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "SIMULATE_EVENTS_PER_SECOND", 200.0)
    demo.shutdown()
    try:
        result = CliRunner().invoke(cli, ["tail", "--demo", "--json", "--count", "20"])
    finally:
        demo.shutdown()
    assert result.exit_code == 0, result.output
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    # The rest: the values they changed (or first told, an event ahead of the start's answer),
    # and (the demo has a token) their configuration diffs.
    lines = [o for o in objects if o["kind"] == "event"]
    assert len(lines) == 20
    assert {o["kind"] for o in objects} <= {"event", "transition", "first_value", "diff"}
    for event in lines:
        assert isinstance(event["flag_key"], str) and isinstance(event["version"], int)


def test_ctrl_c_exits_130(emulator: EmulatorHandle) -> None:
    """Ctrl-C is the shell's 130 (128 + SIGINT), as README.md says; it was 0 once."""
    key = emulator.credentials.keys["production"]["sdk"]
    env = {**os.environ, "TOGUL_API_KEY": key, "TOGUL_BASE_URL": emulator.base_url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "togul_monitor", "tail"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
        preexec_fn=with_default_sigint,
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # blocks until the stream is live
            if "live since" in line:
                break
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def add_local_profile(runner: CliRunner, emulator: EmulatorHandle) -> Result:
    """`profiles add local` (the default) for the emulator's production sdk key."""
    key = emulator.credentials.keys["production"]["sdk"]
    return runner.invoke(
        cli,
        [
            "profiles",
            "add",
            "local",
            "--url",
            emulator.base_url,
            "--environment",
            "production",
            "--api-key",
            key,
            "--default",
        ],
    )


def test_tail_with_a_saved_profile_records_a_journal_that_history_reads(
    emulator: EmulatorHandle,
) -> None:
    # Ids: the tailed events are matched to the journal's by their SSE ids.
    runner = CliRunner()
    added = add_local_profile(runner, emulator)
    assert added.exit_code == 0, added.output
    with activity(emulator):
        result = runner.invoke(cli, ["tail", "--profile", "local", "--json", "--count", "4"])
    assert result.exit_code == 0, result.output
    tailed = [event["id"] for event in events_of(result.stdout)]
    assert len(tailed) == 4

    history = runner.invoke(cli, ["history", "new-dashboard", "--json", "--limit", "500"])
    assert history.exit_code == 0, history.output
    recorded = {json.loads(line).get("id") for line in history.stdout.splitlines()}
    assert set(tailed) <= recorded


def test_tail_no_record_leaves_no_journal(emulator: EmulatorHandle, isolated_home) -> None:
    runner = CliRunner()
    assert add_local_profile(runner, emulator).exit_code == 0
    with activity(emulator):
        result = runner.invoke(cli, ["tail", "--no-record", "--json", "--count", "2"])
    assert result.exit_code == 0, result.output
    assert not list(isolated_home.rglob("*.sqlite3"))


def test_tail_says_when_its_journal_cannot_be_recorded(
    emulator: EmulatorHandle, isolated_home
) -> None:
    # A hostile setup: the journal folder is a file, so nothing can be recorded. The flight
    # recorder must say so on stderr rather than print events as if all were well.
    runner = CliRunner()
    assert add_local_profile(runner, emulator).exit_code == 0
    from togul_monitor.store.journal import journal_path

    journal_dir = journal_path("local").parent
    journal_dir.parent.mkdir(parents=True, exist_ok=True)
    journal_dir.write_text("not a folder")
    with activity(emulator):
        result = runner.invoke(cli, ["tail", "--profile", "local", "--json", "--count", "1"])
    assert result.exit_code == 0, result.output
    assert "tail: not recording:" in result.stderr
    assert len(events_of(result.stdout)) == 1


def test_tail_says_an_unreadable_journal_was_moved_aside(
    emulator: EmulatorHandle, isolated_home
) -> None:
    from togul_monitor.store.journal import journal_path

    runner = CliRunner()
    assert add_local_profile(runner, emulator).exit_code == 0
    path = journal_path("local")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("this is not SQLite")
    with activity(emulator):
        result = runner.invoke(cli, ["tail", "--profile", "local", "--json", "--count", "1"])
    assert result.exit_code == 0, result.output
    assert "tail: " in result.stderr and "unreadable" in result.stderr.lower()
    assert list(path.parent.glob("local.sqlite3.unreadable-*"))


def add_staging_profile(runner: CliRunner, emulator: EmulatorHandle, name: str = "b") -> Result:
    """`profiles add b` for the emulator's staging sdk key (not the default)."""
    key = emulator.credentials.keys["staging"]["sdk"]
    return runner.invoke(
        cli,
        ["profiles", "add", name, "--url", emulator.base_url, "--environment", "staging",
         "--api-key", key],
    )  # fmt: skip


def test_the_group_profile_picks_what_tail_streams(emulator_any: EmulatorHandle) -> None:
    # Both environments busy: each sdk key streams only its own, so the environment id of the
    # event says which profile was tailed.
    from togul_monitor.store.journal import journal_path

    runner = CliRunner()
    assert add_local_profile(runner, emulator_any).exit_code == 0  # production, the default
    assert add_staging_profile(runner, emulator_any).exit_code == 0
    with activity(emulator_any, "production"), activity(emulator_any, "staging"):
        result = runner.invoke(cli, ["--profile", "b", "tail", "--count", "1", "--json"])
    assert result.exit_code == 0, result.output
    (line,) = events_of(result.stdout)
    assert line["environment_id"] == emulator_any.credentials.environment_ids["staging"]
    assert journal_path("b").exists() and not journal_path("local").exists()  # b recorded


def test_the_subcommands_own_target_wins_over_the_groups(emulator_any: EmulatorHandle) -> None:
    runner = CliRunner()
    assert add_local_profile(runner, emulator_any).exit_code == 0
    assert add_staging_profile(runner, emulator_any).exit_code == 0
    args = ["--profile", "b", "tail", "--profile", "local", "--count", "1", "--json"]
    with activity(emulator_any, "production"), activity(emulator_any, "staging"):
        result = runner.invoke(cli, [*args, "--no-record"])
    assert result.exit_code == 0, result.output
    (line,) = events_of(result.stdout)
    production = emulator_any.credentials.environment_ids["production"]
    assert line["environment_id"] == production


def test_count_stops_the_monitors_stream_before_exiting(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At `--count`, `tail` stops the monitor's stream (`Monitor.stop_reading`) while it is still
    open: what arrives afterwards is not read while the last events' effects are waited for."""
    asked_with_open_streams: list[int] = []
    stop_reading = Monitor.stop_reading

    async def spy(self: Monitor) -> None:
        asked_with_open_streams.append(emulator.open_streams)
        await stop_reading(self)

    monkeypatch.setattr(Monitor, "stop_reading", spy)
    key = emulator.credentials.keys["production"]["sdk"]
    args = ["tail", "--url", emulator.base_url, "--api-key", key, "--json", "--count", "2"]
    with activity(emulator):
        result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert len(events_of(result.stdout)) == 2
    assert asked_with_open_streams == [1]
