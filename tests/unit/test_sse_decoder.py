"""The SSE decoding rules (docs/stream-client.md), case by case, at the decoder level (chunks fed directly).

Every test runs on both decoders: the exact one (sse.py) and the fast path (sse_fast.py, its
runs expanded into events). The same table runs over a real loopback socket in
tests/integration/test_stream_sse_cases.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from togul_monitor.client.sse import Comment, SSEDecoder, SSEEvent
from togul_monitor.client.sse_fast import FastSSEDecoder

BIG = b"x" * (5 * 1024 * 1024)
DECODERS = pytest.mark.parametrize("make", [SSEDecoder, FastSSEDecoder], ids=["exact", "fast"])


@dataclass(frozen=True)
class Case:
    name: str
    chunks: tuple[bytes, ...]
    events: tuple[tuple[str, str, str], ...]  # (type, data, lastEventId)
    last_id: str | None = None  # the LEID after the input, when the case says
    retry: int | None = None
    comments: int | None = None
    cap: int | None = None  # the decoder's line and event caps, when not the defaults


def one_byte_chunks(data: bytes) -> tuple[bytes, ...]:
    return tuple(data[i : i + 1] for i in range(len(data)))


CASES: tuple[Case, ...] = (
    Case("L1", (b"data: a\n\n",), (("message", "a", ""),)),
    Case("L2", (b"data: a\r\n\r\n",), (("message", "a", ""),)),
    Case("L3", (b"data: a\r\r",), (("message", "a", ""),)),
    Case("L4", (b"data: a\rdata: b\ndata: c\r\n\r\n",), (("message", "a\nb\nc", ""),)),
    Case("L5", (b"data: a\r", b"\n", b"\r", b"\n"), (("message", "a", ""),)),
    Case(
        "L6",
        (b"data: Hello\r", b"\ndata: World\r", b"\n\r\ndata: OK\r", b"\n", b"\r", b"\n"),
        (("message", "Hello\nWorld", ""), ("message", "OK", "")),
    ),
    Case(
        "L7",
        ("data: a\u2028b\u2029c\u0085d\x0b\x0ce\n\n".encode(),),
        (("message", "a\u2028b\u2029c\u0085d\x0b\x0ce", ""),),
    ),
    Case("L8", one_byte_chunks("data: €豆腐\n\n".encode()), (("message", "€豆腐", ""),)),
    Case("L9", (b"data: 1\n\n\n\ndata: 2\n\n",), (("message", "1", ""), ("message", "2", ""))),
    Case(
        "L10",
        (b"".join(b"data: %d\n\n" % i for i in range(100)),),
        tuple(("message", str(i), "") for i in range(100)),
    ),
    Case(
        "L11",
        (b"data: " + BIG, BIG + b"\n\n"),
        (("message", "x" * (10 * 1024 * 1024), ""),),
        cap=16 * 1024 * 1024,  # the default cap (1 Mi) would drop it: see test_sse_limits.py
    ),
    Case(
        "L12",
        (b"data: test", b"test\n\ndata:", b"test\n\n"),
        (("message", "testtest", ""), ("message", "test", "")),
    ),
    Case("B1", (b"\xef\xbb\xbfdata: a\n\n",), (("message", "a", ""),)),
    Case("B2", (b"\xef", b"\xbb", b"\xbf", b"data: a\n\n"), (("message", "a", ""),)),
    Case(
        "B3",
        (b"\xef\xbb\xbf\xef\xbb\xbfdata: 1\n\ndata: 2\n\n",),
        (("message", "2", ""),),
    ),
    Case(
        "B4",
        (b"data: 1\n\ndata: \xef\xbb\xbfx\n\n",),
        (("message", "1", ""), ("message", "\ufeffx", "")),
    ),
    Case(
        "B6", (b"\xef\xbb\xbf:comment\ndata: Hello\n\n",), (("message", "Hello", ""),), comments=1
    ),
    Case("U1", (b"data: a\xffb\n\n",), (("message", "a\ufffdb", ""),)),
    Case("C1", (b": hello\n", b":\n"), (), comments=2),
    Case("C2", (b"data: a\n: x\ndata: b\n\n",), (("message", "a\nb", ""),), comments=1),
    Case("C3", (b"id: 1\ndata: a\n\n: ping\n\n",), (("message", "a", "1"),), last_id="1"),
    Case("D1", (b"id: 7\n\n",), (), last_id="7"),
    Case("D2", (b"event: foo\n\n", b"data: x\n\n"), (("message", "x", ""),)),
    Case("D3", (b"retry: 3000\n\n",), (), retry=3000),
    Case("D4", (b"data: a\n\ndata: partial",), (("message", "a", ""),)),
    Case("D5", (b"data\n\ndata\ndata\n\ndata:",), (("message", "", ""), ("message", "\n", ""))),
    Case(
        "F1",
        (b"data:a\n\n", b"data:  a\n\n", b"data: a \n\n"),
        (("message", "a", ""), ("message", " a", ""), ("message", "a ", "")),
    ),
    Case("F2", (b"data: a:b\n\n",), (("message", "a:b", ""),)),
    Case("F3", (b"data:\n\n",), (("message", "", ""),)),
    Case(
        "F4",
        (b"data:\ndata: b\n\n", b"data: a\ndata:\n\n"),
        (("message", "\nb", ""), ("message", "a\n", "")),
    ),
    Case("F5", (b"Data: x\ncolor: y\ndata: z\n\n",), (("message", "z", ""),)),
    Case(
        "F6",
        (b"event: add\ndata: 1\n\ndata: 2\n\n",),
        (("add", "1", ""), ("message", "2", "")),
    ),
    Case("F7", (b"event:\ndata: x\n\n",), (("message", "x", ""),)),
    Case("F8", (b"data: Hello\nid: abc\nevent: greeting\n\n",), (("greeting", "Hello", "abc"),)),
    Case("F9", (b"data: a\x00b\n\n",), (("message", "a\x00b", ""),)),
    Case(
        "I1",
        (b"id: 1\ndata: a\n\ndata: b\n\n",),
        (("message", "a", "1"), ("message", "b", "1")),
    ),
    Case(
        "I2",
        (b"id: 1\ndata: a\n\nid\ndata: b\n\n",),
        (("message", "a", "1"), ("message", "b", "")),
        last_id="",
    ),
    Case(
        "I2-colon",
        (b"id: 1\ndata: a\n\nid:\ndata: b\n\n",),
        (("message", "a", "1"), ("message", "b", "")),
        last_id="",
    ),
    Case(
        "I2-space",
        (b"id: 1\ndata: a\n\nid: \ndata: b\n\n",),
        (("message", "a", "1"), ("message", "b", "")),
        last_id="",
    ),
    Case(
        "I3",
        (b"id: 1\n\nid: a\x00b\ndata: x\n\n",),
        (("message", "x", "1"),),
        last_id="1",
    ),
    Case("I3-ends", (b"id: 2\n\nid: \x00b\n\nid: a\x00\n\nid: \x00\x00\n\n",), (), last_id="2"),
    Case("I4", (b"id:  x \ndata: y\n\n",), (("message", "y", " x "),)),
    Case(
        "I5",
        (b"id: 1\ndata: a\n\nid: 2\ndata: part",),
        (("message", "a", "1"),),
        last_id="1",
    ),
    Case("R1", (b"retry: 5000\n",), (), retry=5000),
    Case("R2", (b"retry: 2000\nretry: 1000x\ndata: x\n\n",), (("message", "x", ""),), retry=2000),
    Case(
        "R3",
        tuple(
            b"retry: %s\n" % v
            for v in (b"-1", b"+5", b"  5", b"1_000", b"5.0", b"1e3", "١٢".encode(), b"5 ")
        ),
        (),
        retry=None,
    ),
    Case("R4", (b"retry: 700\nretry:\n",), (), retry=700),
    Case("R5", (b"retry: 99999999999999999999\n",), (), retry=999_999_999_999),
)


def decoder_for(case: Case, make: type[SSEDecoder]) -> SSEDecoder:
    if case.cap is None:
        return make()
    return make(max_line=case.cap, max_event=case.cap)


def decode(
    chunks: tuple[bytes, ...],
    last_event_id: str = "",
    decoder: SSEDecoder | None = None,
    make: type[SSEDecoder] = SSEDecoder,
) -> tuple[SSEDecoder, list]:
    decoder = decoder or make(last_event_id)
    out: list = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    return decoder, out


@DECODERS
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, make: type[SSEDecoder]) -> None:
    decoder, out = decode(case.chunks, decoder=decoder_for(case, make))
    events = [(e.type, e.data, e.last_event_id) for e in out if isinstance(e, SSEEvent)]
    assert events == list(case.events)
    if case.last_id is not None:
        assert decoder.last_event_id == case.last_id
    assert decoder.retry == case.retry
    if case.comments is not None:
        assert sum(isinstance(e, Comment) for e in out) == case.comments


@DECODERS
def test_l3_lone_cr_dispatches_within_the_same_chunk(make: type[SSEDecoder]) -> None:
    decoder = make()
    assert [e.data for e in decoder.feed(b"data: a\r\r")] == ["a"]  # nothing more needed


@DECODERS
def test_b5_bom_is_stripped_on_every_new_decoder(make: type[SSEDecoder]) -> None:
    for _connection in range(3):
        _, out = decode((b"\xef\xbb\xbfdata: a\n\n",), make=make)
        assert [e.data for e in out] == ["a"]


@DECODERS
def test_i6_seeded_id_carries_into_a_new_connection(make: type[SSEDecoder]) -> None:
    _, first = decode((b"id: 5\ndata: a\n\n",), make=make)
    decoder, second = decode((b"data: b\n\n",), last_event_id=first[0].last_event_id, make=make)
    assert second[0].last_event_id == "5"
    assert second[0].has_id is False
    assert decoder.last_event_id == "5"


@DECODERS
def test_has_id_marks_only_events_whose_block_set_the_id(make: type[SSEDecoder]) -> None:
    _, out = decode((b"id: 1\ndata: a\n\ndata: b\n\n",), make=make)
    assert [e.has_id for e in out] == [True, False]


@DECODERS
def test_every_split_of_a_mixed_stream_gives_the_same_events(make: type[SSEDecoder]) -> None:
    stream = (
        "\ufeffid: 1\r\ndata: €\r\r: c\ndata: 豆\rretry: 9\n\nevent: e\ndata: x\r\n\r\n".encode()
    )
    _, whole = decode((stream,), make=make)
    expected = [(e.type, e.data, e.last_event_id) for e in whole if isinstance(e, SSEEvent)]
    assert expected == [("message", "€", "1"), ("message", "豆", "1"), ("e", "x", "1")]
    for cut in range(1, len(stream)):
        for cut2 in range(cut, len(stream), 7):
            _, out = decode((stream[:cut], stream[cut:cut2], stream[cut2:]), make=make)
            got = [(e.type, e.data, e.last_event_id) for e in out if isinstance(e, SSEEvent)]
            assert got == expected, (cut, cut2)
