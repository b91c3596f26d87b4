"""The core's cross-thread pieces on their own: the event log's positions, the drain's
accounting of what it drops, and work handed to a loop that closes meanwhile."""

from __future__ import annotations

import asyncio
import threading
import time

from togul_monitor.core.loop import OwnerLoop
from togul_monitor.core.updates import Dropped, UpdateHub
from togul_monitor.domain.event_log import EventLog
from togul_monitor.domain.events import ConnectionState, FlagEvent, Malformed, Status


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
    hub = UpdateHub(max_pending=2)
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
    # The loss is said where it began, before the status kept through it.
    assert hub.drain() == [ev(1), ev(2), Dropped(updates=2, rows=2, events=2), stopped]


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
    assert [update async for update in stream] == rows[:5]
