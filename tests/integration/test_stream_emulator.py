"""StreamClient against the emulator and its fault switches.

The client's sleep is injected: it records each backoff delay and waits on a gate the test
opens, so "during the outage" is a state the test controls, not a race against a timer.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict
from collections.abc import Callable

import pytest

from togul_monitor.client import attempt
from togul_monitor.client.stream import StreamClient
from togul_monitor.domain.events import (
    ConnectionState,
    FlagEvent,
    Heartbeat,
    Malformed,
    Outage,
    Status,
)
from togul_monitor.emulator.harness import EmulatorHandle

FLAGS = ("new-dashboard", "checkout-v2")


class GatedSleep:
    """Records every delay; waits on `gate` when it is closed, else returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await self.gate.wait()


class Collector:
    """Runs `client.items()` in a task and keeps everything it yields."""

    def __init__(self, client: StreamClient) -> None:
        self.client = client
        self.items: list[object] = []
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Collector:
        async def consume() -> None:
            async for item in self.client.items():
                self.items.append(item)

        self.task = asyncio.create_task(consume())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        if not self.task.done():
            self.task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await self.task
        await self.client.aclose()

    async def until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        async def poll() -> None:
            while not predicate():
                if self.task is not None and self.task.done():
                    self.task.result()
                    raise AssertionError(f"the stream ended: {self.items[-3:]}")
                await asyncio.sleep(0.01)

        await asyncio.wait_for(poll(), timeout)

    def events(self) -> list[FlagEvent]:
        return [i for i in self.items if isinstance(i, FlagEvent)]

    def states(self, state: ConnectionState) -> list[Status]:
        return [i for i in self.items if isinstance(i, Status) and i.state is state]

    def outages(self) -> list[Outage]:
        return [i for i in self.items if isinstance(i, Outage)]


def client_for(emu: EmulatorHandle, **kwargs: object) -> tuple[StreamClient, GatedSleep]:
    sleep = GatedSleep()
    options: dict[str, object] = {
        "api_key": emu.credentials.keys["production"]["sdk"],
        "sleep": sleep,
        "read_timeout": 2.0,
        "random": lambda: 0.0,
    }
    options.update(kwargs)
    return StreamClient(emu.base_url, **options), sleep  # type: ignore[arg-type]


def toggle(emu: EmulatorHandle, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        emu.world.update_flag("production", FLAGS[i % 2], enabled=bool(i % 3))


def assert_no_loss_no_duplicates(events: list[FlagEvent]) -> None:
    ids = [int(e.event_id or "0") for e in events]
    assert ids == sorted(set(ids)), "ids strictly increasing"
    versions: dict[str, list[int]] = defaultdict(list)
    for event in events:
        versions[event.flag_key].append(event.version)
    for flag, seen in versions.items():
        assert seen == list(range(seen[0], seen[0] + len(seen))), (flag, seen)


async def test_a_cut_stream_with_replay_loses_and_duplicates_nothing(emulator) -> None:
    client, sleep = client_for(emulator)
    async with Collector(client) as run:
        await run.until(lambda: run.states(ConnectionState.LIVE))
        toggle(emulator, 6)
        await run.until(lambda: len(run.events()) == 6)
        sleep.gate.clear()
        emulator.faults.cut_streams()
        await run.until(lambda: run.states(ConnectionState.RETRYING))
        toggle(emulator, 5, start=6)  # while the client is away
        sleep.gate.set()
        await run.until(lambda: len(run.events()) == 11)
        toggle(emulator, 3, start=11)  # and live again afterwards
        await run.until(lambda: len(run.events()) == 14)
    events = run.events()
    assert_no_loss_no_duplicates(events)
    assert len(events) == 14
    [outage] = run.outages()
    assert outage.may_have_missed is False  # replay resumed at last id + 1
    assert outage.replayed == 5
    assert run.states(ConnectionState.RETRYING)[0].error.startswith("connection broken")


async def test_a_restart_without_replay_yields_an_outage_and_carries_on(emulator) -> None:
    client, sleep = client_for(emulator)
    async with Collector(client) as run:
        await run.until(lambda: run.states(ConnectionState.LIVE))
        toggle(emulator, 4)
        await run.until(lambda: len(run.events()) == 4)
        sleep.gate.clear()
        emulator.faults.cut_streams()
        await run.until(lambda: run.states(ConnectionState.RETRYING))
        toggle(emulator, 2, start=4)  # lost: the server forgets them
        emulator.faults.forget_replay()
        sleep.gate.set()
        await run.until(lambda: len(run.states(ConnectionState.LIVE)) == 2)
        await emulator.await_streams(1)
        toggle(emulator, 2, start=6)
        await run.until(lambda: len(run.events()) == 6)
    [outage] = run.outages()
    assert outage.may_have_missed is True
    assert outage.started_at <= outage.ended_at
    assert len(run.events()) == 6  # 4 before, 2 after; the 2 in between are gone


async def test_a_stall_longer_than_the_read_timeout_is_detected(emulator) -> None:
    client, _ = client_for(emulator, read_timeout=0.4)
    async with Collector(client) as run:
        await run.until(lambda: run.states(ConnectionState.LIVE))
        emulator.faults.stall(1.0)
        await run.until(lambda: run.states(ConnectionState.RETRYING))
        mark = len(run.items)
        # healthy again once heartbeats flow on a new connection
        await run.until(lambda: any(isinstance(i, Heartbeat) for i in run.items[mark:]))
        toggle(emulator, 1)
        await run.until(lambda: len(run.events()) == 1)
    retrying = run.states(ConnectionState.RETRYING)
    assert retrying[0].error == "no data for 0.4 s (read timeout)"
    assert client.counters.reconnects >= 1
    assert len(run.outages()) == 1  # one outage, however many attempts it took
    assert run.outages()[0].started_at <= retrying[0].at < run.outages()[0].ended_at


async def test_a_stall_outage_starts_when_the_data_stopped_not_when_it_was_noticed(
    emulator,
) -> None:
    # The read timeout (90 s by default) is blind time: an outage marker that starts when the
    # timeout fired understates the window in which changes may be missing.
    client, _ = client_for(emulator, read_timeout=0.4)
    async with Collector(client) as run:
        await run.until(lambda: run.states(ConnectionState.LIVE))
        emulator.faults.stall(0.6)
        await run.until(lambda: run.states(ConnectionState.RETRYING))
        # The outage is reported once data flows again (a heartbeat will do). Under load a
        # reconnect may land inside the stall window and stall once more: the first outage is
        # the one this test is about.
        await run.until(lambda: len(run.outages()) >= 1)
    retrying = run.states(ConnectionState.RETRYING)[0]
    outage = run.outages()[0]
    assert outage.started_at <= retrying.at - 0.4 + 1e-6
    assert outage.started_at >= run.states(ConnectionState.LIVE)[0].at


async def test_a_stall_ended_by_the_peer_starts_the_outage_at_the_last_byte(emulator) -> None:
    # The server (or a proxy) goes silent, then closes before the read timeout: the changes
    # lost were made in the silence, so the outage starts at the last byte received, not at
    # the close, as it does when the read timeout ends the same stall.
    # The clock jumps 20 s once the stall began: the silence the window must hold.
    skew = [0.0]
    client, _ = client_for(emulator, read_timeout=30.0, clock=lambda: time.time() + skew[0])
    async with Collector(client) as run:
        await run.until(lambda: any(isinstance(i, Heartbeat) for i in run.items))
        emulator.faults.stall(30.0)
        skew[0] = 20.0
        emulator.faults.cut_streams()
        await run.until(lambda: run.states(ConnectionState.RETRYING))
        emulator.faults.stall(0.0)
        await run.until(lambda: len(run.outages()) == 1)
    (outage,) = run.outages()
    before = run.items[: run.items.index(outage)]
    last = [i for i in before if isinstance(i, Heartbeat)][-1]
    assert outage.started_at == last.at  # the last sign of life: its byte's heartbeat
    assert outage.started_at < run.states(ConnectionState.RETRYING)[0].at


async def test_after_a_silent_connection_live_waits_for_a_byte(emulator) -> None:
    # A stalled server answers a reconnect's headers and then sends nothing again: that is not
    # live, and the outage goes on until data flows. The stall outlasts several read timeouts.
    client, _ = client_for(emulator, read_timeout=0.3)
    async with Collector(client) as run:
        await run.until(lambda: run.states(ConnectionState.LIVE))
        emulator.faults.stall(1.5)
        await run.until(lambda: len(run.states(ConnectionState.RETRYING)) >= 2)
        await run.until(lambda: len(run.states(ConnectionState.LIVE)) == 2, timeout=10)
        await run.until(lambda: len(run.outages()) == 1)  # with the first byte's batch
    waiting = [s for s in run.states(ConnectionState.CONNECTING) if s.error == attempt.NO_DATA_YET]
    assert waiting, "the reconnects inside the stall were not said to wait for data"
    first_live, back = run.states(ConnectionState.LIVE)
    assert back.at > waiting[-1].at  # live once a byte came, not on the headers
    (outage,) = run.outages()  # one window, however many silent connections it took
    assert outage.started_at < run.states(ConnectionState.RETRYING)[0].at
    assert outage.ended_at == back.at


async def test_a_restart_inside_a_stall_neither_goes_live_nor_splits_the_outage(
    emulator,
) -> None:
    # `R` while a silent server keeps a new connection waiting: that connection ended without a
    # byte, which proves nothing; the next one waits for data too, and the outage is one.
    # Each `monotonic()` is 10 s after the last: a connection that never went live must still
    # forgive no failure (the attempts go on growing), where a live one of 10 s would.
    clock = itertools.count(step=10.0)
    client, _ = client_for(emulator, read_timeout=0.3, monotonic=lambda: next(clock))
    async with Collector(client) as run:
        await run.until(lambda: run.states(ConnectionState.LIVE))
        emulator.faults.stall(2.0)
        waiting = lambda: [  # noqa: E731
            s for s in run.states(ConnectionState.CONNECTING) if s.error == attempt.NO_DATA_YET
        ]
        await run.until(lambda: len(waiting()) >= 2)
        client.restart()
        await run.until(lambda: len(run.states(ConnectionState.LIVE)) == 2, timeout=10)
        await run.until(lambda: len(run.outages()) == 1)
    first_live, back = run.states(ConnectionState.LIVE)
    (outage,) = run.outages()
    assert outage.ended_at == back.at and back.at > waiting()[-1].at
    attempts = [s.attempt for s in run.states(ConnectionState.RETRYING)]
    resets = [i for i in range(1, len(attempts)) if attempts[i] <= attempts[i - 1]]
    assert len(resets) == 1 and attempts[resets[0]] == 1  # the restart's own, none other
    assert max(attempts) >= 2


async def test_503_with_retry_after_waits_at_least_that_long(emulator) -> None:
    emulator.faults.fail_next(1, status=503, retry_after=2)
    client, sleep = client_for(emulator, clock=lambda: 1000.0)
    async with Collector(client) as run:
        await run.until(lambda: run.states(ConnectionState.LIVE))
    assert sleep.delays[0] >= 2.0
    retrying = run.states(ConnectionState.RETRYING)[0]
    assert retrying.next_try_at is not None and retrying.next_try_at >= 1002.0
    assert retrying.error.startswith("HTTP 503")


async def test_a_revoked_key_stops_the_client(emulator) -> None:
    key = emulator.credentials.keys["production"]["sdk"]
    client, _ = client_for(emulator, api_key=key)
    async with Collector(client) as run:
        await run.until(lambda: run.states(ConnectionState.LIVE))
        emulator.faults.revoke_key(key)
        await run.until(lambda: run.states(ConnectionState.STOPPED))
        assert run.task is not None
        await asyncio.wait_for(run.task, 5)  # items() ends after STOPPED
    stopped = run.states(ConnectionState.STOPPED)[0]
    assert stopped.credentials_rejected is True
    assert "401" in (stopped.error or "")
    assert key not in (stopped.error or "")


async def test_a_malformed_event_is_counted_and_the_next_good_event_arrives(emulator) -> None:
    client, _ = client_for(emulator)
    async with Collector(client) as run:
        await run.until(lambda: run.states(ConnectionState.LIVE))
        emulator.faults.emit_malformed("not json")
        toggle(emulator, 1)
        await run.until(lambda: len(run.events()) == 1)
    bad = [i for i in run.items if isinstance(i, Malformed)]
    assert len(bad) == 1 and bad[0].raw == "not json"
    assert client.counters.malformed == 1
    assert run.items.index(bad[0]) < run.items.index(run.events()[0])


async def test_backoff_follows_the_policy(emulator) -> None:
    emulator.faults.fail_next(5, status=503, retry_after=None)
    client, sleep = client_for(emulator, random=lambda: 0.5, clock=lambda: 50.0)
    async with Collector(client) as run:
        await run.until(lambda: run.states(ConnectionState.LIVE))
    assert sleep.delays == [0.75, 1.5, 3.0, 6.0, 12.0]
    retrying = run.states(ConnectionState.RETRYING)
    assert [r.attempt for r in retrying] == [1, 2, 3, 4, 5]
    assert [r.next_try_at for r in retrying] == [50.0 + d for d in sleep.delays]


async def test_versions_from_the_emulator_turn_on_gap_detection_without_false_gaps(
    emulator,
) -> None:
    client, _ = client_for(emulator)
    async with Collector(client) as run:
        await run.until(lambda: run.states(ConnectionState.LIVE))
        toggle(emulator, 8)
        await run.until(lambda: len(run.events()) == 8)
    assert client.counters.gaps == 0
    assert client._builder.versions.per_flag is True  # interleaved +1 steps were seen
