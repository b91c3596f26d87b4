"""What an answer row covers, and how long a reader holds events for it (domain/merged.py,
core/answered.py): by the flag's versions, which every recorder of a shared journal agrees on,
not by one recorder's clock; and a reader's hold is bounded in time and in events."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from togul_monitor.client.evaluate import EvaluateResult, Outcome
from togul_monitor.core.answered import AnswerRanges
from togul_monitor.core.evaluation import Evaluations
from togul_monitor.domain import merged
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.merged import HOLD_SECONDS, MergedAnswer, merged_events, merged_stream
from togul_monitor.domain.values import Evaluation
from togul_monitor.store.journal import Journal, open_journal_at, open_reader_at
from togul_monitor.store.postgres.schema import MIGRATIONS

from ..journal_backends import JournalBackend, fresh_schema_url


def event(version: int, received_at: float, key: str = "x") -> FlagEvent:
    return FlagEvent("flag.updated", key, "prod", version, 1e9 + version, str(version), received_at)


# --- a shared journal: another recorder's stamps ------------------------------------------------

# Recorder B answered v1, then v2 on its own (B received v2 at 10.00, answered at 10.03); A
# received v2 at 10.05 and wrote it first, so the journal holds A's stamp; B then merged v3 and
# v4 into one answer (since: its previous answer, 10.03).
V1, V2_AS_A, V3, V4 = event(1, 9.0), event(2, 10.05), event(3, 11.0), event(4, 11.1)


def test_an_event_answered_on_its_own_and_stamped_later_by_another_recorder_is_not_claimed() -> (
    None
):
    row = MergedAnswer("x", "prod", "default", 10.03, 3, 4, 11.1, 11.6)
    assert merged_events([V1, V2_AS_A, V3, V4], [row]) == {V3: ("default",)}  # not v2


def test_the_recorder_journals_the_first_version_its_answer_covered() -> None:
    b = AnswerRanges("default")
    b.asked(event(1, 9.0))
    assert b.answered("x", 9.3, None) is None
    b.asked(event(2, 10.0))  # B's own stamp of v2
    assert b.answered("x", 10.03, None) is None
    b.asked(V3)
    b.asked(V4)  # v3 still waits
    row = b.answered("x", 11.6, None)
    assert row == MergedAnswer("x", "prod", "default", 10.03, 3, 4, 11.1, 11.6)
    assert merged_events([V1, V2_AS_A, V3, V4], [row]) == {V3: ("default",)}


# --- which version came first: told per flag, through Evaluations.on_events ---------------------

OK_VALUE = EvaluateResult(Outcome.OK, Evaluation(True, "boolean", "default", True), 200)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    journal = open_journal_at("p", tmp_path / "j.sqlite3")
    yield journal
    journal.close()


def _recorder(journal: Journal, keys: tuple[str, ...]) -> tuple[Evaluations, list[float]]:
    """A recorder of a SQLite journal whose start answered each of `keys` (no event)."""
    now = [1.0]
    e = Evaluations(lambda update: None, lambda: now[0], watched=(), retry_delay=0)
    e.seed({}, keys)
    e.journal = journal
    for key in keys:
        e._on_result(key, None, OK_VALUE, False)  # the start's own evaluation
    return e, now


def _answer(e: Evaluations, now: list[float], at: float, last: FlagEvent) -> list[MergedAnswer]:
    """The answer to `last` comes at `at`: the rows of its flag the journal reads back."""
    now[0] = at
    e._on_result(last.flag_key, last.event_id, OK_VALUE, False)
    assert e.journal is not None and e.journal.flush()
    return e.journal.merged_answers(last.flag_key, 0.0, 10)


def test_the_first_burst_after_the_start_is_told(journal: Journal) -> None:
    e, now = _recorder(journal, ("x",))
    v10, v11 = event(10, 5.0), event(11, 5.0)  # the first read of the stream holds both
    e.on_events([v10, v11])
    rows = _answer(e, now, 6.0, v11)
    assert rows == [MergedAnswer("x", "prod", "default", 1.0, 10, 11, 5.0, 6.0)]
    assert merged_events([v10, v11], rows) == {v10: ("default",)}  # not "unchanged"


def test_a_flag_alone_beside_another_flags_deletion_or_burst_is_told_by_its_own_events(
    journal: Journal,
) -> None:
    e, now = _recorder(journal, ("x", "y", "z"))
    gone = FlagEvent("flag.deleted", "y", "prod", 8, 1e9, "y8", 5.0)
    v3, z1, z2 = event(3, 5.0), event(1, 5.0, key="z"), event(2, 5.0, key="z")
    e.on_events([v3, gone, z1, z2])  # x came alone; z twice
    v4 = event(4, 5.5)
    e.on_events([v4])  # while v3's answer waits
    rows = _answer(e, now, 6.0, v4)
    assert rows == [MergedAnswer("x", "prod", "default", 1.0, 3, 4, 5.5, 6.0)]
    assert merged_events([v3, v4], rows) == {v3: ("default",)}
    assert _answer(e, now, 6.1, z2) == [MergedAnswer("z", "prod", "default", 1.0, 1, 2, 5.0, 6.1)]
    e.on_events([event(5, 7.0), event(1, 7.0, key="z")])  # x alone again, beside z alone
    assert _answer(e, now, 7.5, event(5, 7.0)) == rows  # claims nothing: no second row


def test_events_asked_about_while_evaluation_was_halted_journal_no_row(journal: Journal) -> None:
    """Refused credentials: the events meanwhile were asked of nobody, and the answer after the
    halt is every flag's re-evaluation, not theirs (docs/journal.md)."""
    e, now = _recorder(journal, ("x",))
    e._on_result("x", None, EvaluateResult(Outcome.REJECTED, status=401, message="no"), False)
    e.on_events([event(5, 5.0)])
    e.on_events([event(6, 5.5)])
    e.reevaluate_all()  # the user asks again: the halt is lifted
    assert _answer(e, now, 6.0, event(6, 5.5)) == []


def test_a_flag_deleted_and_created_again_in_one_batch_starts_from_its_new_versions() -> None:
    e = Evaluations(lambda update: None, lambda: 1.0, watched=(), retry_delay=0)
    e.seed({}, ("x",))
    e._on_result("x", None, OK_VALUE, False)
    gone = FlagEvent("flag.deleted", "x", "prod", 9, 1e9, "x9", 5.0)
    e.on_events([event(8, 5.0), gone, event(1, 5.0), event(2, 5.0)])
    row = e.ranges.answered("x", 6.0, None)
    assert row is not None and (row.first_version, row.version) == (1, 2)


def test_a_restarted_servers_lower_versions_journal_no_row_while_an_older_one_waits() -> None:
    ranges = AnswerRanges("default")
    ranges.asked(event(7, 5.0))
    ranges.answered("x", 5.2, None)
    ranges.asked(event(8, 6.0))
    # Versions started again while v8 waits: the range is unknown.
    ranges.asked(event(2, 9.0), event(1, 9.0))
    assert ranges.answered("x", 9.5, None) is None
    ranges.asked(event(3, 10.0))
    ranges.asked(event(4, 10.1))  # the new versions, after an answer: told again
    row = ranges.answered("x", 10.5, None)
    assert row is not None and (row.since, row.first_version, row.version) == (9.5, 3, 4)


# --- a reader's hold is bounded ----------------------------------------------------------------


def _counted(events: list[FlagEvent], read: list[FlagEvent]) -> Iterator[FlagEvent]:
    for e in events:
        read.append(e)
        yield e


def test_an_answer_delayed_long_holds_events_for_hold_seconds_at_most() -> None:
    # x failing to evaluate for three minutes while other flags keep coming (10 events/s): its
    # answer at last covers every x event since; the older ones are handed on unclaimed.
    events = [
        event(i, 1000.0 + i / 10, key="x" if i % 100 == 0 else f"f{i % 7}") for i in range(1, 1801)
    ]
    answered = events[1699]  # x's v1700, at 1170.0
    row = MergedAnswer("x", "prod", "default", 999.0, 1, 1700, answered.received_at, 1171.0)
    read: list[FlagEvent] = []
    held = 0
    marked: list[int] = []
    for handed, (e, contexts) in enumerate(merged_stream(_counted(events, read), [row]), 1):
        held = max(held, len(read) - handed)
        if contexts:
            marked.append(e.version)
    assert held <= HOLD_SECONDS * 10 + 1  # a minute of events, not three
    assert marked == [1100, 1200, 1300, 1400, 1500, 1600]  # the last minute's x events


def test_a_reader_holds_at_most_max_held_events(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(merged, "MAX_HELD", 100)
    events = [event(i, 1000.0 + i / 1000, key="x" if i == 1 else "y") for i in range(1, 1001)]
    late = event(1000, 1000.9999, key="x")
    row = MergedAnswer("x", "prod", "default", 999.0, 1, 1000, late.received_at, 1001.5)
    read: list[FlagEvent] = []
    stream = merged_stream(_counted([*events, late], read), [row])
    assert next(stream) == (events[0], ())  # handed on unclaimed: the answer came too late
    assert len(read) == 101
    assert all(not c for _, c in stream)


# --- the journal: the first version round trip, and rows without it ------------------------------


def _row(first: int) -> MergedAnswer:
    return MergedAnswer("x", "prod", "default", 10.03, first, 4, 11.1, 11.6)


def test_the_first_version_is_journalled_and_a_row_without_it_claims_nothing(
    journal_backend: JournalBackend,
) -> None:
    journal = journal_backend.open()
    try:
        journal.append_merged_answer(_row(3))
        assert journal.flush()
    finally:
        journal.close()
    # A row of a program that did not keep the first version (NULL): read as none.
    columns = "flag_key, environment_id, context, since, version, received_at, at"
    values = ("x", "prod", "default", 10.03, 4, 11.1, 11.7)
    if journal_backend.name == "sqlite":
        with sqlite3.connect(journal_backend.target) as conn:
            conn.execute(f"INSERT INTO merged_answers ({columns}) VALUES (?,?,?,?,?,?,?)", values)
    else:
        import psycopg

        with psycopg.connect(str(journal_backend.target)) as conn:
            conn.execute(
                f"INSERT INTO merged_answers (profile, {columns})"  # type: ignore[arg-type]
                " VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
                (journal_backend.profile, *values),
            )
    assert journal_backend.reader().merged_answers("x", 0.0, 10) == [_row(3)]


def test_a_sqlite_table_without_the_first_version_reads_none_until_a_recorder_adds_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite3"
    open_journal_at("p", path).close()
    with sqlite3.connect(path) as conn:  # the table as the program before kept it
        conn.execute("ALTER TABLE merged_answers DROP COLUMN first_version")
        conn.execute(
            "INSERT INTO merged_answers (flag_key, environment_id, context, since, version,"
            " received_at, at) VALUES ('x', 'prod', 'default', 10.03, 4, 11.1, 11.6)"
        )
    assert open_reader_at("p", path).merged_answers("x", 0.0, 10) == []
    journal = open_journal_at("p", path)  # adds the column: the old row stays NULL
    journal.append_merged_answer(_row(3))
    journal.close()
    assert open_reader_at("p", path).merged_answers("x", 0.0, 10) == [_row(3)]


def test_a_postgres_database_of_step_5_gets_the_first_version_without_a_new_step() -> None:
    import psycopg

    with fresh_schema_url() as url:
        with psycopg.connect(url) as conn:  # what a recorder made before the column came
            for version in range(1, 6):
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)  # type: ignore[arg-type]
            conn.execute("CREATE TABLE schema_version (version integer NOT NULL)")
            conn.execute("INSERT INTO schema_version VALUES (5)")
        reader = open_reader_at("p", url)
        try:
            assert reader.merged_answers("x", 0.0, 10) == []
            journal = open_journal_at("p", url)  # adds the column (ADDED_COLUMNS)
            journal.append_merged_answer(_row(3))
            journal.close()
            assert reader.merged_answers("x", 0.0, 10) == [_row(3)]
        finally:
            reader.close()


# --- the words --------------------------------------------------------------------------------


def test_tail_the_feed_and_its_detail_say_it_in_historys_one_wording() -> None:
    from togul_monitor.cli import tail_marks
    from togul_monitor.ui.view.contexts import STATE_WORDS
    from togul_monitor.ui.view.feed_layout import STATUS_TEXTS

    # The same object, not a copy that may drift: each imports domain/merged.py's.
    assert tail_marks.WITH_NEXT is merged.WITH_NEXT
    assert STATUS_TEXTS["with-next"][0] is merged.WITH_NEXT
    assert STATE_WORDS["with-next"] is merged.WITH_NEXT


@pytest.mark.parametrize(("versions", "asked_for"), [((5,), "5"), ((5, 6), None)])
def test_r_after_a_halt_asks_for_the_one_event_that_came_meanwhile_never_one_of_two(
    journal: Journal, versions: tuple[int, ...], asked_for: str | None
) -> None:
    """One event while nobody was asked: the answer after `r` is its effect. Two: no one answer
    tells which of them changed the value, so it is found by `r`, tied to neither (the newer one
    would read as the change's cause, the older as evaluated and unchanged)."""
    e, now = _recorder(journal, ("x",))
    e._on_result("x", None, EvaluateResult(Outcome.REJECTED, status=401, message="no"), False)
    for version in versions:
        e.on_events([event(version, 5.0)])
    asked: list[tuple[str, str | None]] = []

    class Reevaluator:  # what `r` asks, and for which event
        def request(self, key: str, event_id: str | None, **_: object) -> None:
            asked.append((key, event_id))

    e._reevaluator = Reevaluator()  # type: ignore[assignment]
    e.reevaluate_all()
    assert asked == [("x", asked_for)]
