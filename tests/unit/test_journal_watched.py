"""The journal's "watched until" mark (docs/journal.md): written and read back by both backends,
the newest of a profile's recorders kept in PostgreSQL, and none in a journal made before it."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from togul_monitor.client.outages import ResumePoint
from togul_monitor.core.recording import _resume_point, open_journal, watched_mark
from togul_monitor.core.watched import (
    LIVE_MARK_SLACK,
    WATCHED_PACE,
    promised_within,
    recorder_live,
)
from togul_monitor.domain.events import FlagEvent
from togul_monitor.store.journal import open_journal_at, open_reader_at
from togul_monitor.store.model import WatchedUntil, Watcher
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


SLOW = WATCHED_PACE + 100.0  # a recorder whose profile's heartbeat is 100 s: what it promises


def test_a_marks_promise_is_kept_beside_it(journal_backend: JournalBackend) -> None:
    """Each mark says within how long its recorder moves it again while it watches (its pace
    and its profile's heartbeat); a mark written without it (an older program's) says none."""
    journal = journal_backend.open()
    try:
        journal.set_watched_until(100.0, Watcher("r1", 90.0, 100.0, SLOW))
        assert journal.flush()
        assert journal_backend.reader().watched_until_mark() == WatchedUntil(100.0, SLOW)
        journal.set_watched_until(120.0)  # as an older program writes it: no promise
        assert journal.flush()
        assert journal_backend.reader().watched_until_mark() == WatchedUntil(120.0, None)
    finally:
        journal.close()


def test_a_reader_judges_a_mark_by_the_heartbeat_its_recorder_promised(
    journal_backend: JournalBackend,
) -> None:
    """A reader whose own profile's heartbeat is short (1 s: a live mark of its own pace is at
    most ~21 s old) takes a mark 30 s old as a live recorder's when that recorder marks at a
    100 s heartbeat, and as stopped only past its promise; a mark that promises nothing (an
    older program's) is judged by the reader's own heartbeat, as before."""
    recorder = journal_backend.open()  # SQLite: it holds the file's lock
    mark = NOW - 30.0
    try:

        def read_at(now: float) -> float | None:
            options = {"journal_url": journal_backend.target}
            opened = asyncio.run(
                open_journal(journal_backend.profile, None, lambda: now, options, 10, heartbeat=1.0)
            )
            assert opened.journal is not None and opened.busy  # only read
            opened.journal.close()
            return opened.watched_until

        recorder.append_event(EVENT)
        recorder.set_watched_until(mark - 1.0)  # an older program's: no promise
        assert recorder.flush()
        assert read_at(NOW) == mark - 1.0  # as before: it stopped there
        recorder.set_watched_until(mark, Watcher("slow", mark - 60.0, mark, SLOW))
        assert recorder.flush()
        assert read_at(NOW) == NOW  # its recorder watches on
        assert read_at(mark + SLOW + LIVE_MARK_SLACK) == mark + SLOW + LIVE_MARK_SLACK
        assert read_at(mark + SLOW + LIVE_MARK_SLACK + 1.0) == mark  # it stopped there
    finally:
        recorder.close()


def test_a_shared_marks_due_waits_for_every_recorder_that_may_watch_on() -> None:
    """The profile's mark is the newest of its recorders': a quick recorder's (45 s) that
    stopped, while a slow one (115 s) whose own mark is older may watch on, moves only once the
    slow one's sign of life passes it: judged by the longer promise. A recorder whose own mark
    is older than its promise allows at the profile's mark had stopped: it counts not."""
    quick = WATCHED_PACE + 30.0
    mark = WatchedUntil(1000.0, quick)
    slow = Watcher("slow", 0.0, 950.0, SLOW)
    assert promised_within(mark, [Watcher("quick", 0.0, 1000.0, quick)], 1.0) == quick
    assert promised_within(mark, [Watcher("quick", 0.0, 1000.0, quick), slow], 1.0) == SLOW
    gone = Watcher("gone", 0.0, 1000.0 - SLOW - LIVE_MARK_SLACK - 1.0, SLOW)
    assert promised_within(mark, [gone], 1.0) == quick
    # Not said (an older program's mark, or its run's): the reader's own heartbeat.
    assert promised_within(WatchedUntil(1000.0), [], 1.0) == WATCHED_PACE + 1.0
    older = Watcher("older", 0.0, 990.0)
    assert promised_within(mark, [older], 60.0) == WATCHED_PACE + 60.0


def test_a_sqlite_journal_made_before_the_promise_reads_none_and_a_recorder_adds_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite3"
    journal = open_journal_at("p", path)
    journal.set_watched_until(10.0)
    journal.close()
    with sqlite3.connect(path) as conn:  # as an older program made it
        conn.execute("ALTER TABLE watched_until DROP COLUMN moves_within")
    reader = open_reader_at("p", path)
    assert reader.watched_until_mark() == WatchedUntil(10.0, None)
    journal = open_journal_at("p", path)
    journal.set_watched_until(20.0, Watcher("r", 10.0, 20.0, SLOW))
    journal.close()
    assert reader.watched_until_mark() == WatchedUntil(20.0, SLOW)


def test_a_postgres_journal_made_before_the_promise_reads_none_and_a_recorder_adds_it() -> None:
    import psycopg

    with fresh_schema_url() as url:
        journal = open_journal_at("p", url)
        journal.set_watched_until(10.0, Watcher("r", 5.0, 10.0, SLOW))
        journal.close()
        with psycopg.connect(url) as conn:  # as a program before the promise made it
            conn.execute("ALTER TABLE watched_by DROP COLUMN moves_within")
        reader = open_reader_at("p", url)
        try:
            assert reader.watchers() == [Watcher("r", 5.0, 10.0)]
            assert reader.watched_until_mark() == WatchedUntil(10.0, None)
            journal = open_journal_at("p", url)  # adds it again
            journal.set_watched_until(20.0, Watcher("r2", 15.0, 20.0, SLOW))
            journal.close()
            assert reader.watched_until_mark() == WatchedUntil(20.0, SLOW)
        finally:
            reader.close()
