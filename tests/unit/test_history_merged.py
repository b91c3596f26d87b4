"""`history` says which events were evaluated with their flag's next change (domain/merged.py,
cli/history_lines.py), from the answers a recorder journals (core/answered.py): one row per
answer that may have covered several events, never one per event; nothing claimed for events
no answer row speaks of (a journal recorded before these rows were kept)."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from togul_monitor.cli import cli
from togul_monitor.cli.history_lines import history_json, merged_line
from togul_monitor.core.answered import AnswerRanges
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.merged import MergedAnswer, merged_events
from togul_monitor.store.journal import Journal, journal_path, open_journal_at, open_reader_at
from togul_monitor.store.postgres.schema import MIGRATIONS, SCHEMA_VERSION

from ..journal_backends import JournalBackend, fresh_schema_url


def event(version: int, received_at: float, env: str = "env-1", key: str = "k") -> FlagEvent:
    return FlagEvent("flag.updated", key, env, version, received_at - 0.5, None, received_at)


V5, V6, V7, V8 = event(5, 10.0), event(6, 20.0), event(7, 20.5), event(8, 21.0)


def answer(
    trigger: FlagEvent,
    since: float,
    context: str = "default",
    at: float | None = None,
    first: int = 1,
) -> MergedAnswer:
    """`first`: the first version it may have covered (1: any before its own)."""
    at = trigger.received_at + 0.2 if at is None else at
    return MergedAnswer(
        trigger.flag_key,
        trigger.environment_id,
        context,
        since,
        first,
        trigger.version,
        trigger.received_at,
        at,
    )


# --- which events -------------------------------------------------------------------------------


def test_the_events_before_the_answered_one_since_the_last_answer_were_evaluated_with_it() -> None:
    # v5 answered on its own at 10.2; v6 and v7 came while v8's call waited its second.
    found = merged_events([V8, V7, V6, V5], [answer(V8, since=10.2)])
    assert found == {V6: ("default",), V7: ("default",)}


def test_no_answer_row_claims_nothing() -> None:
    """A journal recorded before answers were kept: every event reads as it always did."""
    assert merged_events([V8, V7, V6, V5], []) == {}


def test_an_answer_whose_event_is_not_among_those_read_claims_nothing() -> None:
    # Another recorder's answer (its own received time), or an event out of view.
    other = MergedAnswer("k", "env-1", "default", 10.2, 6, 8, 21.003, 21.2)
    assert merged_events([V8, V7, V6, V5], [other]) == {}


def test_events_of_one_read_are_told_apart_by_version() -> None:
    first, second = event(6, 20.0), event(7, 20.0)
    assert merged_events([second, first], [answer(second, since=10.2)]) == {first: ("default",)}


def test_another_environments_events_of_the_flag_are_not_its_answers() -> None:
    staging = event(6, 20.2, env="env-2")
    assert merged_events([V8, staging, V7], [answer(V8, since=10.2)]) == {V7: ("default",)}


def test_each_context_says_for_itself() -> None:
    rows = [answer(V8, since=10.2, context="free"), answer(V8, since=20.2, context="premium")]
    found = merged_events([V8, V7, V6, V5], rows)
    assert found == {V6: ("free",), V7: ("free", "premium")}


# --- the lines --------------------------------------------------------------------------------


def test_the_line_is_tails() -> None:
    line = merged_line(V7, ("default",), {"env-1": "production"}, {"default"})
    assert line == "  ↳ k (production): v7 evaluated with the next change"


def test_the_line_names_the_contexts_when_not_all_of_them() -> None:
    every = {"free", "premium"}
    assert merged_line(V7, ("free",), {}, every).startswith("  ↳ k [free] (env-1): ")
    assert merged_line(V7, ("free", "premium"), {}, every).startswith("  ↳ k (env-1): v7 ")


def test_the_line_escapes_server_text() -> None:
    odd = event(3, 5.0, env="\x1b[2J", key="[bold]x\x1b")
    line = merged_line(odd, ("default",), {}, ())
    assert "\x1b" not in line and "\\x1b" in line


def test_json_has_the_contexts_only_when_the_journal_says() -> None:
    assert history_json(V7, with_next=("default",))["evaluated_with_next"] == ["default"]
    assert "evaluated_with_next" not in history_json(V5)


# --- what a recorder journals -------------------------------------------------------------------


def test_an_event_answered_on_its_own_journals_nothing() -> None:
    ranges = AnswerRanges("default")
    assert ranges.answered("k", 1.0, None) is None  # the start's first value
    ranges.asked(V5)
    assert ranges.answered("k", 10.2, None) is None


def test_an_answer_after_two_batches_of_a_flag_is_journalled() -> None:
    ranges = AnswerRanges("default")
    ranges.answered("k", 1.0, None)
    ranges.asked(V6)  # alone in its batch: the first the answer covers
    ranges.asked(V7)  # v6 still waits
    assert ranges.answered("k", 21.0, None) == answer(V7, since=1.0, at=21.0, first=6)


def test_a_batch_of_several_events_may_have_merged() -> None:
    ranges = AnswerRanges("free")
    ranges.asked(V5)
    ranges.answered("k", 10.2, None)
    ranges.asked(V7, V6)  # the first of its flag in its batch: v6
    assert ranges.answered("k", 21.0, None) == answer(
        V7, since=10.2, context="free", at=21.0, first=6
    )


def test_a_flags_first_answer_of_the_run_begins_its_range_at_its_first_event() -> None:
    ranges = AnswerRanges("default")
    ranges.asked(V6, V5)  # no answer yet in this run (a flag the batch's first event created)
    row = ranges.answered("k", 21.0, None)
    assert row == answer(V6, since=math.nextafter(V5.received_at, -math.inf), at=21.0, first=5)
    assert merged_events([V5, V6], [row]) == {V5: ("default",)}


def test_a_deletion_and_refused_credentials_start_afresh() -> None:
    ranges = AnswerRanges("default")
    ranges.answered("k", 1.0, None)
    ranges.asked(V7, V6)
    ranges.deleted("k", 22.0)
    ranges.asked(V8)
    assert ranges.answered("k", 23.0, None) is None  # the deletion answered v7
    ranges.asked(V8, V7)
    ranges.clear()  # the credentials were refused
    assert ranges.answered("k", 30.0, None) is None


# --- the journal, both backends ---------------------------------------------------------------


def test_answers_are_journalled_and_read_back(journal_backend: JournalBackend) -> None:
    rows = [answer(V6, since=1.0), answer(V7, since=10.0, first=6), answer(V8, since=20.7, first=7)]
    journal = journal_backend.open()
    try:
        for row in rows:
            journal.append_merged_answer(row)
        journal.append_merged_answer(answer(event(2, 21.0, key="other"), since=1.0))
        assert journal.flush()
    finally:
        journal.close()
    reader = journal_backend.reader()
    assert reader.merged_answers("k", 0.0, 10) == rows  # oldest first
    assert reader.merged_answers("k", 20.6, 10) == rows[1:]  # came at or after
    assert reader.merged_answers("k", 0.0, 2) == rows[1:]  # the newest


def test_a_sqlite_journal_made_before_answers_reads_none(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    open_journal_at("p", path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE merged_answers")
    assert open_reader_at("p", path).merged_answers("k", 0.0, 10) == []
    journal = open_journal_at("p", path)  # a recorder adds the table
    journal.append_merged_answer(answer(V8, since=1.0))
    journal.close()
    assert open_reader_at("p", path).merged_answers("k", 0.0, 10) == [answer(V8, since=1.0)]


def test_a_postgres_journal_of_version_4_reads_none_until_a_recorder_migrates_it() -> None:
    import psycopg

    with fresh_schema_url() as url:
        with psycopg.connect(url) as conn:  # what a recorder of version 4 made
            for version in (1, 2, 3, 4):
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)  # type: ignore[arg-type]
            conn.execute("CREATE TABLE schema_version (version integer NOT NULL)")
            conn.execute("INSERT INTO schema_version VALUES (4)")
        reader = open_reader_at("p", url)
        try:
            assert reader.merged_answers("k", 0.0, 10) == []
            journal = open_journal_at("p", url)  # migrates to the newest version
            journal.append_merged_answer(answer(V8, since=1.0))
            journal.close()
            assert reader.merged_answers("k", 0.0, 10) == [answer(V8, since=1.0)]
            open_journal_at("p", url).close()  # a second recorder: nothing left to run
        finally:
            reader.close()
        with psycopg.connect(url) as conn:
            version = conn.execute("SELECT version FROM schema_version").fetchall()
        assert version == [(SCHEMA_VERSION,)] and SCHEMA_VERSION >= 5


# --- `history` -----------------------------------------------------------------------------------


def _record(answers: list[MergedAnswer]) -> None:
    path = journal_path("rec")
    path.parent.mkdir(parents=True, exist_ok=True)
    journal = Journal.open(path)
    journal.append_events([V5, V6, V7, V8])
    for row in answers:
        journal.append_merged_answer(row)
    journal.close()


def _history(*options: str) -> list[str]:
    result = CliRunner().invoke(cli, ["history", "k", "--profile", "rec", *options])
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def test_history_says_it_under_the_merged_events_only(isolated_home: Path) -> None:
    _record([answer(V8, since=10.2)])
    lines = _history()
    said = [(lines[i - 1].split()[-3], line) for i, line in enumerate(lines) if "↳" in line]
    assert said == [  # under its event, whose line ends `vN  env env-1` (no ids)
        ("v7", "  ↳ k (env-1): v7 evaluated with the next change"),
        ("v6", "  ↳ k (env-1): v6 evaluated with the next change"),
    ]
    rows = [json.loads(line) for line in _history("--json")]
    assert [row["version"] for row in rows] == [8, 7, 6, 5]
    assert [row.get("evaluated_with_next") for row in rows] == [
        None,
        ["default"],
        ["default"],
        None,
    ]


def test_history_of_a_journal_without_answers_reads_as_before(isolated_home: Path) -> None:
    _record([])
    assert not [line for line in _history() if "↳" in line]
    assert all("evaluated_with_next" not in json.loads(line) for line in _history("--json"))
