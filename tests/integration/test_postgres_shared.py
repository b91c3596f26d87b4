"""A shared (PostgreSQL) journal read by many, written by its recorder: a monitor that is not
the recorder reads the journal (backfill, history) and writes nothing, so the documented stream's
value changes (no event ids) are journalled once however many TUIs watch; `history` and `export`
find the profile's URL strictly and say when a name has no journal in the database.

Skipped without TOGUL_TEST_POSTGRES_URL (tests/journal_backends.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import psycopg
import pytest
from click.testing import CliRunner

from tests.journal_backends import forget_profile, postgres_url, scratch_profile
from togul_monitor.cli import cli
from togul_monitor.config import paths
from togul_monitor.core import Monitor, TransitionRecorded
from togul_monitor.core.watched import LIVE_MARK_SLACK, WATCHED_PACE
from togul_monitor.domain.events import FlagEvent, Outage, OutageProven
from togul_monitor.emulator.harness import EmulatorHandle, running_emulator
from togul_monitor.store.journal import open_journal_at, open_reader_at
from togul_monitor.store.reading import READ_ONLY_NOTICE

from .test_monitor import Recorder, make_profile, settled, wait_for


@pytest.fixture
def url() -> str:
    return postgres_url()


@pytest.fixture
def profile(url: str) -> Iterator[str]:
    with scratch_profile(url) as name:
        yield name


def count(url: str, table: str, profile: str, flag: str | None = None) -> int:
    where, args = "profile = %s", [profile]
    if flag is not None:
        where, args = where + " AND flag_key = %s", [profile, flag]
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table} WHERE {where}", args).fetchone()  # type: ignore[arg-type]
    return int(row[0]) if row else 0


def record_one(url: str, profile: str, key: str = "old-flag") -> None:
    journal = open_journal_at(profile, url)
    now = time.time()  # within retention: the recorder's open applies it
    journal.append_event(FlagEvent("flag.updated", key, "env-x", 1, now, "pre-1", now))
    assert journal.flush(timeout=10)
    journal.close()


@pytest.fixture
def idless() -> Iterator[EmulatorHandle]:
    """The documented stream: no event ids, so value changes have no shared identity."""
    with running_emulator(seed=0, heartbeat=0.2, replay=1000, ids=False) as emu:
        yield emu


async def test_only_the_recorder_writes_a_shared_journal_the_others_read_it(
    idless: EmulatorHandle, url: str, profile: str
) -> None:
    record_one(url, profile)
    recorder = Monitor(make_profile(idless, name=profile, journal_url=url), journal_writer=True)
    # Two TUIs (a `web` tab, an engineer's): no journal_writer.
    readers = [Monitor(make_profile(idless, name=profile), journal_url=url) for _ in range(2)]
    monitors = [recorder, *readers]
    watching = [Recorder(m) for m in monitors]
    for monitor, rec in zip(monitors, watching, strict=True):
        await monitor.start()
        rec.start()
    try:
        for reader in readers:
            snap = reader.snapshot()
            assert not snap.recording and snap.recorder_busy
            assert snap.journal_notice == READ_ONLY_NOTICE
            # It reads the shared journal: the backfill and a flag's history come from it.
            assert [e.event_id for e in reader.event_log.events()] == ["pre-1"]
            history = await asyncio.to_thread(reader.history, "old-flag")
            # Its events (the recorder's outage since that run may be journalled by now).
            assert [h.event_id for h in history if isinstance(h, FlagEvent)] == ["pre-1"]
        assert recorder.snapshot().recording and recorder.snapshot().journal_notice is None
        await wait_for(lambda: idless.open_streams == 3, what="three streams")
        await wait_for(lambda: all(settled(m, "new-dashboard") for m in monitors), what="values")
        await asyncio.to_thread(
            idless.world.update_flag, "production", "new-dashboard", enabled=False
        )
        await wait_for(
            lambda: all(
                any(u.transition.flag_key == "new-dashboard" for u in rec.of(TransitionRecorded))
                for rec in watching
            ),
            what="the value change in every monitor",
        )
        assert recorder.journal is not None and recorder.journal.flush(timeout=10)
    finally:
        for monitor in monitors:
            await monitor.stop()
    # Journalled once, by the recorder: not once per monitor watching.
    assert count(url, "transitions", profile, "new-dashboard") == 1
    assert count(url, "events", profile, "new-dashboard") == 1


def _profiles(text: str) -> None:
    path = paths.profiles_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        '[profiles.prod]\nbase_url = "https://api.togul.io"\nenvironment_key = "production"\n'
        f'api_key_env = "PROD_KEY_UNSET"\n{text}'
    )


def test_history_with_an_unset_journal_variable_is_a_configuration_error(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _profiles('journal_url_env = "TOGUL_TEST_JOURNAL_URL"\n')
    monkeypatch.delenv("TOGUL_TEST_JOURNAL_URL", raising=False)
    result = CliRunner().invoke(cli, ["history", "old-flag", "--profile", "prod"])
    assert result.exit_code == 2, result.output
    assert "TOGUL_TEST_JOURNAL_URL is not set" in result.output


def test_history_reads_the_variable_s_database_without_the_profile_s_key(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = "prod"
    forget_profile(url, profile)
    record_one(url, profile)
    try:
        _profiles('journal_url_env = "TOGUL_TEST_JOURNAL_URL"\n')
        monkeypatch.setenv("TOGUL_TEST_JOURNAL_URL", url)  # PROD_KEY_UNSET stays unset
        result = CliRunner().invoke(cli, ["history", "old-flag", "--profile", "prod", "--json"])
        assert result.exit_code == 0, result.output
        assert '"id": "pre-1"' in result.output
        secret = "Sup3r-Secret-Passw0rd-42"
        monkeypatch.setenv("TOGUL_TEST_JOURNAL_URL", f"postgresql://u:{secret}@db.internal")
        refused = CliRunner().invoke(cli, ["history", "old-flag", "--profile", "prod"])
        assert refused.exit_code == 2 and "names no database" in refused.output
        assert secret not in refused.output and "db.internal" not in refused.output
    finally:
        forget_profile(url, profile)


def test_a_name_with_no_rows_in_the_database_has_no_journal(url: str, profile: str) -> None:
    record_one(url, profile)
    runner = CliRunner()
    found = runner.invoke(cli, ["history", "old-flag", "--profile", profile, "--journal-url", url])
    assert found.exit_code == 0 and "pre-1" in found.output
    typo = profile + "x"
    for command in (["history", "old-flag"], ["export", "--format", "jsonl"]):
        result = runner.invoke(cli, [*command, "--profile", typo, "--journal-url", url])
        assert result.exit_code == 1, result.output
        assert f"no journal for profile '{typo}' in postgresql://" in result.output
        assert "togul-ci" not in result.output  # the test server's password


async def test_the_recorder_writes_the_shared_journal(
    emulator: EmulatorHandle, url: str, profile: str
) -> None:
    # `togul-monitor record` is the one monitor that writes a shared journal (cli/record_run.py).
    import io

    from togul_monitor.cli.record_log import RecordLog
    from togul_monitor.cli.record_metrics import RecorderCollector
    from togul_monitor.cli.record_run import ProfileRun

    log, stop = io.StringIO(), asyncio.Event()
    run = ProfileRun(
        make_profile(emulator, name=profile, journal_url=url),
        RecordLog(log),
        RecorderCollector(),
        stop,
    )
    task = asyncio.create_task(run.run())
    try:
        await wait_for(lambda: emulator.open_streams == 1, what="the recorder's stream")
        assert "recording=true" in log.getvalue()
        await asyncio.to_thread(
            emulator.world.update_flag, "production", "new-dashboard", enabled=False
        )
        await wait_for(
            lambda: count(url, "events", profile, "new-dashboard") == 1, what="the event journalled"
        )
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 20) is None


async def test_a_recorder_restarted_while_another_watched_proves_its_outage_whole(
    idless: EmulatorHandle, url: str, profile: str
) -> None:
    """Two recorders of one profile; one stops and starts again while the other watches on.
    Without event ids nothing the restarted one receives proves the time between its runs
    whole, so it journals that time as an outage that may have missed events. The other
    recorder watched all of it (its own mark, begun before and reaching past the outage's
    end): once it would have marked past that end, the outage is proved whole, in the updates
    and in the journal, as a stream with ids would prove it."""
    shift = [0.0]

    def clock() -> float:
        return time.time() + shift[0]

    make = make_profile(idless, name=profile, journal_url=url)
    other = Monitor(make, journal_writer=True)
    other._intake.watched._pace = 0.2  # its marks come often: the test waits for one
    await other.start()
    try:
        await wait_for(lambda: other.snapshot().status.state.value == "live", what="live")
        first = Monitor(make, journal_writer=True)
        await first.start()
        await wait_for(lambda: first.snapshot().status.state.value == "live", what="live")
        await first.stop()
        again = Monitor(make, journal_writer=True, clock=clock)
        updates = Recorder(again)
        await again.start()
        updates.start()
        try:
            await wait_for(lambda: updates.of(Outage), what="the outage between the runs")
            (outage,) = updates.of(Outage)
            assert outage.may_have_missed  # nothing received proves it
            shift[0] += WATCHED_PACE + make.heartbeat_seconds + LIVE_MARK_SLACK
            await wait_for(lambda: updates.of(OutageProven), what="the proof")
            assert [p.reported for p in updates.of(OutageProven)] == [outage]
            assert again.journal is not None and again.journal.flush(timeout=10)
        finally:
            await again.stop()
    finally:
        await other.stop()
    reader = open_reader_at(profile, url)
    try:
        missed = [o.may_have_missed for o in reader.outages() if o.ended_at >= outage.ended_at]
    finally:
        reader.close()
    assert missed == [False]
