"""The journal's readers other than `history` say which events were evaluated with their flag's
next change, by its rule (domain/merged.py): the feed's rows of earlier runs (store/recorded.py,
ui/view/answers.py), the history pane (core/queries.py, widgets/history_pane.py), `export`
(store/export_window.py) and `e` (ui/export.py). A journal without answer rows reads as before."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.text import Text

from togul_monitor.cli import cli
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.merged import MergedAnswer, merged_events, merged_stream
from togul_monitor.store import reader
from togul_monitor.store.export import write_csv, write_jsonl
from togul_monitor.store.journal import Journal, journal_path
from togul_monitor.store.recorded import read_recorded_changes
from togul_monitor.store.sqlite.reader import SqliteReader
from togul_monitor.ui.view.feed_layout import row_change
from togul_monitor.ui.view.feed_store import FeedStore

from ..journal_backends import JournalBackend


def event(version: int, received_at: float, key: str = "k", env: str = "env-1") -> FlagEvent:
    return FlagEvent("flag.updated", key, env, version, received_at - 0.5, None, received_at)


# v5 answered on its own at 10.2; v6 and v7 came while v8's call waited its second.
V5, V6, V7, V8 = event(5, 10.0), event(6, 20.0), event(7, 20.5), event(8, 21.0)
OTHER = event(1, 20.2, key="other")  # another flag's event, evaluated on its own


def answer(trigger: FlagEvent, since: float, context: str = "default") -> MergedAnswer:
    return MergedAnswer(
        trigger.flag_key,
        trigger.environment_id,
        context,
        since,
        1,  # any version before its own
        trigger.version,
        trigger.received_at,
        trigger.received_at + 0.2,
    )


ANSWERS = [answer(V8, since=10.2)]


# --- the rule, streamed ---------------------------------------------------------------------


def test_the_stream_gives_every_event_in_order_with_historys_marks() -> None:
    events = [V5, V6, OTHER, V7, V8]
    streamed = list(merged_stream(iter(events), ANSWERS))
    assert [e for e, _ in streamed] == events
    assert {e: c for e, c in streamed if c} == merged_events(events, ANSWERS)
    assert dict(streamed)[V6] == ("default",) and dict(streamed)[OTHER] == ()


def test_the_stream_holds_an_event_only_until_its_answers_event_came_by() -> None:
    came: list[FlagEvent] = []

    def events() -> Any:
        for e in (V5, V6, OTHER, V7, V8, event(9, 30.0)):
            came.append(e)
            yield e

    stream = merged_stream(events(), ANSWERS)
    assert next(stream) == (V5, ())  # no answer may cover it: at once
    assert next(stream) == (V6, ("default",)) and came[-1] is V8  # v8 seen: v6 was merged
    # An answer whose event is not among those read (another recorder's clock) claims nothing.
    lost = MergedAnswer("k", "env-1", "default", 10.2, 6, 8, 21.003, 21.2)
    assert all(not c for _, c in merged_stream([V5, V6, V7, V8], [lost]))


# --- the journal: every flag's answers in one query, both backends ---------------------------


def _record(backend: JournalBackend, answers: list[MergedAnswer]) -> list[FlagEvent]:
    journal = backend.open()
    journal.append_events([V5, V6, OTHER, V7, V8])
    for row in answers:
        journal.append_merged_answer(row)
    journal.close()
    return backend.reader().recent_events(10)


def test_every_flags_answers_are_read_at_once(journal_backend: JournalBackend) -> None:
    theirs = answer(event(2, 21.0, key="other"), since=1.0)
    _record(journal_backend, [*ANSWERS, theirs])
    read = journal_backend.reader()
    assert read.merged_answers(None, 0.0, 10) == [*ANSWERS, theirs]
    assert read.merged_answers(None, 0.0, 1) == [theirs]  # the newest
    assert read.merged_answers("k", 0.0, 10) == ANSWERS


def test_the_backfill_marks_the_merged_events(journal_backend: JournalBackend) -> None:
    loaded = _record(journal_backend, ANSWERS)
    got = read_recorded_changes(journal_backend.reader(), loaded)
    marked = {(e.flag_key, e.version): c for e, c in got.merged}
    assert marked == {("k", 6): ("default",), ("k", 7): ("default",)}
    assert all(any(e is row for row in loaded) for e, _ in got.merged)  # the log's own


def test_a_journal_without_answers_backfills_no_marks(journal_backend: JournalBackend) -> None:
    loaded = _record(journal_backend, [])
    assert read_recorded_changes(journal_backend.reader(), loaded).merged == ()


def test_the_backfills_answers_are_one_query_whatever_the_number_of_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "j.sqlite3"
    events = [event(i, 100.0 + i, key=f"f{i % 50}") for i in range(10_000)]
    journal = Journal.open(path)
    journal.append_events(events)
    for i in range(100, 10_000, 50):  # every 50th event of a flag answered two of it
        journal.append_merged_answer(answer(events[i], since=events[i - 50].received_at - 0.1))
    journal.close()
    loaded = reader.read_recent_events(path, 10_000)
    statements: list[str] = []
    connect = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn: sqlite3.Connection = connect(*args, **kwargs)
        conn.set_trace_callback(statements.append)
        return conn

    monkeypatch.setattr(sqlite3, "connect", traced)
    got = read_recorded_changes(SqliteReader(path), loaded)
    assert len(got.merged) == len(range(100, 10_000, 50))
    assert len([s for s in statements if "FROM merged_answers" in s]) == 1, statements


# --- the feed's rows of earlier runs, and `e` --------------------------------------------------


class _Log:
    def __init__(self, rows: list[FlagEvent]) -> None:
        self.rows = rows

    def rows_since(self, position: int) -> tuple[list[FlagEvent], int]:
        return self.rows[position:], len(self.rows)


def _rebuilt(journal_backend: JournalBackend, answers: list[MergedAnswer]) -> FeedStore:
    """The feed at a start: the journal's rows, with what it recorded with them."""
    loaded = _record(journal_backend, answers)
    store = FeedStore()
    store.answers.environment_id = "env-1"
    store.attach(_Log(loaded), len(loaded), boundary=lambda rows: [])
    store.add_recorded(read_recorded_changes(journal_backend.reader(), loaded))
    return store


def _said(store: FeedStore) -> dict[int, str]:
    rows = [row for row in store.view if type(row) is FlagEvent and row.flag_key == "k"]
    return {
        row.version: Text().join(Text(p.text) for p in row_change(row, store)[0]).plain
        for row in rows
    }


def test_a_rebuilt_row_says_it_was_evaluated_with_the_next_change(
    journal_backend: JournalBackend, tmp_path: Path
) -> None:
    store = _rebuilt(journal_backend, ANSWERS)
    with_next = "evaluated with the next change"
    assert _said(store) == {5: "", 6: with_next, 7: with_next, 8: ""}  # as it said live
    from togul_monitor.ui.export import view_export, write_view
    from togul_monitor.ui.view.feed_predicate import FeedPredicate

    path = tmp_path / "e.jsonl"
    write_view(view_export(store), FeedPredicate(), path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    marks = {r["version"]: r.get("evaluated_with_next") for r in lines if r["flag_key"] == "k"}
    assert marks == {5: None, 6: ["default"], 7: ["default"], 8: None}


def test_a_rebuilt_row_of_a_journal_without_answers_says_nothing(
    journal_backend: JournalBackend,
) -> None:
    assert set(_said(_rebuilt(journal_backend, [])).values()) == {""}


# --- `export` ----------------------------------------------------------------------------------


def test_export_writes_historys_marks(journal_backend: JournalBackend) -> None:
    loaded = _record(journal_backend, ANSWERS)
    answers = journal_backend.reader().merged_answers(None, 0.0, 100)
    out = io.StringIO()
    write_jsonl(loaded, out, answers=answers)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    marks = [(r["flag_key"], r["version"], r.get("evaluated_with_next")) for r in lines]
    assert marks == [
        ("k", 5, None),
        ("k", 6, ["default"]),
        ("other", 1, None),
        ("k", 7, ["default"]),
        ("k", 8, None),
    ]
    out = io.StringIO()
    write_csv(loaded, out, answers=answers, keep=lambda e: e.version != 6)  # a filter
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["version"], r["evaluated_with_next"]) for r in rows] == [
        ("5", ""),
        ("1", ""),
        ("7", "default"),
        ("8", ""),
    ]


def _export(home: Path, answers: list[MergedAnswer], fmt: str) -> str:
    path = journal_path("rec")
    path.parent.mkdir(parents=True, exist_ok=True)
    journal = Journal.open(path)
    journal.append_events([V5, V6, OTHER, V7, V8])
    for row in answers:
        journal.append_merged_answer(row)
    journal.close()
    result = CliRunner().invoke(cli, ["export", "--profile", "rec", "--format", fmt])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_export_command_says_what_history_says(isolated_home: Path) -> None:
    lines = [json.loads(line) for line in _export(isolated_home, ANSWERS, "jsonl").splitlines()]
    marks = {r["version"]: r.get("evaluated_with_next") for r in lines if r["flag_key"] == "k"}
    assert marks == {5: None, 6: ["default"], 7: ["default"], 8: None}
    rows = list(csv.DictReader(io.StringIO(_export(isolated_home, [], "csv"))))
    assert rows and all(row["evaluated_with_next"] == "" for row in rows)  # no rows: nothing


# --- the history pane -------------------------------------------------------------------------


def test_the_history_read_answers_with_the_journals_marks(journal_backend: JournalBackend) -> None:
    from togul_monitor.core.queries import flag_merged

    journal = journal_backend.open()
    try:
        journal.append_events([V5, V6, OTHER, V7, V8])
        journal.append_merged_answer(ANSWERS[0])
        assert journal.flush()
        entries = journal.history("k", 10)
        marks = flag_merged(journal, "k", entries)
    finally:
        journal.close()
    assert {e.version: c for e, c in marks.items()} == {6: ("default",), 7: ("default",)}
    assert flag_merged(None, "k", entries) == {}  # no journal: nothing claimed


def test_the_history_worker_hands_the_marks_to_the_pane() -> None:
    from togul_monitor.ui.screens.main_jobs import read_history

    class Handle:
        def history(self, flag_key: str, limit: int = 500) -> list[FlagEvent]:
            return [V8, V7, V6, V5]

        def evaluated_with_next(self, flag_key: str, entries: Any) -> dict[FlagEvent, Any]:
            return merged_events(entries, ANSWERS)

    posted: list[Any] = []
    read_history(posted.append, Handle(), "k", 3)  # type: ignore[arg-type]
    assert posted[0].with_next == {V6: ("default",), V7: ("default",)}
