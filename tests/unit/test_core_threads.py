"""The core's cross-thread pieces on their own: the event log's positions, the drain's
accounting of what it drops, and work handed to a loop that closes meanwhile."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator

from togul_monitor.core.loop import OwnerLoop
from togul_monitor.core.updates import Dropped, RecorderStopped, UpdateHub
from togul_monitor.domain.event_log import EventLog
from togul_monitor.domain.events import (
    ConnectionState,
    FlagEvent,
    Malformed,
    Outage,
    OutageProven,
    PossibleGap,
    Status,
)


def ev(i: int) -> FlagEvent:
    return FlagEvent("flag.updated", f"f{i % 3}", "env", i, float(i), str(i), float(i))


def test_rows_since_answers_by_position_once_the_ring_has_trimmed() -> None:
    log = EventLog(5)
    for i in range(8):
        log.append(ev(i))
    rows, end = log.rows_since(4)
    assert [r.version for r in rows] == [4, 5, 6, 7] and end == 8  # type: ignore[union-attr]
    rows, end = log.rows_since(0)  # 0..2 are gone: what is left, from the oldest kept
    assert [r.version for r in rows] == [3, 4, 5, 6, 7] and end == 8  # type: ignore[union-attr]
    assert log.rows_since(8) == ([], 8)


def test_the_drain_says_how_many_rows_and_events_it_dropped() -> None:
    # No room for notices: the unusable event is dropped too, a row that is no event.
    hub = UpdateHub(max_pending=2, max_notices=0)
    hub.enable_drain()
    hub.publish_rows([ev(1), ev(2), Malformed("bad", "{}", None, 3.0), ev(4)])
    hub.commit()
    drained = hub.drain()
    assert drained[:2] == [ev(1), ev(2)]
    assert drained[2:] == [Dropped(updates=2, rows=2, events=1)]
    assert hub.drain() == []  # the loss is reported once


def test_an_overflowing_drain_keeps_the_statuses() -> None:
    # A reader waits for the STOPPED status to end (tail): dropping it would leave it waiting.
    hub = UpdateHub(max_pending=2)
    hub.enable_drain()
    stopped = Status(ConnectionState.STOPPED, 9.0, error="monitor failed: boom")
    hub.publish_rows([ev(1), ev(2), ev(3)])
    hub.publish(stopped)
    hub.publish_rows([ev(4)])
    hub.commit()
    # The loss is said where it was: on each side of the status kept through it.
    assert hub.drain() == [ev(1), ev(2), Dropped(1, 1, 1), stopped, Dropped(1, 1, 1)]
    # Nor the late window nobody watched (one a run at most): the view would never show it.
    hub.publish_rows([ev(5), ev(6), ev(7)])
    hub.publish(RecorderStopped(3.0))
    hub.commit()
    assert hub.drain() == [ev(5), ev(6), Dropped(1, 1, 1), RecorderStopped(3.0)]


def test_an_overflowing_drain_keeps_what_says_a_gap_in_order_and_the_loss_where_it_was() -> None:
    # A reader that lost an outage would print its later proof alone (tail --json), and one that
    # lost a marker would number the log's rows wrong (the TUI's view): each is kept, after a
    # `Dropped` for what was lost before it, across commits until the reader drains.
    hub = UpdateHub(max_pending=2)
    hub.enable_drain()
    outage = Outage(5.0, 6.0, 0, True, 7.0)
    proven = OutageProven(Outage(5.0, 6.0, 0, False, 7.0, proven_at=9.0))
    gap = PossibleGap("f1", "env", 3, 5, "8", 8.0)
    bad = Malformed("bad", "{}", None, 10.0)
    hub.publish_rows([ev(1), ev(2), ev(3), outage, ev(4)])
    hub.commit()
    hub.publish(proven)
    hub.publish_rows([ev(5), gap, ev(6), ev(7)])
    hub.publish_rows([bad])
    hub.commit()
    assert hub.drain() == [
        ev(1),
        ev(2),
        Dropped(1, 1, 1),
        outage,
        Dropped(1, 1, 1),  # the commit before the proof lost ev(4), said before it
        proven,
        Dropped(1, 1, 1),
        gap,
        Dropped(2, 2, 2),
        bad,
    ]
    assert hub.dropped == 5


def test_an_overflow_keeps_notices_up_to_its_bound_and_counts_the_rest() -> None:
    # A server that sends unusable events at its rate must not grow the buffer without bound.
    hub = UpdateHub(max_pending=1, max_notices=1)
    hub.enable_drain()
    bad = [Malformed("bad", "{}", None, float(i)) for i in range(3)]
    outage = Outage(5.0, 6.0, 0, True, 7.0)
    hub.publish_rows([ev(1), bad[0], bad[1], outage, bad[2]])
    hub.commit()
    assert hub.drain() == [ev(1), bad[0], Dropped(1, 1, 0), outage, Dropped(1, 1, 0)]
    hub.publish_rows([ev(2), bad[1], bad[2]])  # a drain makes room for notices again
    hub.commit()
    assert hub.drain() == [ev(2), bad[1], Dropped(1, 1, 0)]


def test_ask_does_not_wait_for_a_loop_that_closed_with_the_question_queued() -> None:
    owner = OwnerLoop()
    bound = threading.Event()
    busy = threading.Event()
    loop_holder: list[asyncio.AbstractEventLoop] = []

    def host() -> None:
        loop = asyncio.new_event_loop()
        loop_holder.append(loop)

        async def bind() -> None:
            owner.bind()

        loop.run_until_complete(bind())
        bound.set()

        def stay_busy_then_stop() -> None:
            busy.set()
            time.sleep(0.3)  # the question arrives while the loop is busy...
            loop.stop()  # ...and the loop stops before it gets to it

        loop.call_soon(stay_busy_then_stop)
        loop.run_forever()
        loop.close()
        owner.closed()

    thread = threading.Thread(target=host)
    thread.start()
    assert bound.wait(5)
    assert busy.wait(5)
    started = time.monotonic()
    assert owner.ask(lambda: "answered") == "answered"
    assert time.monotonic() - started < 3.0  # not the 10 s timeout
    thread.join(5)


async def test_a_batch_of_rows_beyond_a_readers_bound_is_cut_and_counted() -> None:
    hub = UpdateHub(max_pending=5)
    stream = hub.subscribe(ended=False)
    rows = [
        FlagEvent("flag.updated", f"f{i}", "env", i, 0.0, event_id=str(i), received_at=0.0)
        for i in range(8)
    ]
    hub.publish_rows(rows[:3])
    hub.publish_rows(rows[3:])  # 2 fit, 3 are dropped
    assert stream.dropped == 3 and hub.dropped == 3
    hub.end_all()
    assert [update async for update in stream] == [*rows[:5], Dropped(3, 3, 3)]


async def _next(stream: AsyncIterator[object]) -> object:
    return await asyncio.wait_for(anext(stream), 5)


async def test_an_update_stream_behind_keeps_the_outage_and_the_stop_in_order() -> None:
    # `record` logs the outage, `wait` ends on the STOPPED status: a subscriber that fell behind
    # gets them (the drain's rule), in order, each after a `Dropped` for what it lost before it.
    hub = UpdateHub(max_pending=2)
    stream = hub.subscribe(ended=False)
    outage = Outage(5.0, 6.0, 0, True, 7.0)
    stopped = Status(ConnectionState.STOPPED, 9.0, error="monitor failed: boom")
    hub.publish_rows([ev(1), ev(2), ev(3), outage, ev(4)])
    assert await _next(stream) == ev(1)
    hub.publish_rows([ev(5)])  # room again, but nothing goes ahead of what was lost
    hub.publish(stopped)
    assert [await _next(stream) for _ in range(5)] == [
        ev(2),
        Dropped(1, 1, 1),
        outage,
        Dropped(2, 2, 2),  # ev(4) and ev(5)
        stopped,
    ]
    hub.publish_rows([ev(6), ev(7), ev(8)])
    assert [await _next(stream) for _ in range(3)] == [ev(6), ev(7), Dropped(1, 1, 1)]
    hub.publish_rows([ev(9)])  # the reader caught up: the stream takes updates again
    hub.end_all()
    assert [update async for update in stream] == [ev(9)]
    assert stream.dropped == hub.dropped == 4
