"""The fast paths against their references, on generated input: the decoder's (sse_fast.py)
against the exact decoder (sse.py), and the run loop (items_run.py) against the per-event
validation, duplicate and gap code, on random streams cut into random chunks, caps included."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from togul_monitor.client.items import ItemBuilder
from togul_monitor.client.sse import Comment, Oversized, Parsed, SSEDecoder, SSEEvent
from togul_monitor.client.sse_fast import FastSSEDecoder, Run, expand
from togul_monitor.client.validate import validate_event
from togul_monitor.domain.events import FlagEvent, StreamCounters


def _event(flag: str, version: object, **fields: object) -> bytes:
    event: dict[str, object] = {
        "type": "flag.updated",
        "flag_key": flag,
        "environment_id": "e1",
        "version": version,
        "timestamp": 1_700_000_000,
    }
    event.update(fields)
    return json.dumps({k: v for k, v in event.items() if v != "-"}).encode()


# Payloads: plain events of a few flags with versions that step, jump and go back (gaps), the
# tolerated forms, and what is malformed.
_PAYLOADS = [
    *(_event(f, v) for f in ("a", "b", "c") for v in (1, 2, 3, 5)),
    _event("a", 2, type="flag.created"),
    _event("b", 1, type="flag.deleted"),
    _event("a", 4, environment_id="e2"),
    _event("c", 4, timestamp=1_700_000_500),
    _event("c", 6, timestamp=1_700_000_900),
    _event("a", "7"),
    _event("a", 1, timestamp=1.7e12),
    _event("a", 1, timestamp="2024-01-01T00:00:00Z"),
    _event("a", 1, timestamp=1.5e9),
    _event("a", 1, timestamp=100_000_000_001),
    _event("a", 2**64),
    _event("a", True),
    _event("a", 1.0),
    _event("", 1),
    _event("-", 1),
    _event("a", 1, timestamp=float("inf")),
    _event("a", 1, type=7),
    b'{"type":"t","flag_key":"\\ud800","environment_id":"e","version":1,"timestamp":1}',
    b'{"type":"t","flag_key":"k","environment_id":"e","version":1,"timestamp":1,"version":2}',
    b'{"type":"t","flag_key":"k","environment_id":"e","version":1,"timestamp":1} x',
    b"not json",
    b"[1, 2]",
    b"",
]
_IDS = [b"1", b"2", b"3", b"2", b"10", b"x", b"y", b"", b"a\x00b", b" 4"]


def _block(payload: bytes, event_id: bytes | None) -> bytes:
    head = b"" if event_id is None else b"id: " + event_id + b"\n"
    return head + b"data: " + payload + b"\n\n"


_PLAIN = st.builds(_block, st.sampled_from(_PAYLOADS), st.one_of(st.none(), st.sampled_from(_IDS)))
_ODD = st.sampled_from(
    [
        b": heartbeat\n",
        b"retry: 50\n",
        b"event: e\n",
        b"id: 9\n",
        b"data: x\ndata: y\n\n",
        b"data:x\n\n",
        b"\n",
        b"\n\n",
        b"\r",
        b"\r\n",
        b"\xef\xbb\xbf",
        b"\xe2\x82",
        b"\xac",
        b"\xff",
        b"data: ",
        b"id: 5\ndata: a\r\n\r\n",
        b"x" * 30,
    ]
)
_STREAM = st.lists(st.one_of(_PLAIN, _PLAIN, _PLAIN, _ODD), max_size=30).map(b"".join)


def _chunks(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(len(body), c) for c in cuts})
    pieces, start = [], 0
    for point in points:
        pieces.append(body[start:point])
        start = point
    pieces.append(body[start:])
    return pieces


def _shape(out: list[Parsed]) -> list[tuple[object, ...]]:
    shaped: list[tuple[object, ...]] = []
    for e in out:
        if isinstance(e, SSEEvent):
            shaped.append(("event", e.type, e.data, e.last_event_id, e.has_id))
        elif isinstance(e, Oversized):
            shaped.append(("oversized", e.reason, e.head, e.last_event_id, e.has_id))
        else:
            assert isinstance(e, Comment)
            shaped.append(("comment", e.text))
    return shaped


@settings(derandomize=True, max_examples=400, deadline=None)
@given(
    _STREAM,
    st.lists(st.integers(0, 2000), max_size=8),
    st.sampled_from([16, 60, 150, 1 << 20]),
    st.sampled_from([16, 60, 150, 1 << 20]),
    st.sampled_from(["", "3", "x"]),
)
def test_the_fast_decoder_gives_what_the_exact_one_gives(
    body: bytes, cuts: list[int], max_line: int, max_event: int, seed: str
) -> None:
    exact = SSEDecoder(seed, max_line=max_line, max_event=max_event)
    fast = FastSSEDecoder(seed, max_line=max_line, max_event=max_event)
    want: list[Parsed] = []
    got: list[Parsed] = []
    for chunk in _chunks(body, cuts):
        want.extend(exact.feed(chunk))
        got.extend(expand(fast.feed_runs(chunk)))
        # The same state after every chunk: the next one starts from the same place.
        assert (fast.last_event_id, fast._id, fast.retry) == (
            exact.last_event_id,
            exact._id,
            exact.retry,
        )
        assert (fast._partial, fast._data, fast._data_size) == (
            exact._partial,
            exact._data,
            exact._data_size,
        )
    assert _shape(got) == _shape(want)


def test_plain_blocks_come_as_runs_and_the_rest_in_order() -> None:
    decoder = FastSSEDecoder("0")
    body = b"id: 1\ndata: a\n\ndata: b\n\n: hb\nid: 2\ndata: c\n\nid: \ndata: d\n\ndata: e\n\nid: 3"
    out = decoder.feed_runs(body)
    assert [type(p) for p in out] == [Run, Comment, SSEEvent, Run]
    first, last = out[0], out[3]
    assert isinstance(first, Run) and isinstance(last, Run)
    assert (first.datas, first.ids, first.carried) == (["a", "b"], ["1", None], "0")
    assert (last.datas, last.ids, last.carried) == (["d", "e"], ["", None], "2")
    assert decoder.last_event_id == ""  # the unfinished `id: 3` is not committed yet
    assert [e.last_event_id for e in expand(out) if isinstance(e, SSEEvent)] == [
        "1",
        "1",
        "2",
        "",
        "",
    ]


def test_an_event_cut_by_the_chunk_ends_before_the_fast_path_resumes() -> None:
    decoder = FastSSEDecoder()
    assert decoder.feed_runs(b'id: 1\ndata: {"a"') == []
    out = decoder.feed_runs(b": 1}\n\nid: 2\ndata: b\n\n")
    assert [type(p) for p in out] == [SSEEvent, Run]
    assert expand(out) == [
        SSEEvent("message", '{"a": 1}', "1", True),
        SSEEvent("message", "b", "2", True),
    ]


def _items(decoder: SSEDecoder, chunks: list[bytes], runs: bool) -> tuple[list[str], ItemBuilder]:
    counters = StreamCounters()
    builder = ItemBuilder(counters)
    out: list[str] = []
    for index, chunk in enumerate(chunks):
        parsed = decoder.feed_runs(chunk) if runs else decoder.feed(chunk)  # type: ignore[attr-defined]
        # repr: an int timestamp must stay an int (1 == 1.0 would hide it)
        out.extend(repr(item) for item in builder.build(parsed, now=1_700_000_100.0 + index))
    return out, builder


@settings(derandomize=True, max_examples=400, deadline=None)
@given(_STREAM, st.lists(st.integers(0, 2000), max_size=6), st.sampled_from([60, 1 << 20]))
def test_the_run_loop_gives_the_items_of_the_per_event_code(
    body: bytes, cuts: list[int], cap: int
) -> None:
    chunks = _chunks(body, cuts)
    want, exact = _items(SSEDecoder(max_line=cap, max_event=cap), chunks, runs=False)
    got, fast = _items(FastSSEDecoder(max_line=cap, max_event=cap), chunks, runs=True)
    assert got == want
    assert fast.counters == exact.counters
    assert (fast.last_numeric, fast.replay_window, fast._max_timestamp, fast._seen) == (
        exact.last_numeric,
        exact.replay_window,
        exact._max_timestamp,
        exact._seen,
    )
    assert (fast.versions._last, fast.versions._env_seq, fast.versions._deleted) == (
        exact.versions._last,
        exact.versions._env_seq,
        exact.versions._deleted,
    )
    assert (fast.versions.evidence, fast.versions.per_flag, fast.versions.forgot) == (
        exact.versions.evidence,
        exact.versions.per_flag,
        exact.versions.forgot,
    )


def test_gaps_are_found_by_the_run_loop() -> None:
    # Two interleaved +1 steps turn gap reports on; then b jumps from 2 to 5.
    body = b"".join(
        _block(_event(flag, version), str(n).encode())
        for n, (flag, version) in enumerate(
            [("a", 1), ("b", 1), ("a", 2), ("b", 2), ("a", 3), ("b", 5)], start=1
        )
    )
    got, builder = _items(FastSSEDecoder(), [body], runs=True)
    assert builder.versions.per_flag and builder.counters.gaps == 1
    assert got[-1].startswith("PossibleGap(flag_key='b', environment_id='e1', expected_version=3")


def test_a_lower_numeric_id_is_a_duplicate_unless_the_event_is_news() -> None:
    # A server whose ids restarted sends news under lower ids: those are not replays.
    body = b"".join(
        _block(_event("a", version, timestamp=ts), event_id)
        for event_id, version, ts in [
            (b"4", 1, 1_700_000_000),
            (b"5", 2, 1_700_000_000),
            (b"4", 1, 1_700_000_000),  # a replay: dropped
            (b"1", 3, 1_700_000_000),  # a version above a's last, in the same second: kept
            (b"2", 4, 1_700_000_001),  # newer than anything seen: kept
            (b"1", 3, 1_700_000_000),  # a replay of the restarted server's: dropped
        ]
    )
    got, builder = _items(FastSSEDecoder(), [body], runs=True)
    assert [line.split("version=")[1][:1] for line in got] == ["1", "2", "3", "4"]
    assert (builder.counters.duplicates, builder.last_numeric) == (2, 2)


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=5,
)
_FIELD = st.sampled_from(["type", "flag_key", "environment_id", "version", "timestamp", "x"])


@settings(derandomize=True, max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["flag.updated", "flag.deleted", "x"]) | _JSON_VALUES,
            "flag_key": st.sampled_from(["k", "", "é"]) | _JSON_VALUES,
            "environment_id": st.just("e") | _JSON_VALUES,
            "version": st.integers(-(2**64), 2**64) | _JSON_VALUES,
            "timestamp": st.integers(-(2**38), 2**42) | st.floats(allow_nan=False) | _JSON_VALUES,
        }
    ),
    st.lists(_FIELD, max_size=2, unique=True),
    st.dictionaries(_FIELD, _JSON_VALUES, max_size=2),
)
def test_the_run_loop_validates_as_validate_event_does(
    fields: dict[str, object], dropped: list[str], extra: dict[str, object]
) -> None:
    for name in dropped:
        fields.pop(name, None)
    data = json.dumps({**extra, **fields}) if extra else json.dumps(fields)
    decoder = FastSSEDecoder()
    parsed = decoder.feed_runs(b"id: 1\ndata: " + data.encode() + b"\n\n")
    assert len(parsed) == 1 and isinstance(parsed[0], Run)
    items = ItemBuilder(StreamCounters()).build(parsed, now=5.0)
    expected = validate_event(data, "1", 5.0)
    assert [repr(item) for item in items] == [repr(expected)]
    if isinstance(expected, FlagEvent):
        assert items == [expected]


_GOOD_TEXT = (
    '{"type":"flag.updated","flag_key":"k","environment_id":"e","version":7,"timestamp":1700000000}'
)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, len(_GOOD_TEXT)),
            st.integers(0, 3),
            st.sampled_from(
                ['"', ",", "}", "]", "\\", "\x01", "\x7f", "0", "-", "e", ".", " ", "é"]
            )
            | st.text(max_size=3),
        ),
        max_size=3,
    )
)
def test_mangled_text_is_judged_as_validate_event_judges_it(
    edits: list[tuple[int, int, str]],
) -> None:
    # Raw text edits (cuts, insertions) that json.dumps never makes: control characters, stray
    # quotes or escapes, broken numbers. Whatever msgspec accepts must be what json accepts.
    data = _GOOD_TEXT
    for at, cut, text in edits:
        data = data[:at] + text + data[at + cut :]
    data = data.replace("\n", " ").replace("\r", " ")  # one data line
    parsed = FastSSEDecoder().feed_runs(b"data: " + data.encode("utf-8", "surrogatepass") + b"\n\n")
    if not (len(parsed) == 1 and isinstance(parsed[0], Run)):
        return  # not a plain block (a NUL, say): the exact decoder's, checked above
    items = ItemBuilder(StreamCounters()).build(parsed, now=5.0)
    assert [repr(item) for item in items] == [repr(validate_event(parsed[0].datas[0], None, 5.0))]


def test_a_number_past_pythons_digit_limit_is_judged_alike() -> None:
    # Python's int() refuses more than 4,300 digits, msgspec reads such a number as infinity:
    # in a field nobody reads, both keep the event; as the version, both refuse it.
    for extra, field in (("9" * 5_000, "7"), ("1", "9" * 5_000)):
        data = _GOOD_TEXT.replace('"version":7', f'"version":{field},"extra":{extra}')
        parsed = FastSSEDecoder().feed_runs(b"data: " + data.encode() + b"\n\n")
        items = ItemBuilder(StreamCounters()).build(parsed, now=5.0)
        assert [repr(item) for item in items] == [repr(validate_event(data, None, 5.0))]
    kept = _GOOD_TEXT.replace('"version":7', '"version":7,"extra":' + "9" * 5_000)
    assert isinstance(validate_event(kept, None, 5.0), FlagEvent)
