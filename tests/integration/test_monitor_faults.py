"""The monitor core when something goes wrong inside it.

Over a real loopback server (`rawserver.py`), which sends exactly the bytes a test needs.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.rawserver import RawServer, Reply
from tests.integration.test_stream_client_raw import KEY, ev
from togul_monitor.config.profiles import Profile
from togul_monitor.core import Monitor, run_headless
from togul_monitor.core import intake as intake_module
from togul_monitor.domain.events import ConnectionState, FlagEvent, Outage, Status
from togul_monitor.store.writer import Writer


def profile_for(base_url: str) -> Profile:
    # No environment key: nothing is evaluated, so the server only ever sees the stream.
    return Profile(name="faults", base_url=base_url, environment_key="", api_key=KEY)


async def wait_for(cond: Callable[[], object], timeout: float = 5.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or cond}")
        await asyncio.sleep(0.01)


def journal_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "journal-faults" and t.is_alive()]


async def test_an_event_the_journal_cannot_store_is_malformed_and_recording_goes_on(
    tmp_path: Path,
) -> None:
    body = [ev(1, version=2**64), ev(2, flag="\ud800"), ev(3, ts=1e300), ev(4, version=7)]
    async with RawServer([Reply(body=body)]) as server:
        monitor = Monitor(profile_for(server.base_url), journal_dir=tmp_path)
        await monitor.start()
        try:
            await wait_for(lambda: monitor.snapshot().counters.events == 1, what="event 4")
            snap = monitor.snapshot()
            assert snap.counters.malformed == 3  # the three came before event 4
            journal = monitor.journal
            assert journal is not None
            # The client counts an event when it decodes it; the intake hands it to the journal
            # a moment later: wait for what the journal holds, not for the count.
            await wait_for(
                lambda: journal.flush(timeout=5) and len(journal.recent_events(10)) == 1,
                what="event 4 journalled",
            )
            assert [e.version for e in journal.recent_events(10)] == [7]
            snap = monitor.snapshot()
            assert snap.recording and snap.journal_dropped == 0
        finally:
            await monitor.stop()


async def test_reading_goes_on_when_the_journal_writer_has_died(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: the monitor waited forever for a backlog that a dead writer never drains.
    def die(self: Writer) -> None:
        raise RuntimeError("writer bug")

    monkeypatch.setattr(Writer, "_write_loop", die)
    monkeypatch.setattr(intake_module, "JOURNAL_HIGH_WATER", 3)
    monkeypatch.setattr(intake_module, "JOURNAL_LOW_WATER", 1)
    body = [ev(i, version=i) for i in range(1, 13)]
    async with RawServer([Reply(body=body)]) as server:
        monitor = Monitor(profile_for(server.base_url), journal_dir=tmp_path)
        await monitor.start()
        try:
            await wait_for(lambda: len(monitor.event_log) == 12, what="all 12 events")
            snap = monitor.snapshot()
            assert not snap.recording
            assert snap.journal_notice is not None and "writer bug" in snap.journal_notice
        finally:
            await monitor.stop()


async def test_the_journal_backlog_pauses_reading_until_the_writer_catches_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake_module, "JOURNAL_HIGH_WATER", 0)
    monkeypatch.setattr(intake_module, "JOURNAL_LOW_WATER", 0)
    body = [ev(i, version=i) for i in range(1, 6)]
    async with RawServer([Reply(body=body)]) as server:
        monitor = Monitor(profile_for(server.base_url), journal_dir=tmp_path)
        await monitor.start()
        try:
            await wait_for(lambda: len(monitor.event_log) == 5, what="all 5 events")
            assert monitor.snapshot().journal_waits >= 1
            journal = monitor.journal
            assert journal is not None and journal.flush(timeout=5)
            assert journal.count_events() == 5
        finally:
            await monitor.stop()


async def test_a_failing_stream_task_stops_visibly_and_ends_the_updates() -> None:
    async with RawServer([Reply(body=[ev(1)]), Reply(body=[ev(2, version=2)])]) as server:
        monitor = Monitor(profile_for(server.base_url), record=False)
        updates = monitor.updates()
        await monitor.start()
        real_extend = monitor.event_log.extend_events  # how the intake appends events

        def broken(events: list[FlagEvent]) -> None:
            raise RuntimeError("a bug in the event log")

        monitor.event_log.extend_events = broken  # type: ignore[method-assign]
        try:
            seen = await asyncio.wait_for(_collect(updates), 5)  # ends: no hang
            last = seen[-1]
            assert isinstance(last, Status) and last.state is ConnectionState.STOPPED
            assert last.error is not None and "a bug in the event log" in last.error
            assert monitor.snapshot().status.state is ConnectionState.STOPPED
            # restart_stream starts a fresh task, which reads again, and says that the stream
            # may have missed changes while no task read it (its event was never taken in).
            monitor.event_log.extend_events = real_extend  # type: ignore[method-assign]
            monitor.restart_stream()
            await wait_for(lambda: len(monitor.event_log.events()) == 1, what="the next event")
            rows, _ = monitor.rows_since(0)
            assert [type(row) for row in rows] == [Outage, FlagEvent]
            assert isinstance(rows[0], Outage) and rows[0].may_have_missed
        finally:
            await monitor.stop()


async def _collect(updates: object) -> list[object]:
    return [u async for u in updates]  # type: ignore[attr-defined]


async def test_run_headless_closes_the_journal_when_start_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(self: Monitor) -> None:
        raise RuntimeError("cannot start the stream")

    monkeypatch.setattr(Monitor, "_start_stream", fail)
    with pytest.raises(RuntimeError, match="cannot start"):
        async with run_headless(profile_for("http://127.0.0.1:9"), journal_dir=tmp_path):
            pass  # pragma: no cover - never reached
    assert journal_threads() == []


async def test_stop_closes_the_journal_and_ends_updates_even_if_a_close_fails(
    tmp_path: Path,
) -> None:
    async with RawServer([Reply(body=[ev(1)])]) as server:
        monitor = Monitor(profile_for(server.base_url), journal_dir=tmp_path)
        updates = monitor.updates()
        await monitor.start()
        await wait_for(lambda: len(monitor.event_log) == 1, what="an event")
        stream = monitor._intake.stream
        assert stream is not None
        real_aclose = stream.aclose

        async def broken_aclose() -> None:
            await real_aclose()
            raise RuntimeError("close failed")

        stream.aclose = broken_aclose  # type: ignore[method-assign]
        await monitor.stop()
        assert journal_threads() == []
        await asyncio.wait_for(_collect(updates), 5)  # the update stream ended
