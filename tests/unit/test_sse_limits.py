"""The decoder's caps on a line and an event (docs/stream-client.md), on bytes: an oversized
event is reported once, dropped, and decoding starts again at the next event, whatever the
chunking, without ever holding more than the cap. Every test runs on the exact decoder (sse.py)
and on the fast path (sse_fast.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from togul_monitor.client.items import ItemBuilder
from togul_monitor.client.sse import Comment, Oversized, Parsed, SSEDecoder, SSEEvent
from togul_monitor.client.sse_fast import FastSSEDecoder
from togul_monitor.domain.events import FlagEvent, Malformed, StreamCounters

GOOD = (
    b'data: {"type": "flag.updated", "flag_key": "a", "environment_id": "e", '
    b'"version": 1, "timestamp": 1700000000}\n\n'
)


DECODERS = pytest.mark.parametrize("make", [SSEDecoder, FastSSEDecoder], ids=["exact", "fast"])


def feed_all(decoder: SSEDecoder, chunks: list[bytes]) -> list[Parsed]:
    out: list[Parsed] = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    return out


def held(decoder: SSEDecoder) -> int:
    """Characters the decoder keeps between chunks."""
    return sum(map(len, decoder._partial)) + sum(map(len, decoder._data))


@DECODERS
def test_a_line_without_end_is_capped_reported_once_and_dropped(make: type[SSEDecoder]) -> None:
    decoder = make(max_line=150, max_event=1000)
    out: list[Parsed] = []
    for _ in range(1000):  # 10,000 characters of one line, 10 at a time
        out.extend(decoder.feed(b"data: xxxx"))
        assert held(decoder) <= 150
    assert len(out) == 1 and isinstance(out[0], Oversized)
    assert out[0].reason == "a line longer than 150 characters"
    assert out[0].head == "data: xxxx" * 15
    out = decoder.feed(b"xx\nid: 3\n\n" + GOOD)
    assert [type(e) for e in out] == [SSEEvent]  # the id-only block fires nothing
    assert decoder.last_event_id == "3"


@DECODERS
def test_a_long_line_inside_one_chunk_is_dropped_too(make: type[SSEDecoder]) -> None:
    decoder = make(max_line=50)
    out = decoder.feed(b"data: a\n\ndata: " + b"z" * 60 + b"\ndata: more\n\ndata: b\n\n")
    assert [type(e).__name__ for e in out] == ["SSEEvent", "Oversized", "SSEEvent"]
    assert [e.data for e in out if isinstance(e, SSEEvent)] == ["a", "b"]


@DECODERS
def test_an_event_of_many_short_lines_is_capped(make: type[SSEDecoder]) -> None:
    decoder = make(max_line=150, max_event=150)
    out = feed_all(decoder, [b"id: 9\n", *([b"data: 12345\n"] * 50), b"\n", GOOD])
    assert [type(e) for e in out] == [Oversized, SSEEvent]
    bad = out[0]
    assert isinstance(bad, Oversized)
    assert bad.reason == "an event with more than 150 characters of data"
    assert (bad.last_event_id, bad.has_id) == ("9", True)
    assert held(decoder) == 0


@DECODERS
def test_empty_data_lines_count_towards_the_cap(make: type[SSEDecoder]) -> None:
    decoder = make(max_event=100)
    out = decoder.feed(b"data\n" * 1000 + b"\n")
    assert [type(e) for e in out] == [Oversized]


@DECODERS
def test_a_comment_that_never_ends_is_dropped_and_cr_streams_resync(make: type[SSEDecoder]) -> None:
    decoder = make(max_line=20)
    out = feed_all(decoder, [b": " + b"c" * 30, b"c" * 30 + b"\r\r", b": hb\rdata: ok\r\r"])
    assert [type(e) for e in out] == [Oversized, Comment, SSEEvent]


@DECODERS
def test_an_oversized_event_becomes_a_counted_malformed_item(make: type[SSEDecoder]) -> None:
    counters = StreamCounters()
    decoder = make(max_line=150)
    body = b"id: 4\ndata: " + b"q" * 200 + b"\n\nid: 5\n" + GOOD
    # The fast decoder's runs, as the stream client feeds them to the builder.
    parsed = decoder.feed_runs(body) if isinstance(decoder, FastSSEDecoder) else decoder.feed(body)
    items = ItemBuilder(counters).build(parsed, now=1.0)
    assert [type(i) for i in items] == [Malformed, FlagEvent]
    bad = items[0]
    assert isinstance(bad, Malformed)
    assert bad.reason == "oversized: a line longer than 150 characters"
    assert bad.event_id == "4" and bad.raw.startswith("data: qqq")
    assert (counters.malformed, counters.events) == (1, 1)


# ------------------------------------------------------------------ generated streams

_PIECES = st.sampled_from(
    [
        b"data: ",
        b"data:",
        b"id: ",
        b"event: x",
        b"retry: 5",
        b": c",
        b"x" * 7,
        b"\xe2\x82\xac",
        b"\n",
        b"\n",
        b"\r",
        b"\r\n",
        b"\n\n",
        GOOD,
        b"\xff",
        b"\x00",
    ]
)


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(len(data), c) for c in cuts})
    pieces, start = [], 0
    for point in points:
        pieces.append(data[start:point])
        start = point
    pieces.append(data[start:])
    return pieces


def _shape(out: list[Parsed]) -> list[tuple[str, ...]]:
    shaped: list[tuple[str, ...]] = []
    for e in out:
        if isinstance(e, SSEEvent):
            shaped.append(("event", e.type, e.data, e.last_event_id))
        elif isinstance(e, Oversized):
            shaped.append(("oversized", e.reason, e.head))
        else:
            shaped.append(("comment", e.text))
    return shaped


@DECODERS
@settings(derandomize=True, max_examples=300, deadline=None)
@given(
    st.lists(_PIECES, max_size=40).map(b"".join),
    st.lists(st.integers(0, 400), max_size=6),
    st.integers(1, 40),
    st.integers(1, 60),
)
def test_any_chunking_gives_the_same_items_and_memory_stays_capped(
    make: type[SSEDecoder], body: bytes, cuts: list[int], max_line: int, max_event: int
) -> None:
    whole = make(max_line=max_line, max_event=max_event)
    expected = _shape(whole.feed(body))
    chunked = make(max_line=max_line, max_event=max_event)
    got: list[Parsed] = []
    for piece in _split(body, cuts):
        got.extend(chunked.feed(piece))
        assert sum(map(len, chunked._partial)) <= max_line
        assert sum(map(len, chunked._data)) + len(chunked._data) <= max_event
    assert _shape(got) == expected
    assert chunked.last_event_id == whole.last_event_id
    for item in got:
        if isinstance(item, SSEEvent):
            assert len(item.data) <= max_event


@DECODERS
def test_a_data_line_dripped_per_chunk_is_counted_once_each(make: type[SSEDecoder]) -> None:
    # One line per chunk, no blank line: each chunk adds its own line to the event's size (the
    # cap is reached exactly where one big chunk would reach it), never the whole event again.
    dripped, whole = make(max_line=100, max_event=1_000), make(max_event=1_000)
    out: list[Parsed] = []
    for n in range(300):
        out.extend(dripped.feed(b"data: abc\n"))
        if n < 249:
            assert dripped._data_size == 4 * (n + 1)
    assert [type(item) for item in out] == [Oversized]
    assert [type(i) for i in whole.feed(b"data: abc\n" * 300)] == [Oversized]
    assert dripped.feed(b"\ndata: ok\n\n") == [SSEEvent("message", "ok", "", False)]
