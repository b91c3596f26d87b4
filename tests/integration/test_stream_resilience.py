"""The stream client against hostile or unlucky servers, over a real loopback socket
(`rawserver.py`): the reconnect delay after connections that worked, a line that never ends, a
server that never answers, a redirect to another origin. Sleeps are injected and recorded."""

from __future__ import annotations

import pytest

from tests.integration.rawserver import RawServer, Reply
from tests.integration.test_stream_client_raw import (
    KEY,
    STOP,
    count,
    ev,
    events,
    make_client,
    run,
    stopped,
)
from togul_monitor.domain.events import ConnectionState, Malformed, Status


def retrying(items: list[object]) -> list[Status]:
    return [i for i in items if isinstance(i, Status) and i.state is ConnectionState.RETRYING]


async def test_a_connection_that_delivered_events_resets_the_reconnect_delay() -> None:
    # Before: every ended connection counted as one more failure, so a server that ends each
    # stream after a while drove the wait to the 30 s cap (1, 2, 4, 8...).
    script = [Reply(body=[ev(i, version=i)], end="eof") for i in range(1, 5)]
    async with RawServer(script, after=STOP) as server:
        client, sleep = make_client(server)
        items = await run(client)
    assert len(events(items)) == 4
    assert sleep.delays == [1.0, 1.0, 1.0, 1.0]
    assert [s.attempt for s in retrying(items)] == [1, 1, 1, 1]


async def test_connections_that_end_without_a_new_event_still_back_off() -> None:
    # Only comments, or only replayed duplicates: the server is not working for us.
    script = [
        Reply(body=[b": hello\n"], end="eof"),
        Reply(body=[ev(1)], end="eof"),
        Reply(body=[ev(1)], end="eof"),  # a replay of what we have: a duplicate
        Reply(body=[b": hello\n"], end="eof"),
    ]
    async with RawServer(script, after=STOP) as server:
        client, sleep = make_client(server)
        await run(client)
    assert sleep.delays == [1.0, 1.0, 2.0, 4.0]  # only the new event (2nd) forgave
    assert client.counters.duplicates == 1


async def test_a_line_that_never_ends_is_reported_and_the_stream_goes_on() -> None:
    # Before: the decoder kept every byte of the line (1.3 GB for a server that never sent a
    # newline). Now 1 Mi characters, then one malformed item, then the next event is decoded.
    endless = [b"data: " + b"x" * 65536 for _ in range(40)]  # 2.5 MiB without a line end
    body = [*endless, b"\n\n", ev(7)]
    async with RawServer([Reply(body=body, pause=0)]) as server:
        client, _ = make_client(server)
        items = await run(client, count(1))
    bad = [i for i in items if isinstance(i, Malformed)]
    assert len(bad) == 1
    assert bad[0].reason == "oversized: a line longer than 1048576 characters"
    assert bad[0].raw == "data: " + "x" * 194  # the first 200 characters, no more
    assert events(items)[0].event_id == "7"
    assert client.counters.malformed == 1
    assert len(server.requests) == 1  # no reconnect needed


async def test_an_oversized_event_over_a_smaller_configured_cap() -> None:
    big = b"id: 5\n" + b"".join(b"data: " + b"y" * 100 + b"\n" for _ in range(20)) + b"\n"
    async with RawServer([Reply(body=[big, ev(6)])]) as server:
        client, _ = make_client(server, max_line=1000, max_event=1000)
        items = await run(client, count(1))
    bad = [i for i in items if isinstance(i, Malformed)]
    assert [b.reason for b in bad] == ["oversized: an event with more than 1000 characters of data"]
    assert [e.event_id for e in events(items)] == ["6"]
    assert client.last_event_id == "6"


async def test_no_response_headers_is_not_called_a_connect_timeout() -> None:
    async with RawServer([Reply(silent=True)], after=STOP) as server:
        client, _ = make_client(server, read_timeout=0.2)
        items = await run(client)
    assert retrying(items)[0].error == (
        "the server accepted the connection but sent no response headers within 0.2 s"
    )


async def test_a_redirect_to_another_origin_is_not_a_credentials_rejection() -> None:
    refused = Reply(
        status=401,
        headers=[("Content-Type", "application/json")],
        body=[b'{"code": "unauthorized", "message": "Missing credentials"}'],
        end="eof",
    )
    async with RawServer([refused]) as elsewhere, RawServer([STOP]) as server:
        target = elsewhere.base_url + "/api/v1/stream"
        server.script[0] = Reply(status=307, headers=[("Location", target)], end="eof")
        client, sleep = make_client(server)
        items = await run(client)
    status = stopped(items)
    assert status.credentials_rejected is False
    assert status.error == (
        f"the server redirected the stream to another origin ({elsewhere.base_url}), where the "
        "credentials are not sent; it answered HTTP 401 unauthorized: Missing credentials"
    )
    assert elsewhere.requests[0].header("x-api-key") is None  # withheld, as before
    assert server.requests[0].header("x-api-key") == KEY.encode()
    assert sleep.delays == []


@pytest.mark.parametrize("status", [401, 403])
async def test_a_rejection_at_the_same_origin_still_is_one(status: int) -> None:
    async with RawServer([Reply(status=status, end="eof")]) as server:
        server.script.insert(0, Reply(status=307, headers=[("Location", "/v2/stream")], end="eof"))
        client, _ = make_client(server)
        items = await run(client)
    assert stopped(items).credentials_rejected is True
