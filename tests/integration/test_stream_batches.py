"""StreamClient.batches() (one list per network read, what items() flattens) and which HTTP
client a URL gets: a plain `http://` stream never loads certificates, an `https://` one (also
reached by a redirect) is verified. Real loopback sockets throughout (`rawserver.py`)."""

from __future__ import annotations

import asyncio
import socket
import ssl
from contextlib import aclosing

import pytest

from tests.integration.rawserver import RawServer, Reply
from tests.integration.test_stream_client_raw import STOP, count, ev, events, make_client, run
from togul_monitor.client.stream import StreamClient
from togul_monitor.domain.events import ConnectionState, FlagEvent, Heartbeat, Status, StreamItem


async def collect_batches(client: StreamClient, timeout: float = 5.0) -> list[list[StreamItem]]:
    batches: list[list[StreamItem]] = []

    async def consume() -> None:
        async with aclosing(client.batches()) as stream:
            async for batch in stream:
                batches.append(batch)

    try:
        await asyncio.wait_for(consume(), timeout)
    finally:
        await client.aclose()
    return batches


async def test_batches_are_the_reads_and_items_is_them_flattened() -> None:
    # Three writes with pauses between them: three reads, each its own batch.
    body = [ev(1) + ev(2, "b"), b": hb\n" + ev(3), ev(4) + ev(5) + ev(6)]
    script = [Reply(body=body, end="eof", pause=0.05)]
    async with RawServer(script, after=STOP) as server:
        client, _ = make_client(server)
        batches = await collect_batches(client)
    assert all(batches), "no empty batch"
    kinds = [[type(item).__name__ for item in batch] for batch in batches]
    assert kinds[:2] == [["Status"], ["Status"]]  # CONNECTING, then LIVE
    assert kinds[2:5] == [
        ["FlagEvent", "FlagEvent"],
        ["Heartbeat", "FlagEvent"],
        ["FlagEvent", "FlagEvent", "FlagEvent"],
    ]
    flat = [item for batch in batches for item in batch]
    assert [e.event_id for e in flat if isinstance(e, FlagEvent)] == ["1", "2", "3", "4", "5", "6"]
    assert isinstance(flat[-1], Status) and flat[-1].state is ConnectionState.STOPPED

    # items() over the same script yields exactly the same items, one by one.
    async with RawServer(script, after=STOP) as server:
        client, _ = make_client(server, clock=lambda: 5.0)
        items = await run(client)
    async with RawServer(script, after=STOP) as server:
        again, _ = make_client(server, clock=lambda: 5.0)
        batched = [item for batch in await collect_batches(again) for item in batch]
    assert [repr(i) for i in items] == [repr(i) for i in batched]
    assert sum(isinstance(i, Heartbeat) for i in items) == 1


async def test_only_one_consumer_at_a_time() -> None:
    async with RawServer([Reply(body=[ev(1)])]) as server:
        client, _ = make_client(server)
        first = client.batches()
        await anext(first)  # the producer runs
        second = client.items()
        with pytest.raises(RuntimeError, match="already running"):
            await anext(second)
        await first.aclose()
        await client.aclose()


@pytest.fixture
def loaded_certificates(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every call that loads CA certificates into a TLS context (what verify=True costs)."""
    calls: list[object] = []
    real = ssl.SSLContext.load_verify_locations

    def spy(self: ssl.SSLContext, *args: object, **kwargs: object) -> None:
        calls.append(args or kwargs)
        real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", spy)
    return calls


async def test_a_plain_http_stream_builds_no_verifying_tls_context(
    loaded_certificates: list[object],
) -> None:
    async with RawServer([Reply(body=[ev(1)])]) as server:
        client, _ = make_client(server)
        items = await run(client, count(1))
    assert len(events(items)) == 1
    assert loaded_certificates == []


async def test_https_and_a_redirect_to_it_are_verified(
    loaded_certificates: list[object],
) -> None:
    # Nothing listens on the https port: the connection is refused at once, after the client
    # for it was made, which is all this needs to see.
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    location = f"https://127.0.0.1:{port}/api/v1/stream"
    script = [Reply(status=307, headers=[("Location", location)], end="eof")]
    async with RawServer(script) as redirecting:
        client, _ = make_client(redirecting)
        items = await run(client, lambda items: len(items) >= 3)
    retrying = [i for i in items if isinstance(i, Status) and i.state is ConnectionState.RETRYING]
    assert retrying and "cannot connect" in (retrying[0].error or ""), items
    assert loaded_certificates, "the https hop got a client that verifies certificates"
