"""A last value in doubt (store/model.py `LastValue.in_doubt`, core/doubt.py): a run that stops
while a value may hide changes it did not see leaves the journal that doubt, and the next run
keeps the value's mark whatever its replay proves of the time between the runs. Written and read
back by both backends; a row without it (a program that did not keep it, or an older program's
rewrite of the row) reads as in doubt."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from togul_monitor.core.doubt import JournalledDoubt
from togul_monitor.core.evaluation import Evaluations
from togul_monitor.domain.flag_values import FlagValues
from togul_monitor.domain.values import Evaluation
from togul_monitor.store.journal import LastValue, open_journal_at, open_reader_at

from ..journal_backends import JournalBackend, fresh_schema_url

ON = Evaluation(True, "boolean", "rule_match", True)
OFF = Evaluation(False, "boolean", "default", True)
T = time.time() - 600


def test_the_doubt_is_written_and_read_back(journal_backend: JournalBackend) -> None:
    journal = journal_backend.open()
    try:
        journal.set_last_value("f", ON, T, in_doubt=True)
        journal.set_last_value("g", OFF, T)
        journal.set_last_value("h", ON, T, in_doubt=True)
        journal.set_last_value("h", ON, T + 1)  # read again: no longer in doubt
        assert journal.flush()
    finally:
        journal.close()
    values = journal_backend.reader().last_values()["default"]
    assert values["f"] == LastValue("f", ON, T, False, "default", None, True)
    assert not values["g"].in_doubt and not values["h"].in_doubt


def test_a_sqlite_row_without_the_column_reads_in_doubt(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = open_journal_at("p", path)
    journal.set_last_value("f", ON, T)
    assert journal.flush()
    journal.close()
    with sqlite3.connect(path) as conn:  # as a program before the column left it
        conn.execute("ALTER TABLE context_last_values DROP COLUMN certain_at")
    assert open_reader_at("p", path).last_values()["default"]["f"].in_doubt
    journal = open_journal_at("p", path)  # a recorder adds it back: the old row NULL
    journal.close()
    assert open_reader_at("p", path).last_values()["default"]["f"].in_doubt


def test_a_postgres_row_an_older_program_rewrote_reads_in_doubt() -> None:
    import psycopg

    with fresh_schema_url() as url:
        journal = open_journal_at("p", url)
        journal.set_last_value("f", ON, T)
        assert journal.flush()
        journal.close()
        with psycopg.connect(url) as conn:  # an older program's upsert: the column left as is
            conn.execute(
                "INSERT INTO context_last_values (profile, flag_key, evaluation, at, deleted,"
                " context) VALUES ('p', 'f', NULL, %s, 0, 'default') ON CONFLICT (profile,"
                " context, flag_key) DO UPDATE SET evaluation = excluded.evaluation,"
                " at = excluded.at",
                (T + 1,),
            )
        reader = open_reader_at("p", url)
        try:
            assert reader.last_values()["default"]["f"].in_doubt
        finally:
            reader.close()


class _Rows:
    """A journal's last values as `JournalledDoubt` writes them: flag → in doubt."""

    def __init__(self) -> None:
        self.rows: dict[str, bool] = {}
        self.writes = 0

    def set_last_value(self, flag_key: str, *args: Any, in_doubt: bool, **kw: Any) -> None:
        self.rows[flag_key] = in_doubt
        self.writes += 1


def test_a_mark_puts_the_row_in_doubt_until_an_answer_or_a_proof_takes_it_back() -> None:
    values, doubt, rows = FlagValues(), JournalledDoubt(), _Rows()
    journal: Any = rows
    for key in ("a", "b"):
        values.record(key, ON, event_id=None, at=T)
    values.ensure("c")  # never answered: no row to put in doubt
    values.mark_unseen(("a",))  # a possible gap
    doubt.sync(values, journal)
    assert rows.rows == {"a": True}
    values.mark_unseen()  # an outage that may have missed changes
    doubt.sync(values, journal)
    assert rows.rows == {"a": True, "b": True}
    values.record("b", ON, event_id=None, at=T + 1)  # read again
    assert doubt.changed(values, "b") and not doubt.changed(values, "a")
    doubt.set_last(values, journal, "b", ON, T + 1)
    values.unseen.unmark_outage()  # proved whole: the gap's mark of "a" stays
    doubt.sync(values, journal)
    assert rows.rows == {"a": True, "b": False} and rows.writes == 3


def test_a_remembered_value_is_in_doubt_only_once_the_time_between_the_runs_is_told_unproven() -> (
    None
):
    values, doubt, rows = FlagValues(), JournalledDoubt(), _Rows()
    journal: Any = rows
    values.seed("a", ON, T, dated=True)
    doubt.sync(values, journal)
    assert rows.rows == {}  # the next run's outage covers that time while it is undecided
    values.mark_unseen()  # told as one that may have missed changes
    doubt.sync(values, journal)
    assert rows.rows == {"a": True}


def test_a_value_the_journal_kept_in_doubt_keeps_its_mark_through_the_next_runs_proof() -> None:
    evaluations = Evaluations(lambda update: None, time.time, watched=(), retry_delay=1.0)
    memory = {
        "doubted": LastValue("doubted", ON, T, False, in_doubt=True),
        "sure": LastValue("sure", ON, T, False),
    }
    evaluations.seed(memory, (), dated=True)
    evaluations.values.unseen.unmark_remembered()  # the replay proved the time between runs
    assert set(evaluations.values.unseen) == {"doubted"}
    assert not evaluations.doubt.changed(evaluations.values, "doubted")


def test_a_hand_over_writes_its_values_doubt_and_keeps_the_gone_recorders(tmp_path: Path) -> None:
    from togul_monitor.core.takeover import hand_over, read_taken
    from togul_monitor.domain.event_log import EventLog
    from togul_monitor.store.journal import Journal

    path = tmp_path / "p.sqlite3"
    first = Journal.open(path)
    first.set_last_value("gone", ON, T + 3, in_doubt=True)  # the gone recorder's doubt
    first.set_last_value("read", ON, T, in_doubt=True)
    first.set_last_value("f", ON, T)
    first.close()
    values = FlagValues()
    values.record("gone", ON, event_id=None, at=T + 1)  # before the gone recorder's doubt
    values.record("read", ON, event_id=None, at=T + 1)  # read again since: no doubt now
    values.record("f", ON, event_id=None, at=T + 2)
    values.record("g", OFF, event_id=None, at=T + 2)
    values.mark_unseen(("f", "g"))  # a gap this run saw: "f" is in doubt, unanswered since
    journal = Journal.open(path)
    taken = read_taken(journal)
    hand_over(taken, EventLog(10), 0, [], {"default": values}, T + 5)
    doubt = JournalledDoubt()
    doubt.adopt(values, journal, {key for _, key in taken.held.doubted})
    journal.close()
    rows = open_reader_at("p", path).last_values()["default"]
    assert rows["f"].in_doubt and rows["g"].in_doubt and rows["gone"].in_doubt
    assert not rows["read"].in_doubt
    assert doubt.changed(values, "gone")  # its next answer writes it again
