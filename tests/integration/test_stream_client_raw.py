"""StreamClient against `rawserver.py`: the HTTP cases H1–H12, ids I2/I5–I8, `retry`, duplicates,
outages, restart and cancellation. Sleeps are injected and recorded (never waited for real)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import aclosing

import pytest

from tests.integration.rawserver import RawServer, Reply
from togul_monitor.client.outages import ResumePoint
from togul_monitor.client.stream import StreamClient
from togul_monitor.config.entry import Profile
from togul_monitor.domain.events import (
    ConnectionState,
    FlagEvent,
    Heartbeat,
    Malformed,
    Outage,
    PossibleGap,
    Status,
)
from togul_monitor.support.text import mask_secret

KEY = "tgl_sdk_0123456789abcdef9f2c"
STOP = Reply(status=204)  # ends a client's run: 204 means "do not reconnect"


def ev(
    event_id: int | str | None,
    flag: str = "a",
    version: int = 1,
    ts: float = 1_700_000_000,
    env: str = "e1",
    etype: str = "flag.updated",
) -> bytes:
    data = json.dumps(
        {
            "type": etype,
            "flag_key": flag,
            "environment_id": env,
            "version": version,
            "timestamp": ts,
        }
    )
    head = b"" if event_id is None else f"id: {event_id}\n".encode()
    return head + f"data: {data}\n\n".encode()


class Recorder:
    """An injected sleep: records the delay, yields once, never waits."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


def make_client(server: RawServer, **kwargs: object) -> tuple[StreamClient, Recorder]:
    sleep = Recorder()
    options: dict[str, object] = {"api_key": KEY, "sleep": sleep, "random": lambda: 0.0}
    options.update(kwargs)
    return StreamClient(server.base_url, **options), sleep  # type: ignore[arg-type]


async def run(
    client: StreamClient,
    until: Callable[[list[object]], bool] | None = None,
    timeout: float = 5.0,
) -> list[object]:
    """Collect items until `until(items)` holds or the client ends on its own."""
    items: list[object] = []

    async def consume() -> None:
        async with aclosing(client.items()) as stream:
            async for item in stream:
                items.append(item)
                if until is not None and until(items):
                    return

    try:
        await asyncio.wait_for(consume(), timeout)
    finally:
        await client.aclose()
    return items


def statuses(items: list[object]) -> list[ConnectionState]:
    return [i.state for i in items if isinstance(i, Status)]


def stopped(items: list[object]) -> Status:
    last = items[-1]
    assert isinstance(last, Status) and last.state is ConnectionState.STOPPED, items
    return last


def events(items: list[object]) -> list[FlagEvent]:
    return [i for i in items if isinstance(i, FlagEvent)]


def count(n: int) -> Callable[[list[object]], bool]:
    return lambda items: len(events(items)) >= n


# ------------------------------------------------------------------ H1 – H12


async def test_h1_first_request_method_and_headers() -> None:
    async with RawServer([Reply(body=[ev(1)], end="eof")], after=STOP) as server:
        client, _ = make_client(server)
        items = await run(client)
    first = server.requests[0]
    assert first.method == "GET"
    assert first.target == "/api/v1/stream"
    assert first.header("accept") == b"text/event-stream"
    assert first.header("cache-control") == b"no-cache"
    assert first.header("x-api-key") == KEY.encode()
    assert first.header("authorization") is None
    assert first.header("last-event-id") is None
    assert statuses(items)[:2] == [ConnectionState.CONNECTING, ConnectionState.LIVE]


async def test_h1_bearer_token() -> None:
    async with RawServer([STOP]) as server:
        client, _ = make_client(server, api_key=None, token="jwt.token.value")
        await run(client)
    assert server.requests[0].header("authorization") == b"Bearer jwt.token.value"
    assert server.requests[0].header("x-api-key") is None


@pytest.mark.parametrize(
    "content_type",
    ["text/event-stream; charset=utf-8", "Text/Event-Stream", " text/event-stream ;x=y"],
)
async def test_h2_content_type_essence_opens(content_type: str) -> None:
    reply = Reply(body=[ev(1)], headers=[("Content-Type", content_type)])
    async with RawServer([reply]) as server:
        client, _ = make_client(server)
        items = await run(client, count(1))
    assert events(items)[0].event_id == "1"


@pytest.mark.parametrize(
    "headers",
    [[("Content-Type", "application/json")], [], [("Content-Type", "text/event-streamx")]],
)
async def test_h3_wrong_content_type_stops_without_reconnect(headers: list) -> None:
    async with RawServer([Reply(body=[ev(1)], headers=headers, end="eof")]) as server:
        client, sleep = make_client(server)
        items = await run(client)
    assert "not an event stream" in (stopped(items).error or "")
    assert len(server.requests) == 1
    assert sleep.delays == []


async def test_h4_204_stops_after_exactly_one_request() -> None:
    async with RawServer([STOP]) as server:
        client, _ = make_client(server)
        items = await run(client)
    assert "204" in (stopped(items).error or "")
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [301, 307])
async def test_h5_redirects_are_followed(status: int) -> None:
    script = [
        Reply(status=status, headers=[("Location", "/moved/stream")], end="eof"),
        Reply(body=[ev(1)]),
    ]
    async with RawServer(script) as server:
        client, _ = make_client(server)
        items = await run(client, count(1))
    assert events(items)[0].flag_key == "a"
    assert server.requests[1].target == "/moved/stream"
    assert server.requests[1].header("x-api-key") == KEY.encode()  # same origin


@pytest.mark.parametrize("headers", [[("Location", "")], []])
async def test_h6_redirect_without_location_is_an_error(headers: list) -> None:
    async with RawServer([Reply(status=307, headers=headers, end="eof")]) as server:
        client, _ = make_client(server)
        items = await run(client)
    assert "without a Location" in (stopped(items).error or "")
    assert len(server.requests) == 1


async def test_h7_clean_end_reconnects_with_last_event_id() -> None:
    script = [Reply(body=[ev(1), ev(2)], end="eof"), Reply(body=[ev(3)])]
    async with RawServer(script) as server:
        client, sleep = make_client(server)
        items = await run(client, count(3))
    assert [e.event_id for e in events(items)] == ["1", "2", "3"]
    assert server.requests[1].header("last-event-id") == b"2"
    retrying = [i for i in items if isinstance(i, Status) and i.state is ConnectionState.RETRYING]
    assert retrying[0].error == "server ended the stream"
    assert sleep.delays == [1.0]
    assert client.counters.reconnects == 1


async def test_h8_broken_connection_reconnects_and_drops_the_partial_event() -> None:
    script = [Reply(body=[ev(1), b'id: 2\ndata: {"ty'], end="reset"), Reply(body=[ev(3)])]
    async with RawServer(script) as server:
        client, _ = make_client(server)
        items = await run(client, count(2))
    assert [e.event_id for e in events(items)] == ["1", "3"]
    assert server.requests[1].header("last-event-id") == b"1"  # also I5
    retrying = [i for i in items if isinstance(i, Status) and i.state is ConnectionState.RETRYING]
    assert retrying[0].error.startswith("connection broken")


async def test_h9_reconnect_resends_the_same_request() -> None:
    async with RawServer([Reply(body=[ev(1)], end="eof"), Reply(body=[ev(2)])]) as server:
        client, _ = make_client(server)
        await run(client, count(2))
    first, second = server.requests[:2]
    assert (second.method, second.target) == (first.method, first.target)
    for name in ("accept", "cache-control", "x-api-key"):
        assert second.header(name) == first.header(name)


async def test_h10_silence_longer_than_the_read_timeout_reconnects() -> None:
    script = [Reply(body=[ev(1)], end="hold"), Reply(body=[ev(2)])]
    async with RawServer(script) as server:
        client, _ = make_client(server, read_timeout=0.3)
        items = await run(client, count(2))
    retrying = [i for i in items if isinstance(i, Status) and i.state is ConnectionState.RETRYING]
    assert retrying[0].error == "no data for 0.3 s (read timeout)"
    assert server.requests[1].header("last-event-id") == b"1"


async def test_h10_any_byte_resets_the_read_timeout() -> None:
    # 0.6 s of trickle (a few bytes or a comment every 0.06 s) against a 0.3 s read timeout
    trickle: list[bytes | float] = []
    for piece in [b"da", b"ta: ", b"{}", b"\n", b": hb\n"] * 2:
        trickle += [piece, 0.05]
    body = [*trickle, b"\n", ev(2)]
    async with RawServer([Reply(body=body)]) as server:
        client, _ = make_client(server, read_timeout=0.3)
        items = await run(client, count(1))
    assert len(server.requests) == 1
    assert any(isinstance(i, Heartbeat) for i in items)
    assert any(isinstance(i, Malformed) for i in items)  # the trickled `{}` event


async def test_h11_restart_reconnects_at_once_to_the_same_url() -> None:
    script = [Reply(body=[ev(1)]), Reply(body=[ev(2)])]
    async with RawServer(script) as server:
        client, sleep = make_client(server)
        restarted: list[bool] = []

        def until(items: list[object]) -> bool:
            if len(events(items)) == 1 and not restarted:
                restarted.append(True)
                client.restart()
            return len(events(items)) >= 2

        items = await run(client, until)
    assert len(server.requests) == 2
    assert server.requests[1].target == server.requests[0].target
    assert server.requests[1].header("last-event-id") == b"1"
    assert sleep.delays == []  # no backoff wait
    assert sum(isinstance(i, Outage) for i in items) == 1


async def test_h11_restart_cuts_a_backoff_wait_short() -> None:
    gate = asyncio.Event()

    async def slow_sleep(delay: float) -> None:
        gate.set()
        await asyncio.sleep(60)

    async with RawServer([Reply(status=503, end="eof"), Reply(body=[ev(1)])]) as server:
        client, _ = make_client(server, sleep=slow_sleep)

        async def restart_when_waiting() -> None:
            await asyncio.wait_for(gate.wait(), 5)
            client.restart()

        helper = asyncio.create_task(restart_when_waiting())
        items = await run(client, count(1))
        await helper
    assert events(items)[0].event_id == "1"


@pytest.mark.parametrize("status", [500, 503, 429, 400, 408])
async def test_h12_retryable_statuses_back_off(status: int) -> None:
    async with RawServer([Reply(status=status, end="eof"), Reply(body=[ev(1)])]) as server:
        client, sleep = make_client(server)
        items = await run(client, count(1))
    retrying = [i for i in items if isinstance(i, Status) and i.state is ConnectionState.RETRYING]
    assert retrying[0].error.startswith(f"HTTP {status}")
    assert retrying[0].attempt == 1
    assert sleep.delays == [1.0]


@pytest.mark.parametrize(
    ("status", "rejected"), [(401, True), (403, True), (404, False), (410, False), (205, False)]
)
async def test_h12_other_statuses_stop(status: int, rejected: bool) -> None:
    body = b'{"code": "unauthorized", "message": "Invalid \\u001b[31mkey"}'
    reply = Reply(
        status=status, headers=[("Content-Type", "application/json")], body=[body], end="eof"
    )
    async with RawServer([reply]) as server:
        client, _ = make_client(server)
        items = await run(client)
    status_item = stopped(items)
    assert status_item.credentials_rejected is rejected
    assert f"HTTP {status}" in (status_item.error or "")
    assert "\x1b" not in (status_item.error or "")  # server text is made safe
    assert KEY not in (status_item.error or "")
    assert len(server.requests) == 1


async def test_retry_after_is_a_minimum_wait() -> None:
    script = [Reply(status=503, headers=[("Retry-After", "7")], end="eof"), Reply(body=[ev(1)])]
    async with RawServer(script) as server:
        client, sleep = make_client(server)
        items = await run(client, count(1))
    assert sleep.delays == [7.0]
    retrying = [i for i in items if isinstance(i, Status) and i.state is ConnectionState.RETRYING]
    assert retrying[0].next_try_at - retrying[0].at == pytest.approx(7.0)


# ------------------------------------------------------------------ ids and retry


async def test_i2_an_empty_id_means_no_last_event_id_on_reconnect() -> None:
    script = [Reply(body=[ev(1), b"id\n" + ev(None, version=2)], end="eof"), Reply(body=[ev(5)])]
    async with RawServer(script) as server:
        client, _ = make_client(server)
        await run(client, count(3))
    assert server.requests[1].header("last-event-id") is None


async def test_i6_the_last_id_carries_across_connections() -> None:
    script = [
        Reply(body=[ev(5)], end="eof"),
        Reply(body=[ev(None, version=2)], end="eof"),
        Reply(body=[ev(6, version=3)]),
    ]
    async with RawServer(script) as server:
        client, _ = make_client(server)
        items = await run(client, count(3))
    assert [r.header("last-event-id") for r in server.requests[:3]] == [None, b"5", b"5"]
    assert [e.event_id for e in events(items)] == ["5", None, "6"]


async def test_i7_a_non_ascii_id_is_sent_as_utf8_bytes() -> None:
    script = [Reply(body=[ev("café")], end="eof"), Reply(body=[ev("thé", version=2)])]
    async with RawServer(script) as server:
        client, _ = make_client(server)
        await run(client, count(2))
    assert server.requests[1].header("last-event-id") == "café".encode()


async def test_i8_an_initial_id_is_sent_on_the_first_request() -> None:
    async with RawServer([STOP]) as server:
        client, _ = make_client(server, last_event_id="41")
        await run(client)
    assert server.requests[0].header("last-event-id") == b"41"


async def test_server_retry_sets_the_backoff_base_and_bogus_values_are_ignored() -> None:
    body = [b"retry: 3000\n", b"retry: -1\nretry: 5.0\n", ev(1)]
    async with RawServer([Reply(body=body, end="eof"), Reply(body=[ev(2)])]) as server:
        client, sleep = make_client(server)
        await run(client, count(2))
    assert sleep.delays == [3.0]


# ------------------------------------------------------------------ duplicates and outages


async def test_replayed_duplicates_are_dropped_and_counted() -> None:
    script = [
        Reply(body=[ev(1, version=1), ev(2, version=2)], end="eof"),
        # a server that replays from an earlier point than asked
        Reply(body=[ev(1, version=1), ev(2, version=2), ev(3, version=3)]),
    ]
    async with RawServer(script) as server:
        client, _ = make_client(server)
        items = await run(client, count(3))
    assert [e.event_id for e in events(items)] == ["1", "2", "3"]
    assert client.counters.duplicates == 2
    assert client.counters.events == 3


async def test_a_restarted_id_sequence_is_not_taken_for_duplicates() -> None:
    script = [
        Reply(body=[ev(100, ts=1_700_000_000)], end="eof"),
        Reply(body=[ev(1, ts=1_700_000_100)]),  # newer than anything seen: not a replay
    ]
    async with RawServer(script) as server:
        client, _ = make_client(server)
        items = await run(client, count(2))
    assert [e.event_id for e in events(items)] == ["100", "1"]
    assert client.counters.duplicates == 0


async def test_outage_proves_continuity_when_ids_resume_at_last_plus_one() -> None:
    script = [Reply(body=[ev(7)], end="eof"), Reply(body=[ev(8, version=2, ts=0)])]
    async with RawServer(script) as server:
        client, _ = make_client(server)
        items = await run(client, count(2))
    outages = [i for i in items if isinstance(i, Outage)]
    assert len(outages) == 1
    outage = outages[0]
    assert outage.may_have_missed is False
    assert outage.replayed == 1  # its timestamp is before the reconnect
    assert outage.started_at <= outage.ended_at
    # the outage comes before the first event after the reconnect
    assert items.index(outage) < items.index(events(items)[1])


@pytest.mark.parametrize(
    ("first", "env", "missed"), [(42, "e1", False), (45, "e1", True), (42, "e2", True)]
)
async def test_a_run_resumed_from_an_earlier_one_reports_the_time_between_as_an_outage(
    first: int, env: str, missed: bool
) -> None:
    """The journal's last event (id 41 of e1, received at `since`): the first connection sends
    its id, and the replay proves the time since whole (42) or not (45; and 42 of another
    environment is another stream's id: the profile's key or server changed)."""
    since = 1_700_000_000.0
    async with RawServer([Reply(body=[ev(first, ts=since + 5, env=env)])]) as server:
        client, _ = make_client(server, resumed=ResumePoint("41", since, "e1"))
        items = await run(client, count(1))
    assert server.requests[0].header("last-event-id") == b"41"
    (outage,) = [i for i in items if isinstance(i, Outage)]
    assert items.index(outage) < items.index(events(items)[0])
    assert (outage.started_at, outage.may_have_missed, outage.replayed) == (since, missed, 1)
    assert outage.ended_at > since


async def test_outage_may_have_missed_when_ids_jump() -> None:
    far_future = 4_000_000_000
    script = [Reply(body=[ev(7)], end="eof"), Reply(body=[ev(9, version=2, ts=far_future)])]
    async with RawServer(script) as server:
        client, _ = make_client(server)
        items = await run(client, count(2))
    outage = next(i for i in items if isinstance(i, Outage))
    assert outage.may_have_missed is True
    assert outage.replayed == 0


async def test_outage_without_ids_cannot_tell() -> None:
    script = [Reply(body=[ev(None)], end="eof"), Reply(body=[ev(None, version=2)])]
    async with RawServer(script) as server:
        client, _ = make_client(server)
        items = await run(client, count(2))
    outage = next(i for i in items if isinstance(i, Outage))
    assert (outage.may_have_missed, outage.replayed) == (True, None)


async def test_outage_is_reported_one_second_after_live_on_a_quiet_stream() -> None:
    script = [Reply(body=[ev(1)], end="eof"), Reply(body=[])]
    async with RawServer(script) as server:
        client, _ = make_client(server)
        items = await run(client, lambda items: any(isinstance(i, Outage) for i in items))
    outage = next(i for i in items if isinstance(i, Outage))
    assert outage.may_have_missed is True
    assert outage.replayed == 0


async def test_no_outage_for_the_first_connection() -> None:
    async with RawServer([Reply(status=503, end="eof"), Reply(body=[ev(1)])]) as server:
        client, _ = make_client(server)
        items = await run(client, count(1))
    assert not any(isinstance(i, Outage) for i in items)


async def test_gap_reported_once_versions_behave_per_flag() -> None:
    body = [
        ev(1, "a", 1),
        ev(2, "b", 1),
        ev(3, "a", 2),  # interleaved +1: evidence 1
        ev(4, "b", 2),  # interleaved +1: evidence 2 → per-flag mode
        ev(5, "a", 5),  # jumped: expected 3
        ev(6, "c", 1),
    ]
    async with RawServer([Reply(body=[b"".join(body)])]) as server:
        client, _ = make_client(server)
        items = await run(client, count(6))
    gaps = [i for i in items if isinstance(i, PossibleGap)]
    assert [(g.flag_key, g.expected_version, g.got_version, g.event_id) for g in gaps] == [
        ("a", 3, 5, "5")
    ]
    assert client.counters.gaps == 1


async def test_malformed_is_counted_and_the_next_event_arrives() -> None:
    body = [b"id: 1\ndata: not json\n\n", ev(2)]
    async with RawServer([Reply(body=body)]) as server:
        client, _ = make_client(server)
        items = await run(client, count(1))
    bad = [i for i in items if isinstance(i, Malformed)]
    assert len(bad) == 1 and bad[0].reason.startswith("not JSON") and bad[0].event_id == "1"
    assert client.counters.malformed == 1
    assert events(items)[0].event_id == "2"


async def test_counters_and_heartbeats() -> None:
    body = [b": heartbeat\n", ev(1, etype="rule.created"), b": heartbeat\n", ev(2)]
    async with RawServer([Reply(body=body)]) as server:
        client, _ = make_client(server, clock=lambda: 123.0)
        await run(client, count(2))
    assert client.counters.heartbeats == 2
    assert client.counters.by_type == {"rule.created": 1, "flag.updated": 1}
    assert client.counters.bytes == sum(len(b) for b in body)
    assert client.last_heartbeat_at == 123.0


# ------------------------------------------------------------------ cancellation


async def test_cancelling_the_consumer_closes_the_connection() -> None:
    async with RawServer([Reply(body=[ev(1)])]) as server:
        client, _ = make_client(server)
        got_one = asyncio.Event()

        async def consume() -> None:
            async for item in client.items():
                if isinstance(item, FlagEvent):
                    got_one.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(got_one.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await server.wait_client_closes(1, timeout=1.0)
        await client.aclose()
    assert server.client_closes == 1


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:99999", "ftp://127.0.0.1", "http://[::1"])
async def test_an_unusable_url_stops_with_a_reason(base_url: str) -> None:
    client = StreamClient(base_url, sleep=Recorder())
    items = await run(client)
    assert (stopped(items).error or "").startswith("invalid URL")


async def test_distinct_unknown_types_are_counted_in_a_bounded_map() -> None:
    # Before: by_type grew by one entry per type string a server made up.
    from togul_monitor.client.items import MAX_COUNTED_TYPES, OTHER_TYPES

    n = MAX_COUNTED_TYPES + 10
    body = [b"".join(ev(i, etype=f"odd.{i}") for i in range(1, n + 1))]
    async with RawServer([Reply(body=body)]) as server:
        client, _ = make_client(server)
        await run(client, until=count(n))
    by_type = client.counters.by_type
    assert len(by_type) == MAX_COUNTED_TYPES + 1
    assert by_type[OTHER_TYPES] == 10 and sum(by_type.values()) == n


async def test_a_rejection_quoting_the_key_shows_it_masked() -> None:
    # A key of no Togul shape, held by the run as a profile's (support/known_secrets.py): a
    # server or proxy that echoes it in its error body is shown with the key masked.
    key = "acmeLiveKey0123456789abcdefXYZ"
    Profile(name="p", base_url="http://127.0.0.1:9", environment_key="e", api_key=key)
    body = json.dumps({"code": "bad_key", "message": f"key {key} rejected"}).encode()
    reply = Reply(
        status=401, headers=[("Content-Type", "application/json")], body=[body], end="eof"
    )
    async with RawServer([reply]) as server:
        client, _ = make_client(server, api_key=key)
        items = await run(client)
    error = stopped(items).error or ""
    assert key not in error
    assert f"key {mask_secret(key)} rejected" in error


async def test_h5_a_redirect_to_plain_http_off_loopback_is_refused_before_connecting() -> None:
    # 192.0.2.2 (TEST-NET-1) never answers: following the redirect would end in a timeout.
    moved = [("Location", "http://192.0.2.2:18598/api/v1/stream")]
    async with RawServer([Reply(status=307, headers=moved, end="eof")]) as server:
        client, _ = make_client(server, connect_timeout=0.5)
        items = await run(client, lambda items: ConnectionState.RETRYING in statuses(items))
    error = stopped(items).error or ""
    assert "plain http:// on http://192.0.2.2:18598" in error and "refused" in error
    assert len(server.requests) == 1
