"""An outage reported before any proof (a quiet stream: nothing within DECISION_DELAY of the
reconnect) is decided again by the first event after it (client/outages.py), against
`rawserver.py` over a real loopback socket."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from tests.integration.rawserver import RawServer, Reply
from tests.integration.test_stream_client_raw import ev, events, make_client, run
from togul_monitor.client import outages
from togul_monitor.client.outages import ResumePoint
from togul_monitor.domain.events import Outage, OutageProven


@pytest.fixture(autouse=True)
def _quick_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outages, "DECISION_DELAY", 0.05)


def _after_the_outage(release: asyncio.Event, wanted: int) -> Callable[[list[object]], bool]:
    """`run`'s condition: the held reply goes on once the outage is reported (so the event
    comes after the timeout), and the run ends at `wanted` events."""

    def until(items: list[object]) -> bool:
        if any(isinstance(i, Outage) for i in items):
            release.set()
        return len(events(items)) >= wanted

    return until


@pytest.mark.parametrize(("next_id", "proven"), [(8, True), (10, False)])
async def test_a_quiet_reconnect_is_proved_whole_by_the_next_id(next_id: int, proven: bool) -> None:
    release = asyncio.Event()
    script = [
        Reply(body=[ev(7)], end="eof"),
        Reply(body=[release, b": heartbeat\n\n", ev(next_id, version=2)]),
    ]
    async with RawServer(script) as server:
        client, _ = make_client(server)
        items = await run(client, _after_the_outage(release, 2))
    (outage,) = [i for i in items if isinstance(i, Outage)]
    assert outage.may_have_missed is True  # reported before any event came
    revisions = [i for i in items if isinstance(i, OutageProven)]
    if not proven:
        assert revisions == []
        return
    (revision,) = revisions
    assert revision.reported == outage  # the same outage...
    assert revision.outage.may_have_missed is False  # ...now proved whole
    assert revision.outage.proven_at is not None
    assert items.index(outage) < items.index(revision) < items.index(events(items)[1])


async def test_an_outage_decided_on_a_heartbeat_is_proved_whole_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outages, "DECISION_DELAY", 30.0)  # the heartbeat decides, not the timer
    release = asyncio.Event()
    script = [
        Reply(body=[ev(7)], end="eof"),
        Reply(body=[b": heartbeat\n\n", release, ev(8, version=2)]),
    ]
    async with RawServer(script) as server:
        client, _ = make_client(server)
        items = await run(client, _after_the_outage(release, 2))
    (outage,) = [i for i in items if isinstance(i, Outage)]
    (revision,) = [i for i in items if isinstance(i, OutageProven)]
    assert outage.may_have_missed is True and revision.reported == outage


async def test_a_connection_lost_before_the_next_event_leaves_the_outage_as_reported() -> None:
    release = asyncio.Event()
    script = [
        Reply(body=[ev(7)], end="eof"),
        Reply(body=[release], end="eof"),
        Reply(body=[ev(8, version=2)]),
    ]
    async with RawServer(script) as server:
        client, _ = make_client(server)
        items = await run(client, _after_the_outage(release, 2))
    assert not any(isinstance(i, OutageProven) for i in items)


@pytest.mark.parametrize(("env", "proven"), [("e1", True), ("e2", False)])
async def test_a_resumed_run_is_proved_whole_only_by_its_own_stream(env: str, proven: bool) -> None:
    since = 1_700_000_000.0
    release = asyncio.Event()
    async with RawServer([Reply(body=[release, ev(42, ts=since + 5, env=env)])]) as server:
        client, _ = make_client(server, resumed=ResumePoint("41", since, "e1"))
        items = await run(client, _after_the_outage(release, 1))
    assert any(isinstance(i, OutageProven) for i in items) is proven
