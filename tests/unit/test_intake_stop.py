"""Stopping the intake (core/intake.py `Intake.stop`, which `Monitor.stop_reading` and
`Monitor.stop` run) while its caller is being cancelled: the caller's cancellation goes on, so a
`tail --count` stopping its stream when SIGTERM or Ctrl-C arrives still exits 143 or 130."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from togul_monitor.domain.events import StreamCounters, StreamItem

from .test_watched_mark import bare_intake


class SlowToClose:
    """A stream that reads nothing, and whose reading takes until `release` to wind up."""

    def __init__(self) -> None:
        self.counters = StreamCounters()
        self.reading = asyncio.Event()
        self.closing = asyncio.Event()
        self.release = asyncio.Event()

    async def batches(self) -> AsyncIterator[list[StreamItem]]:
        try:
            self.reading.set()
            await asyncio.Event().wait()  # nothing arrives
            yield []
        finally:
            self.closing.set()
            await self.release.wait()  # closing the connection takes a while

    def restart(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


async def test_a_caller_cancelled_while_the_stream_closes_stays_cancelled() -> None:
    intake = bare_intake(log_size=10)
    stream = SlowToClose()
    intake.start(stream, "stream")
    await asyncio.wait_for(stream.reading.wait(), 5)
    stopping = asyncio.create_task(intake.stop())
    await asyncio.wait_for(stream.closing.wait(), 5)  # the caller waits for the stream task
    stopping.cancel()
    stream.release.set()
    with pytest.raises(asyncio.CancelledError):
        await stopping
    await asyncio.wait_for(intake.stop(), 5)  # and a stop nobody cancels ends quietly
    assert not intake.running
