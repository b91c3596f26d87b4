"""`export -o -` writes to stdout, and `history` words a change the same whatever `--limit`
keeps in view; on a journal written here, no server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from togul_monitor.cli import cli
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.store.journal import Journal, journal_path

OFF = Evaluation(False, "boolean", "default", True)
ON = Evaluation(True, "boolean", "default", True)


def record(events: list[FlagEvent], transitions: list[ValueTransition]) -> None:
    path = journal_path("rec")
    path.parent.mkdir(parents=True, exist_ok=True)
    journal = Journal.open(path)
    journal.append_events(events)
    for transition in transitions:
        journal.append_transition(transition)
    journal.close()


def test_export_to_a_dash_writes_to_stdout(
    isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record([FlagEvent("flag.updated", "k", "env-1", 2, 1, "7", 10.0)], [])
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["export", "--format", "csv", "-o", "-", "--profile", "rec"])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "-").exists()
    header, row = result.stdout.splitlines()
    assert header.startswith("id,type,flag_key,") and row.startswith("7,flag.updated,k,")
    assert "Exported" not in result.stderr


def test_history_words_a_change_alike_whatever_the_limit_keeps_in_view(
    isolated_home: Path,
) -> None:
    # Ids on the stream; a change found by a re-evaluation of its own, after the flag's event.
    event = FlagEvent("flag.updated", "k", "env-1", 2, 1, "7", 10.0)
    found = ValueTransition("k", OFF, ON, None, 20.0, includes_unseen=True)
    record([event], [found])

    def change_line(*limit: str) -> str:
        result = CliRunner().invoke(cli, ["history", "k", "--profile", "rec", *limit])
        assert result.exit_code == 0, result.output
        (line,) = [line for line in result.stdout.splitlines() if "  value  " in line]
        return line

    assert change_line() == change_line("--limit", "1")  # the event out of view
    assert change_line().endswith("(found on re-evaluation)")


def test_history_says_found_of_each_change_as_export_ties_it(isolated_home: Path) -> None:
    # A server's life without ids, then (restarted with --ids) one with: whether a change was
    # found on re-evaluation is the change's, not the journal's, and `history` says what
    # `export` writes.
    plain = FlagEvent("flag.updated", "k", "env-1", 2, 1, None, 10.0)
    answer = ValueTransition("k", OFF, ON, None, 10.5)  # `plain`'s own change
    found = ValueTransition("k", ON, OFF, None, 200.0)  # no event explains it
    record([plain, FlagEvent("flag.updated", "k", "env-1", 3, 1, "1", 300.0)], [answer, found])
    result = CliRunner().invoke(cli, ["history", "k", "--profile", "rec"])
    assert result.exit_code == 0, result.output
    values = [line for line in result.stdout.splitlines() if "  value  " in line]
    assert [line.endswith("(found on re-evaluation)") for line in values] == [True, False]
    result = CliRunner().invoke(cli, ["export", "--format", "jsonl", "-o", "-", "--profile", "rec"])
    assert result.exit_code == 0, result.output
    kinds = [json.loads(line)["kind"] for line in result.stdout.splitlines()]
    assert [kind for kind in kinds if kind in ("transition", "found")] == ["transition", "found"]
    # `history --json` names them as export does (newest first).
    result = CliRunner().invoke(cli, ["history", "k", "--json", "--profile", "rec"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    changes = [line for line in lines if line["kind"] in ("transition", "found")]
    assert [line["kind"] for line in changes] == ["found", "transition"]
    assert "event_id" not in changes[0] and changes[1]["event_id"] is None
