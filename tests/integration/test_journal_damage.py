"""A journal with damaged pages (a real file, its middle pages overwritten): `history` and
`export` exit 1 with a clear message and leave it as it is; a recording `tail` moves it aside,
keeping its bytes, says so once on stderr and records into a new one."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from togul_monitor.cli import cli
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.store.journal import journal_path
from togul_monitor.store.reader import read_event_count

from ..journal_helpers import damage_pages
from .test_stream_tail import activity, add_local_profile, events_of


def test_history_and_export_of_a_damaged_journal_exit_1_without_a_traceback(
    tmp_path: Path,
) -> None:
    path = journal_path("rec")
    path.parent.mkdir(parents=True)
    damaged = damage_pages(path)
    runner = CliRunner()
    out = tmp_path / "out.jsonl"
    for args in (
        ["history", "flag-3", "--profile", "rec"],
        ["export", "--format", "jsonl", "--profile", "rec"],
        ["export", "--format", "csv", "--profile", "rec", "-o", str(out)],
    ):
        result = runner.invoke(cli, args)
        assert result.exit_code == 1, (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert "is damaged" in result.stderr and "moves it aside" in result.stderr
        assert "Traceback" not in result.output and result.stdout == ""
    assert not out.exists()
    assert path.read_bytes() == damaged and not list(path.parent.glob("*.damaged-*"))


def test_a_recording_tail_moves_a_damaged_journal_aside_and_says_so_once(
    emulator: EmulatorHandle,
) -> None:
    runner = CliRunner()
    assert add_local_profile(runner, emulator).exit_code == 0
    path = journal_path("local")
    path.parent.mkdir(parents=True, exist_ok=True)
    damaged = damage_pages(path)
    with activity(emulator):
        result = runner.invoke(cli, ["tail", "--profile", "local", "--json", "--count", "1"])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("is damaged") == 1 and "moved aside" in result.stderr
    (aside,) = path.parent.glob("local.sqlite3.damaged-*")
    assert aside.read_bytes() == damaged
    assert len(events_of(result.stdout)) == 1 and read_event_count(path) >= 1
    history = runner.invoke(cli, ["history", "new-dashboard", "--profile", "local"])
    assert history.exit_code == 0, history.output
