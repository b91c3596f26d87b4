"""The outage between two recording runs starts when the earlier run stopped watching (its
"watched until" mark, core/watched.py), not at its last event; and a run that saw no event
still leaves a mark, so the next run's start is an outage too. Against the emulator over
loopback, the journal a SQLite file (the mark on both backends: tests/unit/test_journal_watched.py)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from togul_monitor.config.profiles import Profile
from togul_monitor.core import Monitor, MonitorSnapshot
from togul_monitor.core.updates import RecorderStopped, RecordingTaken
from togul_monitor.core.watched import LIVE_MARK_SLACK, WATCHED_PACE
from togul_monitor.domain.events import ConnectionState, FlagEvent, Outage, Status
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.store.journal import journal_path, open_journal_at, open_reader_at

from .test_monitor import Recorder, make_profile, wait_for

LIVE_AFTER = 1.0  # seconds the first run stays live after its last event


async def _a_run_that_stays_live(
    emulator: EmulatorHandle, profile: Profile, journal: Path, *, change: bool
) -> tuple[FlagEvent | None, float]:
    """A recording run that sees one event (`change`) or none, stays live LIVE_AFTER seconds
    (heartbeats prove it), then stops; its event, and when it began to stop."""
    first = Monitor(profile, journal_dir=journal)
    await first.start()
    try:
        await wait_for(lambda: first.snapshot().status.state is ConnectionState.LIVE, what="live")
        if change:
            await asyncio.to_thread(
                emulator.world.update_flag, "production", "checkout-v2", description="a"
            )
            await wait_for(lambda: len(first.event_log) == 1, what="the first run's event")
        since = first.event_log.last_received_at() or first.snapshot().status.at
        await wait_for(
            lambda: (first.snapshot().last_heartbeat_at or 0) > since + LIVE_AFTER,
            what="a heartbeat well after it",
        )
        stopping = time.time()
    finally:
        await first.stop()
    events = first.event_log.events()
    return (events[-1] if events else None), stopping


async def _the_outage_of_a_second_run(profile: Profile, journal: Path) -> tuple[Monitor, Outage]:
    second = Monitor(profile, journal_dir=journal)
    rec = Recorder(second)
    await second.start()
    rec.start()
    try:
        await wait_for(lambda: rec.of(Outage), what="the outage between the runs")
    except BaseException:
        await second.stop()
        raise
    (outage,) = rec.of(Outage)
    return second, outage


async def test_a_run_live_after_its_last_event_was_not_blind_then(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    profile = make_profile(emulator)
    last, stopping = await _a_run_that_stays_live(emulator, profile, tmp_path, change=True)
    assert last is not None
    reader = open_reader_at(profile.name, None, tmp_path)
    mark = reader.watched_until()
    assert mark is not None and last.received_at + LIVE_AFTER < mark <= stopping
    emulator.world.update_flag("production", "checkout-v2", description="b")  # unwatched
    second, outage = await _the_outage_of_a_second_run(profile, tmp_path)
    try:
        assert outage.started_at == mark  # not last.received_at: it watched until then
        assert not outage.may_have_missed  # and the replay from its last event proves it
        journal = second.journal
        assert journal is not None and journal.flush(timeout=5)
        assert outage in journal.outages()
    finally:
        await second.stop()


async def test_a_run_that_saw_no_event_makes_the_next_start_an_outage(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    profile = make_profile(emulator)
    last, stopping = await _a_run_that_stays_live(emulator, profile, tmp_path, change=False)
    assert last is None
    mark = open_reader_at(profile.name, None, tmp_path).watched_until()
    assert mark is not None and mark <= stopping
    emulator.world.update_flag("production", "checkout-v2", description="b")  # unwatched
    second, outage = await _the_outage_of_a_second_run(profile, tmp_path)
    try:
        assert outage.started_at == mark
        assert outage.may_have_missed and outage.replayed is None  # no id to resume from
        journal = second.journal
        assert journal is not None and journal.flush(timeout=5)
        assert outage in journal.outages()
    finally:
        await second.stop()


async def test_the_restart_after_a_crashed_stream_task_reports_the_gap_as_an_outage(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """The stream task fails (a bug), the mark stops at its last sign of life, a change comes
    meanwhile; `restart_stream` resumes after the last event taken in: the server replays the
    change, and the outage from the mark is journalled, proved whole by that replay."""
    monitor = Monitor(make_profile(emulator), journal_dir=tmp_path)
    await monitor.start()
    try:
        await wait_for(lambda: monitor.snapshot().status.state is ConnectionState.LIVE, what="live")
        await asyncio.to_thread(emulator.world.update_flag, "production", "dark-mode")
        await wait_for(lambda: len(monitor.event_log) == 1, what="the first event")
        effects = monitor._effects
        real_events = effects.events

        def broken(batch: list[FlagEvent]) -> None:
            raise RuntimeError("a bug in the stream task")

        effects.events = broken  # type: ignore[method-assign]
        await asyncio.to_thread(emulator.world.update_flag, "production", "dark-mode")
        await wait_for(
            lambda: monitor.snapshot().status.state is ConnectionState.STOPPED, what="the crash"
        )
        effects.events = real_events  # type: ignore[method-assign]
        journal = monitor.journal
        assert journal is not None and journal.flush(timeout=5)
        mark = open_reader_at("test", None, tmp_path).watched_until()
        assert mark is not None
        await asyncio.to_thread(emulator.world.update_flag, "production", "dark-mode")  # unseen
        monitor.restart_stream()

        def outages() -> list[Outage]:
            return [row for row in monitor.rows_since(0)[0] if isinstance(row, Outage)]

        await wait_for(lambda: outages(), what="the outage of the crash")
        (outage,) = outages()
        assert outage.started_at == mark and outage.replayed == 1
        assert not outage.may_have_missed  # the replay followed the last event taken in
        await wait_for(lambda: len(monitor.event_log.events()) == 3, what="the replayed change")
        assert journal.flush(timeout=5) and outage in journal.outages()
    finally:
        await monitor.stop()


@pytest.mark.parametrize("moved", [False, True], ids=["stopped", "live"])
async def test_a_reader_looks_again_at_a_recent_mark_once_a_live_recorder_would_have_moved_it(
    emulator: EmulatorHandle, tmp_path: Path, moved: bool
) -> None:
    """A monitor that only reads the journal (another process holds the SQLite file) opens on a
    mark 10 s old: taken as a live recorder's, it claims no window nobody watched. Once a live
    recorder would have moved it (its pace, the heartbeat and the slack later, by the monitor's
    clock), the mark is read again: not moved, its recorder had stopped watching there, and the
    window from it is told late (`RecorderStopped`, the snapshot's `watched_until`); moved, the
    recorder watches on, and nothing is told."""
    profile = make_profile(emulator)
    recorder = open_journal_at(profile.name, journal_path(profile.name, tmp_path))  # its lock
    shift = [0.0]

    def clock() -> float:
        return time.time() + shift[0]

    try:
        mark = clock() - 10.0
        recorder.set_watched_until(mark)
        assert recorder.flush()
        reader = Monitor(profile, journal_dir=tmp_path, clock=clock, takeover_interval=60)
        updates = Recorder(reader)
        await reader.start()
        updates.start()
        try:
            opened = reader.snapshot()
            assert opened.recorder_busy and opened.watched_until is not None
            assert opened.watched_until > mark  # its recorder taken as live
            if moved:
                recorder.set_watched_until(clock())
                assert recorder.flush()
            shift[0] += WATCHED_PACE + profile.heartbeat_seconds + LIVE_MARK_SLACK
            if moved:
                look = reader._recording._look
                await wait_for(lambda: look is not None and look.done(), what="the second look")
                assert updates.of(RecorderStopped) == []
                # Watching on: until the snapshot's time, never back to the mark.
                assert (reader.snapshot().watched_until or 0) >= opened.watched_until
            else:
                await wait_for(lambda: updates.of(RecorderStopped), what="the late window")
                assert updates.of(RecorderStopped) == [RecorderStopped(mark)]
                assert reader.snapshot().watched_until == mark
        finally:
            await reader.stop()
    finally:
        recorder.close()


async def test_a_reader_that_takes_the_journal_over_tells_the_window_its_recorder_left(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """A monitor that only reads the SQLite file opens on a mark 10 s old (its recorder taken
    as live) and takes the file over once that recorder is gone, before it would have looked
    at the mark again: the mark, the recorder's last word, says it stopped watching there. The
    time from it to this run's start was watched by nobody: journalled as an outage (as a
    resumed run's between the runs), told once (`RecorderStopped`, the snapshot's
    `watched_until`), never claimed watched."""
    profile = make_profile(emulator)
    recorder = open_journal_at(profile.name, journal_path(profile.name, tmp_path))  # its lock
    shift = [0.0]

    def clock() -> float:
        return time.time() + shift[0]

    mark = clock() - 10.0
    recorder.set_watched_until(mark)
    assert recorder.flush()
    reader = Monitor(profile, journal_dir=tmp_path, clock=clock, takeover_interval=0.3)
    updates = Recorder(reader)
    try:
        await reader.start()
        updates.start()
        opened = reader.snapshot()
        assert opened.recorder_busy and opened.watched_until is not None
        assert opened.watched_until > mark  # taken as live
        await wait_for(lambda: reader.snapshot().status.state is ConnectionState.LIVE, what="live")
        began = reader.snapshot().status.at
        recorder.close()  # gone, its mark where it was
        await wait_for(lambda: updates.of(RecordingTaken), what="the takeover")
        assert updates.of(RecorderStopped) == [RecorderStopped(mark)]
        assert reader.snapshot().watched_until == mark
        # Past when the look would have been due: it was not, and nothing is told twice.
        shift[0] += WATCHED_PACE + profile.heartbeat_seconds + LIVE_MARK_SLACK
        await wait_for(lambda: reader.snapshot().watched_until == mark, what="the snapshot")
    finally:
        await reader.stop()
        recorder.close()
    assert updates.of(RecorderStopped) == [RecorderStopped(mark)]
    journal = open_reader_at(profile.name, None, tmp_path)
    try:
        outages = journal.outages()
    finally:
        journal.close()
    assert [(o.started_at, o.ended_at, o.may_have_missed) for o in outages] == [
        (mark, pytest.approx(began, abs=1.0), True)
    ]


async def test_a_reader_that_takes_the_journal_over_before_it_is_live_has_it_in_its_outage(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """The server is down (503, try again in a minute) when a monitor opens the SQLite file
    another process records; that recorder is gone, and the monitor takes the file over before
    its stream has been live. Nobody watches from the recorder's mark until the stream is live
    again: no window closes at the takeover (none told, none journalled), and the first live
    connection's outage, from the mark to then, says it, once, as any outage."""
    profile = make_profile(emulator)
    recorder = open_journal_at(profile.name, journal_path(profile.name, tmp_path))  # its lock
    mark = time.time() - 10.0
    recorder.set_watched_until(mark)
    assert recorder.flush()
    emulator.faults.fail_next(1, 503, retry_after=60)
    reader = Monitor(profile, journal_dir=tmp_path, takeover_interval=0.3)
    updates = Recorder(reader)
    try:
        await reader.start()
        updates.start()
        await wait_for(
            lambda: reader.snapshot().status.state is ConnectionState.RETRYING, what="retrying"
        )
        recorder.close()  # gone, its mark where it was
        await wait_for(lambda: updates.of(RecordingTaken), what="the takeover")
        assert reader.snapshot().status.state is ConnectionState.RETRYING
        reader.restart_stream()  # the server is back
        await wait_for(lambda: updates.of(Outage), what="the first connection's outage")
        live = [s.at for s in updates.of(Status) if s.state is ConnectionState.LIVE]
        assert [(o.started_at, o.ended_at, o.may_have_missed) for o in updates.of(Outage)] == [
            (mark, live[0], True)
        ]
        assert updates.of(RecorderStopped) == []  # the outage says it: no window besides
    finally:
        await reader.stop()
        recorder.close()
    journal = open_reader_at(profile.name, None, tmp_path)
    try:
        outages = journal.outages()
    finally:
        journal.close()
    assert [(o.started_at, o.ended_at, o.may_have_missed) for o in outages] == [
        (mark, live[0], True)
    ]


async def test_a_shared_journals_reader_tells_the_window_a_second_recorder_journalled(
    emulator: EmulatorHandle,
) -> None:
    """A reader of a shared journal opens on a recorder's mark 10 s old (taken as live); that
    recorder is dead, and another starts after the reader: its mark lands past the reader's
    start, which alone would read as the first one watching on. The new recorder journals the
    time since the mark it found as its outage between the runs, so the reader, looking again,
    reads that outage: nobody watched from the mark to its start (`RecorderStopped`). Skipped
    without PostgreSQL."""
    import dataclasses

    from tests.journal_backends import postgres_url, scratch_profile

    url = postgres_url()
    shift = [0.0]

    def clock() -> float:
        return time.time() + shift[0]

    with scratch_profile(url) as name:
        profile = dataclasses.replace(make_profile(emulator, name=name), journal_url=url)
        environment = emulator.credentials.environment_ids["production"]
        mark = clock() - 10.0
        first = open_journal_at(name, url)
        try:
            first_event = FlagEvent(
                "flag.updated", "dark-mode", environment, 2, mark, None, mark - 2
            )
            first.append_event(first_event)
            first.set_watched_until(mark)
            assert first.flush()
        finally:
            first.close()  # killed: its mark moves no more
        reader = Monitor(profile, clock=clock)
        updates = Recorder(reader)
        second = Monitor(profile, journal_writer=True)
        try:
            await reader.start()
            updates.start()
            opened_at = reader.snapshot().watched_until
            assert opened_at is not None and opened_at > mark  # taken as live
            # Taken as live, the recorder watches on: a screen that attaches once the stream
            # is live (its run dated from then, after the opening) shows no window either.
            await wait_for(lambda: reader.snapshot().status.state is ConnectionState.LIVE)
            assert unwatched(reader.snapshot(), clock(), [first_event]) == []
            await second.start()
            look = open_reader_at(name, url)
            try:
                await wait_for(
                    lambda: (look.watched_until() or 0) > opened_at and look.outages(),
                    what="the second recorder's mark and outage",
                )
                assert [o.started_at for o in look.outages()] == [mark]
            finally:
                look.close()
            shift[0] += WATCHED_PACE + profile.heartbeat_seconds + LIVE_MARK_SLACK
            await wait_for(lambda: updates.of(RecorderStopped), what="the late window")
            assert updates.of(RecorderStopped) == [RecorderStopped(mark)]
            assert reader.snapshot().watched_until == mark
        finally:
            await second.stop()
            await reader.stop()


def unwatched(snapshot: MonitorSnapshot, now: float, recorded: list[FlagEvent]) -> list[Outage]:
    """The window nobody watched that a screen attaching to `snapshot` now shows under the
    `recorded` rows (ui/view/rows.py `run_boundary`)."""
    from togul_monitor.ui.view.rows import Unwatched, run_boundary

    items = run_boundary(snapshot, "utc", now)(recorded)
    return [item.source.outage for item in items if isinstance(item.source, Unwatched)]


async def test_a_reader_judges_a_recorders_mark_by_the_heartbeat_the_recorder_marks_at(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """A recorder (it holds the SQLite file) whose profile has a long heartbeat marks its
    stream's last sign of life, which on a quiet stream may be that long old, every pace: a
    reader of a profile with a short heartbeat that finds its mark older than its own heartbeat
    allows, yet younger than the recorder's, takes it as live (no `not watched` window), not
    as stopped at its mark. Judged by the reader's own heartbeat, it claimed a window while the
    recorder watched (the reader's clock here runs 30 s ahead, as a quiet stream's mark ages)."""
    slow = make_profile(emulator, heartbeat_seconds=100.0)
    quick = make_profile(emulator)  # heartbeat 0.2 s: its own live mark is at most ~20 s old
    recorder = Monitor(slow, journal_dir=tmp_path)
    await recorder.start()
    try:
        await wait_for(lambda: recorder.snapshot().status.state is ConnectionState.LIVE)
        path = journal_path(slow.name, tmp_path)
        await wait_for(lambda: read_mark(path) is not None, what="the recorder's mark")
        mark = read_mark(path)
        assert mark is not None
        ahead = 30.0
        assert ahead > WATCHED_PACE + quick.heartbeat_seconds + LIVE_MARK_SLACK

        def clock() -> float:
            return time.time() + ahead

        reader = Monitor(quick, journal_dir=tmp_path, clock=clock, takeover_interval=60)
        await reader.start()
        try:
            opened = reader.snapshot()
            assert opened.recorder_busy
            assert opened.watched_until is not None and opened.watched_until > mark  # live
        finally:
            await reader.stop()
    finally:
        await recorder.stop()


def read_mark(path: Path) -> float | None:
    journal = open_reader_at("test", None, path.parent)
    try:
        return journal.watched_until()
    finally:
        journal.close()
