"""The journal's "watched until" mark (docs/journal.md): written and read back by both backends,
the newest of a profile's recorders kept in PostgreSQL, and none in a journal made before it."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from togul_monitor.client.outages import ResumePoint
from togul_monitor.core.recording import _resume_point, open_journal, watched_mark
from togul_monitor.core.watched import LIVE_MARK_SLACK, WATCHED_PACE, recorder_live
from togul_monitor.domain.events import FlagEvent
from togul_monitor.store.journal import open_journal_at, open_reader_at
from togul_monitor.store.postgres.schema import MIGRATIONS, SCHEMA_VERSION
from togul_monitor.store.reading import ReadingJournal

from ..journal_backends import JournalBackend, fresh_schema_url, postgres_url, scratch_profile


def test_a_journal_without_a_mark_reads_none(journal_backend: JournalBackend) -> None:
    journal = journal_backend.open()
    try:
        assert journal.watched_until() is None
    finally:
        journal.close()


def test_the_mark_is_written_and_read_back(journal_backend: JournalBackend) -> None:
    journal = journal_backend.open()
    try:
        journal.set_watched_until(100.0)
        journal.set_watched_until(150.5)
        assert journal.flush()
        assert journal.watched_until() == 150.5
    finally:
        journal.close()
    assert journal_backend.reader().watched_until() == 150.5


def test_a_reading_monitor_never_writes_the_mark(journal_backend: JournalBackend) -> None:
    recorder = journal_backend.open()
    recorder.set_watched_until(100.0)
    recorder.close()
    reading = ReadingJournal(journal_backend.reader())
    reading.set_watched_until(200.0)
    assert reading.watched_until() == 100.0


def test_two_postgres_recorders_of_a_profile_keep_the_newest_mark() -> None:
    url = postgres_url()
    with scratch_profile(url) as profile:
        first, second = open_journal_at(profile, url), open_journal_at(profile, url)
        try:
            first.set_watched_until(200.0)
            assert first.flush()
            second.set_watched_until(150.0)  # its stream was lost earlier: the first watched on
            assert second.flush()
            assert second.watched_until() == 200.0
        finally:
            first.close()
            second.close()


def test_a_sqlite_journal_made_before_the_mark_reads_none_and_a_recorder_adds_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite3"
    open_journal_at("p", path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE watched_until")
    reader = open_reader_at("p", path)
    assert reader.watched_until() is None
    journal = open_journal_at("p", path)
    journal.set_watched_until(10.0)
    journal.close()
    assert reader.watched_until() == 10.0


def test_a_postgres_journal_of_version_1_reads_none_until_a_recorder_migrates_it() -> None:
    import psycopg

    with fresh_schema_url() as url:
        with psycopg.connect(url) as conn:  # what a recorder of version 1 made
            for statement in MIGRATIONS[1]:
                conn.execute(statement)  # type: ignore[arg-type]
            conn.execute("CREATE TABLE schema_version (version integer NOT NULL)")
            conn.execute("INSERT INTO schema_version VALUES (1)")
        reader = open_reader_at("p", url)
        try:
            assert reader.watched_until() is None
            journal = open_journal_at("p", url)  # migrates to the newest version
            journal.set_watched_until(10.0)
            journal.close()
            assert reader.watched_until() == 10.0
        finally:
            reader.close()
        with psycopg.connect(url) as conn:
            version = conn.execute("SELECT version FROM schema_version").fetchall()
        assert version == [(SCHEMA_VERSION,)]


EVENT = FlagEvent("flag.updated", "f", "env-1", 2, 10.0, "7", 10.5)
NOW = 100.0  # when the next run opens the journal


def test_a_restart_resumes_after_the_last_event_from_when_its_run_stopped_watching(
    journal_backend: JournalBackend,
) -> None:
    """The outage between two runs starts at the mark, not at the last event: the earlier run
    watched until then (never before that event: an older program may have journalled after
    its mark); a journal with no event but a mark resumes from it with no id to resume from."""
    journal = journal_backend.open()
    try:
        assert _resume_point(journal, [], None, None, NOW) is None  # nobody watched before
        journal.set_watched_until(70.0)
        assert journal.flush()
        assert _resume_point(journal, [], None, None, NOW) == ResumePoint(None, 70.0)
        journal.append_event(EVENT)
        assert journal.flush()
        # The events it knew go along: the replay is checked against their versions.
        resumed = ResumePoint("7", 70.0, "env-1", (EVENT,))
        assert _resume_point(journal, [EVENT], None, None, NOW) == resumed
        journal.set_watched_until(5.0)
        assert journal.flush()
        if journal_backend.name == "sqlite":  # PostgreSQL keeps the newest mark: 70
            resumed = ResumePoint("7", 10.5, "env-1", (EVENT,))
            assert _resume_point(journal, [EVENT], None, None, NOW) == resumed
    finally:
        journal.close()


def test_a_mark_in_the_future_is_not_believed(journal_backend: JournalBackend) -> None:
    """A recorder whose clock ran ahead (or a clock stepped back since) wrote a mark later than
    the next run's now: the outage between the runs starts at the last event instead (never an
    outage that ends before it starts, nor one hidden); a mark a little ahead reads as now."""
    journal = journal_backend.open()
    try:
        journal.append_event(EVENT)
        journal.set_watched_until(NOW + 2)
        assert journal.flush()
        assert watched_mark(journal, NOW) == NOW  # two clocks a little apart
        journal.set_watched_until(NOW + 300)
        assert journal.flush()
        assert watched_mark(journal, NOW) is None
        resumed = ResumePoint("7", EVENT.received_at, "env-1", (EVENT,))
        assert _resume_point(journal, [EVENT], None, None, NOW) == resumed
        # Without an event, a run still watched before: an outage from now, not none.
        assert _resume_point(journal, [], None, None, NOW) == ResumePoint(None, NOW)
    finally:
        journal.close()


def test_a_recorders_mark_shows_it_live_within_its_pace_and_heartbeat() -> None:
    """A live recorder writes its stream's last sign of life every WATCHED_PACE seconds, and on
    a quiet stream that sign is a heartbeat: a mark that much older (and the slack) is one no
    live recorder leaves."""
    live_for = WATCHED_PACE + 30.0 + LIVE_MARK_SLACK
    assert recorder_live(NOW - 14.0, NOW, heartbeat=30.0)
    assert recorder_live(NOW - live_for, NOW, heartbeat=30.0)
    assert not recorder_live(NOW - live_for - 0.1, NOW, heartbeat=30.0)
    assert not recorder_live(NOW - 30.0, NOW, heartbeat=1.0)
    assert not recorder_live(None, NOW, heartbeat=30.0)


def test_a_reader_takes_a_live_recorders_mark_as_watched_until_now(
    journal_backend: JournalBackend,
) -> None:
    """A monitor that only reads the journal (PostgreSQL's readers, a busy SQLite file's) while
    its recorder is live claims no window nobody watched since the recorder's mark, which is
    written only every so often; a mark older than a live recorder leaves (it stopped watching
    there: killed, its stream lost) still dates that window."""
    recorder = journal_backend.open()  # SQLite: it holds the file's lock
    try:
        recorder.append_event(EVENT)
        recorder.set_watched_until(NOW - 12.0)
        assert recorder.flush()

        def read_at(now: float) -> float | None:
            options = {"journal_url": journal_backend.target}
            opened = asyncio.run(
                open_journal(journal_backend.profile, None, lambda: now, options, 10)
            )
            assert opened.journal is not None and opened.busy  # only read
            opened.journal.close()
            return opened.watched_until

        assert read_at(NOW) == NOW  # its recorder watches on
        assert read_at(NOW + 300.0) == NOW - 12.0  # it stopped watching at its mark
    finally:
        recorder.close()
