"""The journal: batched writes on a thread, reads, retention (in both backends: the
`journal_backend` fixture), and SQLite's own: move-aside, the recorder lock."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.store.journal import (
    Journal,
    JournalDamaged,
    JournalError,
    SqliteJournal,
    journal_path,
)
from togul_monitor.store.model import Retention
from togul_monitor.store.reader import (
    check_journal,
    iter_journal_events,
    read_event_count,
    read_history,
    read_recent_events,
)
from togul_monitor.store.sqlite import journal as sqlite_journal
from togul_monitor.store.writer import Writer

from ..journal_backends import JournalBackend
from ..journal_helpers import damage_pages

ON = Evaluation(True, "boolean", "default", True)
OFF = Evaluation(False, "boolean", "disabled", False)


def ev(i: int, key: str = "f", at: float | None = None) -> FlagEvent:
    return FlagEvent("flag.updated", key, "env-1", i, 1000 + i, str(i), at or 2000.0 + i)


def test_journal_path_is_per_profile_under_the_data_dir(isolated_home: Path) -> None:
    assert journal_path("prod") == isolated_home / "journal" / "prod.sqlite3"
    assert journal_path("../evil/x").name == "_._evil_x.sqlite3"


def test_appends_are_committed_by_the_writer_thread_and_read_back(
    journal_backend: JournalBackend,
) -> None:
    journal = journal_backend.open()
    try:
        main = threading.get_ident()
        writer_ident = journal._writer._thread.ident  # type: ignore[union-attr]
        assert writer_ident != main
        for i in range(1, 6):
            journal.append_event(ev(i))
        journal.append_transition(ValueTransition("f", ON, OFF, "3", 2003.5))
        journal.append_outage(Outage(2004.1, 2004.2, 0, True, 2004.3))
        assert journal.flush()
        assert [e.version for e in journal.recent_events(3)] == [3, 4, 5]
        history = journal.history("f", limit=10)
        kinds = [type(h).__name__ for h in history]
        assert kinds[:2] == ["FlagEvent", "Outage"]  # newest first
        (transition,) = journal.transitions_for("3", "f")
        assert transition.before == ON and transition.after == OFF
        assert transition.context == "default"
        assert journal.count_events() == 5
    finally:
        journal.close()
    # readable without a writer, after close: what the CLI does
    reader = journal_backend.reader()
    assert len(reader.history("f", 2)) == 2
    assert reader.transitions_for("nope", "f") == []
    assert [e.version for e in reader.iter_events()] == [1, 2, 3, 4, 5]


def test_integer_timestamps_come_back_as_they_went_in(journal_backend: JournalBackend) -> None:
    journal = journal_backend.open()
    try:
        original = ev(1)
        journal.append_event(original)
        journal.flush()
        (back,) = journal.recent_events(1)
        assert back == original and type(back.timestamp) is int
    finally:
        journal.close()


def test_last_values_survive_reopening(journal_backend: JournalBackend) -> None:
    journal = journal_backend.open()
    journal.set_last_value("a", ON, 1.0)
    journal.set_last_value("a", OFF, 2.0)
    journal.set_last_value("b", ON, 3.0, deleted=True)
    journal.close()
    reopened = journal_backend.open()
    try:
        last = reopened.last_values()["default"]
        assert last["a"].evaluation == OFF and not last["a"].deleted
        assert last["b"].deleted
    finally:
        reopened.close()


def test_retention_by_count_and_by_age(journal_backend: JournalBackend) -> None:
    now = 10_000_000.0
    journal = journal_backend.open(clock=lambda: now)
    for i in range(1, 21):
        # the first five are older than a day
        journal.append_event(ev(i, at=now - 200_000 if i <= 5 else now - 100 + i))
    journal.close()
    journal = journal_backend.open(max_events=10, max_age_days=1, clock=lambda: now)
    try:
        assert [e.version for e in journal.recent_events(100)] == list(range(11, 21))
    finally:
        journal.close()
    journal = journal_backend.open(max_events=100, max_age_days=0.0000001, clock=lambda: now)
    try:
        assert journal.count_events() == 0
    finally:
        journal.close()


def test_an_unreadable_journal_is_moved_aside_never_deleted(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    garbage = b"this is not a database, but it is somebody's file" * 100
    path.write_bytes(garbage)
    journal = Journal.open(path)
    try:
        assert journal.notice is not None and "moved aside" in journal.notice
        assert journal.moved_to is not None and journal.moved_to.read_bytes() == garbage
        assert journal.moved_to.name.startswith("j.sqlite3.unreadable-")
        journal.append_event(ev(1))
        journal.flush()
        assert journal.count_events() == 1
    finally:
        journal.close()


def test_a_journal_that_cannot_be_created_raises(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(JournalError):
        Journal.open(blocker / "sub" / "j.sqlite3")


def test_the_queue_is_bounded_and_drops_are_counted(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "j.sqlite3", max_queue=3)  # not opened: nobody writes
    for i in range(5):
        journal.append_event(ev(i))
    assert journal.pending == 3 and journal.dropped == 2


def test_reading_a_missing_journal_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="no journal"):
        read_history(tmp_path / "missing.sqlite3", "f")
    assert not (tmp_path / "missing.sqlite3").exists()


def test_bulk_appends_are_bounded_too(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "j.sqlite3", max_queue=4)  # not opened: nobody writes
    journal.append_events([ev(i) for i in range(3)])
    journal.append_events([ev(i) for i in range(3, 6)])
    assert journal.pending == 4 and journal.dropped == 2


def test_a_value_the_database_refuses_is_dropped_and_the_writer_keeps_running(
    journal_backend: JournalBackend,
) -> None:
    # Before: an OverflowError (version above 2**63) used to end the writer thread for good.
    journal = journal_backend.open()
    try:
        journal.append_event(FlagEvent("flag.updated", "f", "e", 2**64, 1.0, "1", 2.0))
        assert journal.flush(timeout=5)
        assert journal.dropped == 1 and journal.write_error is not None
        assert journal.writing
        journal.append_event(ev(2))
        assert journal.flush(timeout=5)
        assert journal.count_events() == 1
    finally:
        journal.close()


def test_a_dead_writer_releases_whoever_waits_for_it(
    journal_backend: JournalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    def die(self: Writer) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(Writer, "_write_loop", die)
    journal = journal_backend.open()
    try:
        journal.append_events([ev(i) for i in range(3)])
        # Returns at once (writer ended) instead of waiting for a drain that never comes.
        assert journal.wait_pending_below(0, timeout=5)
        assert journal.pending == 3 and not journal.writing
        assert journal.write_error is not None and "boom" in journal.write_error
        assert journal.flush(timeout=5) is False
    finally:
        journal.close()


def test_wait_pending_below_returns_once_the_writer_drains(journal_backend: JournalBackend) -> None:
    journal = journal_backend.open()
    try:
        journal.append_events([ev(i) for i in range(1, 1001)])
        assert journal.wait_pending_below(0, timeout=5)
        assert journal.pending == 0
    finally:
        journal.close()


def test_a_newer_schema_is_refused_and_left_in_place(tmp_path: Path) -> None:
    # Only a file that is not a database is moved aside; a healthy journal of a
    # newer program (or a locked one) stays where it is.
    path = tmp_path / "j.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(JournalError, match="newer"):
        Journal.open(path)
    assert path.exists()
    assert list(tmp_path.glob("*.unreadable-*")) == []


def test_a_failing_retention_at_open_is_a_journal_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: it escaped as a raw sqlite3.Error, which the monitor does not catch.
    def locked(conn: sqlite3.Connection, retention: Retention) -> None:
        raise sqlite3.OperationalError("database is locked")

    path = tmp_path / "j.sqlite3"
    Journal.open(path).close()
    monkeypatch.setattr(sqlite_journal, "apply_retention", locked)
    with pytest.raises(JournalError, match="locked"):
        Journal.open(path)
    assert path.exists() and list(tmp_path.glob("*.unreadable-*")) == []


def test_a_second_recorder_of_one_journal_is_refused_until_the_first_closes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal" / "p.sqlite3"
    first = Journal.open(path)
    try:
        with pytest.raises(JournalError, match="another togul-monitor"):
            Journal.open(path)
        assert path.exists()  # refused, not moved aside
    finally:
        first.close()
    second = Journal.open(path)  # the lock went with the first recorder
    second.close()


def test_a_journal_with_damaged_pages_is_moved_aside_before_anything_is_written(
    tmp_path: Path,
) -> None:
    # Before: the header was fine, so the recorder opened it and wrote on (or died on the first
    # read that met a bad page) without a word.
    path = tmp_path / "j.sqlite3"
    damaged = damage_pages(path)
    journal = Journal.open(path)
    try:
        assert journal.notice is not None
        assert "is damaged" in journal.notice and "moved aside" in journal.notice
        assert journal.moved_to is not None and journal.moved_to.read_bytes() == damaged
        assert journal.moved_to.name.startswith("j.sqlite3.damaged-")
        journal.append_event(ev(1))
        journal.flush()
        assert journal.count_events() == 1
    finally:
        journal.close()


def test_every_read_of_a_damaged_journal_is_a_journal_error_and_changes_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite3"
    damaged = damage_pages(path)
    reads = [
        lambda: check_journal(path),
        lambda: read_history(path, "flag-3"),
        lambda: list(iter_journal_events(path)),
        lambda: read_recent_events(path, 10_000),
        lambda: read_event_count(path),
    ]
    for read in reads:
        with pytest.raises(JournalDamaged, match="is damaged .* moves it aside"):
            read()
    assert path.read_bytes() == damaged and not list(tmp_path.glob("*.damaged-*"))


def test_a_mark_is_written_once_what_was_appended_before_it_is_committed(
    journal_backend: JournalBackend,
) -> None:
    journal = journal_backend.open()
    committed = threading.Event()
    journal.add_listener(committed.set)
    try:
        journal.append_events([ev(i) for i in range(100)])
        journal.append_transition(ValueTransition("f", ON, OFF, "99", 2100.0))
        mark = journal.appended
        assert tuple(mark) == (100, 1)
        assert journal.flush(timeout=5) and journal.written(mark) and committed.is_set()
        assert journal.count_events() == 100
        assert not journal.written(journal.appended._replace(events=101))  # not appended yet
    finally:
        journal.close()
    assert journal.written(journal.appended._replace(events=10**6))  # ended: nothing to wait for
