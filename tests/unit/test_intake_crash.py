"""A stream task that fails (core/intake.py `_failed`) leaves an outage due: the restart
(`Monitor.restart_stream`) resumes after the last event the intake took in, from the stream's
last sign of life, where the "watched until" mark stopped; the new stream reports the gap as an
outage, proved whole by its replay or not, as any other (client/outages.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

from togul_monitor.client.outages import ResumePoint
from togul_monitor.core.intake import Intake
from togul_monitor.domain.events import (
    ConnectionState,
    FlagEvent,
    Heartbeat,
    Status,
    StreamCounters,
    StreamItem,
)

from .test_watched_mark import MarkedJournal, bare_intake

LIVE, RETRYING = ConnectionState.LIVE, ConnectionState.RETRYING


class FailingStream:
    """Hands out `batches`, then fails as a bug in the task would."""

    def __init__(self, batches: Sequence[list[StreamItem]]) -> None:
        self.counters = StreamCounters()
        self._batches = batches

    async def batches(self) -> AsyncIterator[list[StreamItem]]:
        for batch in self._batches:
            yield batch
        raise RuntimeError("a bug in the stream task")

    def restart(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


def _event(event_id: str, at: float) -> FlagEvent:
    return FlagEvent("flag.updated", "f", "env-1", int(event_id), at - 1, event_id, at)


async def _crashed(
    batches: Sequence[list[StreamItem]], resumed: ResumePoint | None = None
) -> tuple[Intake, MarkedJournal, list[bool]]:
    """An intake whose stream task handed out `batches`, then failed."""
    journal, blind = MarkedJournal(), list[bool]()
    intake = bare_intake(journal, on_blind=blind.append)
    intake.preload([], resumed=resumed)
    intake.start(FailingStream(batches), "stream")
    deadline = time.monotonic() + 5
    while intake.running:
        assert time.monotonic() < deadline, "the stream task did not fail"
        await asyncio.sleep(0.01)
    assert intake.status.state is ConnectionState.STOPPED
    return intake, journal, blind


async def test_a_live_stream_whose_task_fails_is_resumed_from_its_last_sign_of_life() -> None:
    live: tuple[list[StreamItem], ...] = (
        [Status(LIVE, 10.0)],
        [_event("6", 11.0), _event("7", 12.0)],
        [Heartbeat(14.0)],
    )
    intake, journal, blind = await _crashed(live)
    assert journal.marks[-1] == 14.0  # watched until then
    assert blind == [True]  # a change found before the restart's outage may hold a lost one
    resumed = intake.take_resumed()
    assert resumed == ResumePoint("7", 14.0, "env-1")  # the outage starts where the mark stopped
    intake._handle(Status(LIVE, 30.0))  # the restart is live, its outage not told yet
    assert not intake.watched.watching and journal.marks[-1] == 14.0
    await intake.stop()


async def test_a_task_that_fails_while_the_stream_is_down_keeps_when_it_was_lost() -> None:
    lost: tuple[list[StreamItem], ...] = (
        [Status(LIVE, 10.0)],
        [_event("7", 12.0)],
        [Status(RETRYING, 20.0)],
    )
    intake, _, blind = await _crashed(lost)
    assert blind == [True]  # told once, when it was lost
    assert intake.take_resumed() == ResumePoint("7", 20.0, "env-1")
    await intake.stop()


async def test_a_task_that_fails_live_again_before_the_outage_is_told_keeps_when_it_was_lost() -> (
    None
):
    back: tuple[list[StreamItem], ...] = (
        [Status(LIVE, 10.0)],
        [_event("7", 12.0)],
        [Status(RETRYING, 20.0)],
        [Status(LIVE, 25.0)],  # back, its outage not decided yet
    )
    intake, _, _ = await _crashed(back)
    assert intake.take_resumed() == ResumePoint("7", 20.0, "env-1")  # not 25: lost at 20
    await intake.stop()


async def test_a_task_that_fails_before_going_live_resumes_as_it_would_have() -> None:
    earlier = ResumePoint("3", 5.0, "env-1")  # the journal's: the time between the runs
    intake, _, _ = await _crashed([[Status(ConnectionState.CONNECTING, 10.0)]], earlier)
    assert intake.take_resumed() == earlier
    await intake.stop()
    intake, _, blind = await _crashed([[Status(ConnectionState.CONNECTING, 10.0)]])
    assert intake.take_resumed() is None and blind == []  # nothing was watched: no outage
    await intake.stop()
