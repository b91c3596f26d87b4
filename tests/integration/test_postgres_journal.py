"""The PostgreSQL journal as a platform team runs it: several recorders of one profile journal
each event once; another process reads what a recorder wrote (`history`, `export`, the
monitor's backfill); a recorder killed by SIGTERM loses nothing it reported committed (these
two for SQLite as well, by its `sqlite:///` URL); recorders opening at once migrate the schema
once; the password never shows.

PostgreSQL's are skipped, saying why, without TOGUL_TEST_POSTGRES_URL
(tests/journal_backends.py)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from tests.journal_backends import JournalBackend, fresh_schema_url, postgres_url, scratch_profile
from togul_monitor.cli import cli
from togul_monitor.core import Monitor
from togul_monitor.core.recording import open_journal
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_config import Change, ConfigDiff
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.store.journal import (
    JournalError,
    PostgresJournal,
    open_journal_at,
    open_reader_at,
)
from togul_monitor.store.model import CONFIG_DIFF_COLUMNS, StoredDiff, config_diff_row
from togul_monitor.store.postgres.schema import MIGRATIONS, SCHEMA_VERSION
from togul_monitor.store.reading import READ_ONLY_NOTICE

from .test_monitor import make_profile, wait_for

ON = Evaluation(True, "boolean", "rule_match", True)
OFF = Evaluation(False, "boolean", "default", True)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def url() -> str:
    return postgres_url()


@pytest.fixture
def profile(url: str) -> Iterator[str]:
    with scratch_profile(url) as name:
        yield name


def url_of(backend: JournalBackend) -> str:
    """The journal's URL, as `--journal-url` takes it (a SQLite file's: sqlite:///path)."""
    target = backend.target
    return f"sqlite://{target}" if isinstance(target, Path) else target


def ev(i: int, event_id: str | None, key: str = "f", at: float = 1000.0) -> FlagEvent:
    return FlagEvent("flag.updated", key, "env-1", i, 1_700_000_000 + i, event_id, at + i)


def test_two_recorders_of_one_profile_journal_each_event_once(url: str, profile: str) -> None:
    first, second = open_journal_at(profile, url), open_journal_at(profile, url)
    try:
        # Both saw the same stream (ids), and the same id-less events (by content), each at
        # its own time; the second also saw two the first missed.
        with_ids = [ev(i, str(i)) for i in range(50)]
        without = [ev(i, None, key="g") for i in range(20)]
        first.append_events(with_ids[:40] + without)
        second.append_events(
            [
                FlagEvent(
                    e.type,
                    e.flag_key,
                    e.environment_id,
                    e.version,
                    e.timestamp,
                    e.event_id,
                    e.received_at + 0.25,
                )
                for e in with_ids + without
            ]
        )
        for journal in (first, second):
            journal.append_transition(ValueTransition("f", OFF, ON, "7", 1007.5, "premium"))
            journal.append_config_diff(
                ConfigDiff("f", "env-1", "7", 7, (Change("enabled", "changed", False, True),)),
                1007.6,
            )
            assert journal.flush(timeout=10) and journal.write_error is None
        assert first.count_events() == second.count_events() == 70
        history = first.history("f", limit=500)
        ids = [h.event_id for h in history if isinstance(h, FlagEvent)]
        assert sorted(ids, key=int) == [str(i) for i in range(50)]  # each once
        assert len(first.transitions_for("7", "f")) == 1
        assert len(second.config_diffs("f")) == 1
    finally:
        first.close()
        second.close()


def test_one_change_two_recorders_found_on_a_re_fetch_is_journalled_once(
    url: str, profile: str
) -> None:
    switched_off = (Change("enabled", "changed", True, False),)
    first, second = open_journal_at(profile, url), open_journal_at(profile, url)
    try:
        # Each recorder's re-fetch after the outage found the flag off, at its own time.
        for journal, at in ((first, 1006.0), (second, 1010.0)):
            found = ConfigDiff("f", "env-1", None, None, switched_off, fetched_version=2)
            journal.append_config_diff(found, at)
            assert journal.flush(timeout=10) and journal.write_error is None
        (stored,) = second.config_diffs("f")
        assert stored.diff.found_by_refetch and stored.diff.fetched_version == 2
    finally:
        first.close()
        second.close()


_RECORDER = textwrap.dedent(
    """
    import sys, time
    from togul_monitor.domain.events import FlagEvent
    from togul_monitor.domain.values import Evaluation, ValueTransition
    from togul_monitor.store.journal import open_journal_at

    url, profile, batches = sys.argv[1], sys.argv[2], int(sys.argv[3])
    journal = open_journal_at(profile, url, batch_pause=0.0)
    journal.set_environment_names({"env-1": "production"})
    on = Evaluation(True, "boolean", "rule_match", True)
    off = Evaluation(False, "boolean", "default", True)
    n = 0
    for batch in range(batches if batches > 0 else 10**9):
        events = [
            FlagEvent("flag.updated", f"flag-{i % 7}", "env-1", i, 1_700_000_000 + i, str(i),
                      time.time())
            for i in range(n, n + 100)
        ]
        journal.append_events(events)
        journal.append_transition(
            ValueTransition(events[-1].flag_key, off, on, events[-1].event_id, time.time())
        )
        n += 100
        mark = journal.appended
        while not journal.written(mark):
            journal.wait_pending_below(0, 1.0)
        print(f"committed {n}", flush=True)  # what `tail` prints once the journal holds it
    journal.close()
    """
)


def _recorder(url: str, profile: str, batches: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _RECORDER, url, profile, str(batches)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_history_export_and_the_backfill_read_what_another_process_recorded(
    journal_backend: JournalBackend,
) -> None:
    url, profile = url_of(journal_backend), journal_backend.profile
    proc = _recorder(url, profile, 3)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.splitlines()[-1] == "committed 300"

    runner = CliRunner()
    args = ["--profile", profile, "--journal-url", url]
    result = runner.invoke(cli, ["history", "flag-5", "--json", "--limit", "5", *args])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert rows[0]["kind"] == "transition" and rows[0]["event_id"] == "299"  # newest first
    assert [r["id"] for r in rows if r["kind"] == "event"] == ["299", "292", "285", "278"]
    assert all(r.get("environment_key") == "production" for r in rows if r["kind"] == "event")

    exported = runner.invoke(cli, ["export", "--format", "jsonl", "--filter", "flag-3", *args])
    assert exported.exit_code == 0, exported.output
    events = [json.loads(line) for line in exported.output.splitlines()]
    assert [e["id"] for e in events if e.get("kind", "event") == "event"] == [
        str(i) for i in range(300) if i % 7 == 3
    ]

    # The monitor's backfill (core/recording.py): the latest events and what they changed.
    opened = asyncio.run(open_journal(profile, None, time.time, {"journal_url": url}, 120))
    try:
        assert opened.journal is not None and opened.problem is None
        # A shared journal is read, not written, by a monitor that is not its recorder.
        shared = journal_backend.name == "postgres"
        assert opened.notice == (READ_ONLY_NOTICE if shared else None)
        assert opened.journal.writing is not shared
        assert [e.event_id for e in opened.events] == [str(i) for i in range(180, 300)]
        assert [(e.event_id, t.event_id) for e, t in opened.changes.transitions] == [
            ("199", "199"),
            ("299", "299"),
        ]
    finally:
        if opened.journal is not None:
            opened.journal.close()


def test_a_sigtermed_recorder_loses_nothing_it_reported_committed(
    journal_backend: JournalBackend,
) -> None:
    url, profile = url_of(journal_backend), journal_backend.profile
    proc = _recorder(url, profile, 0)  # records until killed
    assert proc.stdout is not None
    reported = 0
    deadline = time.monotonic() + 30
    while reported < 1000 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else "the recorder ended"
        reported = int(line.split()[1])
    proc.send_signal(signal.SIGTERM)  # no handler: the process ends at once, mid-batch
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGTERM
    reader = open_reader_at(profile, url)
    try:
        ids = {e.event_id for e in reader.iter_events()}
    finally:
        reader.close()
    assert {str(i) for i in range(reported)} <= ids
    assert len(ids) % 100 == 0  # a batch is one transaction: all of it or none


def test_recorders_opening_at_once_migrate_the_schema_once() -> None:
    with fresh_schema_url() as url:
        opened: list[PostgresJournal] = []
        failures: list[BaseException] = []
        start = threading.Barrier(4)

        def open_one(i: int) -> None:
            start.wait()
            try:
                journal = open_journal_at(f"p{i % 2}", url)
                assert isinstance(journal, PostgresJournal)
                opened.append(journal)
            except BaseException as exc:  # noqa: BLE001 - reported below
                failures.append(exc)

        threads = [threading.Thread(target=open_one, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        for journal in opened:
            journal.append_event(ev(1, "1"))
            journal.close()
        assert failures == [] and len(opened) == 4
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT version FROM schema_version").fetchall() == [
                (SCHEMA_VERSION,)
            ]
            counts = conn.execute(
                "SELECT profile, count(*) FROM events GROUP BY profile ORDER BY profile"
            ).fetchall()
        assert counts == [("p0", 1), ("p1", 1)]  # one per profile: two recorders each


def test_a_newer_schema_is_refused_and_a_reader_never_creates_one() -> None:
    with fresh_schema_url() as url:
        reader = open_reader_at("p", url)
        try:
            with pytest.raises(JournalError, match="no journal"):
                reader.check()
        finally:
            reader.close()
        open_journal_at("p", url).close()
        with psycopg.connect(url) as conn:
            conn.execute("UPDATE schema_version SET version = 99")
        with pytest.raises(JournalError, match="newer"):
            open_journal_at("p", url)


def test_the_password_never_shows(url: str) -> None:
    secret = "Sup3r-Secret-Passw0rd-42"
    user_part = url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[0]
    host_part = url.split("@", 1)[1]
    wrong = f"postgresql://{user_part}:{secret}@{host_part}"
    with pytest.raises(JournalError) as refused:
        open_journal_at("p", wrong)
    assert secret not in str(refused.value) and "…" in str(refused.value)
    unreachable = f"postgresql://u:{secret}@127.0.0.1:1/db?connect_timeout=2"
    with pytest.raises(JournalError) as failed:
        open_journal_at("p", unreachable)
    assert secret not in str(failed.value)
    journal = open_journal_at("p", url)
    try:
        password = url.split("://", 1)[1].split("@", 1)[0].partition(":")[2]
        for shown in (repr(journal), journal.location, str(journal.url), repr(journal.url)):
            assert password not in shown
    finally:
        journal.close()
    result = CliRunner().invoke(cli, ["history", "f", "--profile", "p", "--journal-url", wrong])
    assert result.exit_code == 1 and secret not in result.output
    # libpq takes a password in the query too; and one with an unencoded `#`, `/` or `?` ends
    # the address early, so a parser sees no password: the URL is then not shown at all.
    in_query = f"postgresql://{user_part}@{host_part.split('?')[0]}?password={secret}"
    with pytest.raises(JournalError) as refused:
        open_journal_at("p", in_query)
    assert secret not in str(refused.value) and "password=…" in str(refused.value)
    for cut in "#/?":
        early = f"postgresql://{user_part}:my{cut}{secret}@{host_part}"
        result = CliRunner().invoke(cli, ["history", "f", "--profile", "p", "--journal-url", early])
        assert result.exit_code == 2 and secret not in result.output, result.output
        assert "not shown" in result.output
        opened = asyncio.run(open_journal("p", None, time.time, {"journal_url": early}, 10))
        assert opened.journal is None and secret not in (opened.notice or "")


def test_a_recorder_whose_connection_the_server_dropped_reconnects(url: str, profile: str) -> None:
    journal = open_journal_at(profile, url, batch_pause=0.0)
    assert isinstance(journal, PostgresJournal)
    try:
        journal.append_event(ev(1, "1"))
        assert journal.flush(timeout=10) and journal.count_events() == 1
        with psycopg.connect(url, autocommit=True) as admin:  # what a server restart does
            admin.execute(
                "SELECT pg_terminate_backend(%s)", (journal._writer_conn.info.backend_pid,)
            )
        journal.append_event(ev(2, "2"))  # its batch fails, and is written again on a new one
        assert journal.flush(timeout=10)
        assert journal.dropped == 0 and journal.write_error is None and journal.writing
        journal.append_event(ev(3, "3"))
        assert journal.flush(timeout=10) and journal.dropped == 0
        assert [e.event_id for e in journal.recent_events(10)] == ["1", "2", "3"]
        # Again and again: each dead connection goes back to the pool once, and the pool
        # never holds more than its size.
        sink = journal._writer._sink
        for i in range(4, 10):
            assert sink is not None and sink.conn is not None  # type: ignore[attr-defined]
            pid = sink.conn.info.backend_pid  # type: ignore[attr-defined]
            with psycopg.connect(url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            journal.append_event(ev(i, str(i)))
            assert journal.flush(timeout=10) and journal.dropped == 0
            stats = journal._pool.get_stats()
            assert stats["pool_size"] <= stats["pool_max"], stats
        assert journal.count_events() == 9
    finally:
        journal.close()


async def test_two_monitors_recording_one_profile_into_postgres_journal_each_event_once(
    emulator: EmulatorHandle, url: str, profile: str
) -> None:
    # Two recorders of the profile (as on two machines): neither is refused, as SQLite's
    # second recorder is, and the shared journal holds each event of the stream once.
    # One names the database in its profile (`journal_url`), the other is told it.
    monitors = [
        Monitor(make_profile(emulator, name=profile, journal_url=url), journal_writer=True),
        Monitor(make_profile(emulator, name=profile), journal_url=url, journal_writer=True),
    ]
    for monitor in monitors:
        await monitor.start()
    try:
        await wait_for(lambda: emulator.open_streams == 2, what="both streams")
        assert all(m.journal is not None and m.journal.writing for m in monitors)
        await asyncio.to_thread(
            emulator.world.update_flag, "production", "new-dashboard", enabled=False
        )
        await wait_for(
            lambda: all(
                any(e.flag_key == "new-dashboard" for e in m.event_log.events()) for m in monitors
            ),
            what="the event in both monitors",
        )
        for monitor in monitors:
            assert monitor.journal is not None and monitor.journal.flush(timeout=10)
    finally:
        for monitor in monitors:
            await monitor.stop()
    reader = open_reader_at(profile, url)
    try:
        events = [e for e in reader.iter_events() if e.flag_key == "new-dashboard"]
    finally:
        reader.close()
    assert len(events) == 1 and events[0].event_id is not None


def test_two_recorders_keep_both_flags_of_a_key_created_again_each_diff_once(
    url: str, profile: str
) -> None:
    created = (Change("flag", "added", None, {"enabled": True}),)
    lives = [ConfigDiff("f", "env-1", None, 1, created, flag_id=i) for i in ("id-1", "id-2")]
    found = ConfigDiff("f", "env-1", None, None, created, fetched_version=1, flag_id="id-2")
    first, second = open_journal_at(profile, url), open_journal_at(profile, url)
    try:
        for journal, at in ((first, 10.0), (second, 10.4)):  # both saw both flags
            for diff in (*lives, found):
                journal.append_config_diff(diff, at)
            assert journal.flush(timeout=10) and journal.write_error is None
        assert [s.diff for s in second.config_diffs("f")] == lives[::-1]
    finally:
        first.close()
        second.close()


def test_a_version_1_journal_is_migrated_and_keeps_its_diffs_once() -> None:
    before = ConfigDiff("f", "env-1", None, 1, (Change("enabled", "changed", True, False),))
    with fresh_schema_url() as url:
        with psycopg.connect(url) as conn:  # what a recorder of version 1 made and wrote
            for statement in MIGRATIONS[1]:
                conn.execute(statement)  # type: ignore[arg-type]
            conn.execute("CREATE TABLE schema_version (version integer NOT NULL)")
            conn.execute("INSERT INTO schema_version VALUES (1)")
            row = config_diff_row(StoredDiff(before, 5.0))
            conn.execute(
                f"INSERT INTO config_diffs (profile, {CONFIG_DIFF_COLUMNS})"  # type: ignore[arg-type]
                " VALUES ('p', %s, %s, %s, %s, %s, %s)",
                row,
            )
        journal = open_journal_at("p", url)
        try:
            again = ConfigDiff("f", "env-1", None, 1, before.changes, flag_id="id-2")
            for diff in (before, again):  # the first a second time: another recorder's copy
                journal.append_config_diff(diff, 6.0)
            assert journal.flush(timeout=10) and journal.write_error is None
            assert [s.diff for s in journal.config_diffs("f")] == [again, before]
        finally:
            journal.close()
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT version FROM schema_version").fetchall() == [
                (SCHEMA_VERSION,)
            ]
