"""The SSE decoding rules (docs/stream-client.md) over a real loopback socket: exact bytes in chunks, with pauses.

The decoder table of tests/unit/test_sse_decoder.py runs here against `rawserver.py` through httpx
and each of our decoders (the exact one and the fast path); the cases that need the connection (L3 held open, U2 charset) are separate.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.integration.rawserver import RawServer, Reply
from tests.unit.test_sse_decoder import CASES, DECODERS, Case, decoder_for
from togul_monitor.client.sse import SSEDecoder, SSEEvent


async def fetch(
    server: RawServer, decoder: SSEDecoder | None = None
) -> tuple[SSEDecoder, list[SSEEvent]]:
    decoder = decoder or SSEDecoder()
    events: list[SSEEvent] = []
    async with httpx.AsyncClient() as http:
        async with http.stream("GET", server.base_url + "/api/v1/stream") as response:
            async for chunk in response.aiter_bytes():
                events.extend(e for e in decoder.feed(chunk) if isinstance(e, SSEEvent))
    return decoder, events


@DECODERS
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_case_over_the_socket(case: Case, make: type[SSEDecoder]) -> None:
    async with RawServer([Reply(body=case.chunks, end="eof", pause=0.002)]) as server:
        decoder, events = await fetch(server, decoder_for(case, make))
    assert [(e.type, e.data, e.last_event_id) for e in events] == list(case.events)
    if case.last_id is not None:
        assert decoder.last_event_id == case.last_id
    assert decoder.retry == case.retry


async def test_l3_a_lone_cr_is_delivered_while_the_stream_stays_open() -> None:
    release = asyncio.Event()
    async with RawServer([Reply(body=[b"data: a\r\r", release])]) as server:
        async with httpx.AsyncClient() as http:
            async with http.stream("GET", server.base_url) as response:
                decoder = SSEDecoder()
                got: list[SSEEvent] = []
                async for chunk in response.aiter_bytes():
                    got.extend(e for e in decoder.feed(chunk) if isinstance(e, SSEEvent))
                    if got:
                        break
                # the server has not sent another byte: it is still waiting on `release`
                assert not release.is_set()
                assert [e.data for e in got] == ["a"]
        release.set()


async def test_u2_the_charset_parameter_is_ignored() -> None:
    reply = Reply(
        body=[b"data: \xe2\x82\xac\n\n"],
        headers=[("Content-Type", "text/event-stream; charset=iso-8859-1")],
        end="eof",
    )
    async with RawServer([reply]) as server:
        _, events = await fetch(server)
    assert [e.data for e in events] == ["€"]
