"""The outbox's numbering, replay ring and frames (no server needed)."""

from __future__ import annotations

from togul_monitor.emulator.outbox import Outbox, encode_frames


def publish(outbox: Outbox, n: int, env: str = "env-a") -> None:
    for i in range(n):
        outbox.publish(env, {"type": "flag.updated", "flag_key": f"f{i}"})


def seqs(outbox: Outbox, last_event_id: str | None, env: str | None = None) -> list[int]:
    subscriber = outbox.subscribe(env, None, last_event_id)
    outbox.unsubscribe(subscriber)
    return [event.seq for event in subscriber.pending]


def test_frames_are_lf_only_and_split_multiline_data() -> None:
    with_id, bare = encode_frames(7, '{"a":1}')
    assert with_id == b'id: 7\ndata: {"a":1}\n\n'
    assert bare == b'data: {"a":1}\n\n'
    assert encode_frames(8, "a\nb")[0] == b"id: 8\ndata: a\ndata: b\n\n"


def test_events_are_one_line_ascii_json() -> None:
    outbox = Outbox()
    outbox.publish("e", {"flag_key": "line\u2028sep\x85nel\nlf \u00fc"})
    subscriber = outbox.subscribe("e", None, "0")
    frame = subscriber.pending[0].frame_with_id
    assert frame.count(b"\n") == 3 and frame.isascii()


def test_replay_exactly_after_the_id_and_only_entitled_events() -> None:
    outbox = Outbox(replay=10)
    publish(outbox, 3, "env-a")
    publish(outbox, 2, "env-b")
    assert seqs(outbox, "1", "env-a") == [2, 3]
    assert seqs(outbox, "1", None) == [2, 3, 4, 5]
    assert seqs(outbox, "5", None) == []
    assert seqs(outbox, None, None) == []


def test_ids_older_than_the_ring_or_unknown_replay_nothing() -> None:
    outbox = Outbox(replay=3)
    publish(outbox, 6)  # the ring holds 4, 5, 6
    assert seqs(outbox, "3") == [4, 5, 6]  # nothing after 3 is missing
    assert seqs(outbox, "2") == []  # event 3 is gone: a partial replay would hide a gap
    assert seqs(outbox, "7") == []  # from the future (another server life)
    assert seqs(outbox, "abc") == []
    assert seqs(outbox, " 5 ") == [6]


def test_forget_empties_the_ring_but_ids_continue() -> None:
    outbox = Outbox(replay=10)
    publish(outbox, 3)
    outbox.forget()
    assert seqs(outbox, "1") == []
    publish(outbox, 1)
    assert outbox.last_seq == 4
    assert seqs(outbox, "3") == [4]


def test_replay_zero_keeps_nothing() -> None:
    outbox = Outbox(replay=0)
    publish(outbox, 3)
    assert seqs(outbox, "1") == []
    assert outbox.events_published == 3


def test_subscriber_queue_is_bounded() -> None:
    outbox = Outbox(replay=100, max_pending=3)
    subscriber = outbox.subscribe(None, None, None)
    for _ in range(5):
        publish(outbox, 1)
        # No loop is attached, so hand the events over the way the fan-out would.
        outbox._fan_out(outbox._ring[-1])
        assert len(subscriber.pending) <= 3
    assert subscriber.overflowed
    assert subscriber.close_mode == "clean"
    assert len(subscriber.pending) == 0
