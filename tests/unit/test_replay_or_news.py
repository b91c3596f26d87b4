"""An event whose numeric id is not above the highest delivered: a replay, or a restarted server's
news (client/items_run.py `RunBuilder.is_news`, client/gaps.py `VersionTracker.is_newer`).

Each stream goes through both the per-event code and the run loop, which must agree."""

from __future__ import annotations

import json

from togul_monitor.client.gaps import MAX_ENVIRONMENTS, VersionTracker
from togul_monitor.client.items import ItemBuilder
from togul_monitor.client.sse import SSEDecoder
from togul_monitor.client.sse_fast import FastSSEDecoder
from togul_monitor.domain.events import FlagEvent, Malformed, StreamCounters

T = 1_700_000_000  # whole seconds, as a server stamps its events

Event = tuple[int, str, int, int, str]  # id, flag, version, timestamp, type


def ev(event_id: int, flag: str, version: int, ts: int = T, etype: str = "flag.updated") -> Event:
    return (event_id, flag, version, ts, etype)


def _body(events: list[Event | bytes], env: str) -> bytes:
    blocks = []
    for item in events:
        if isinstance(item, bytes):  # a raw block
            blocks.append(item)
            continue
        event_id, flag, version, ts, etype = item
        data = json.dumps(
            {
                "type": etype,
                "flag_key": flag,
                "environment_id": env,
                "version": version,
                "timestamp": ts,
            }
        )
        blocks.append(f"id: {event_id}\ndata: {data}\n\n".encode())
    return b"".join(blocks)


def _build(body: bytes, runs: bool, max_flags: int) -> tuple[list[str], ItemBuilder]:
    builder = ItemBuilder(StreamCounters())
    builder.versions = VersionTracker(max_flags)
    decoder = FastSSEDecoder() if runs else SSEDecoder()
    parsed = decoder.feed_runs(body) if runs else decoder.feed(body)  # type: ignore[attr-defined]
    kept = []
    for item in builder.build(parsed, now=T + 10.0):
        if isinstance(item, FlagEvent):
            kept.append(f"{item.event_id}:{item.flag_key}@{item.version}")
        elif isinstance(item, Malformed):
            kept.append(f"{item.event_id}:malformed")
    return kept, builder


def kept(
    *connections: list[Event | bytes], env: str = "e1", max_flags: int = 100
) -> tuple[list[str], ItemBuilder]:
    """What the builder keeps of these events (each connection's in turn), by both paths."""
    body = _body([item for connection in connections for item in connection], env)
    exact, builder = _build(body, runs=False, max_flags=max_flags)
    fast, fast_builder = _build(body, runs=True, max_flags=max_flags)
    assert fast == exact
    assert fast_builder.counters == builder.counters
    assert fast_builder.last_numeric == builder.last_numeric
    assert fast_builder.replay_window == builder.replay_window
    return exact, builder


# What the client saw before the server went away: the last events in second T.
BEFORE = [ev(1, "a", 1, T - 5), ev(2, "b", 4, T - 3), ev(3, "a", 2, T), ev(4, "b", 5, T)]


def test_a_restarted_servers_events_in_the_same_second_are_kept() -> None:
    restarted = [ev(1, "a", 3), ev(2, "b", 6), ev(3, "a", 4)]
    got, builder = kept(BEFORE, restarted)
    assert got[4:] == ["1:a@3", "2:b@6", "3:a@4"]
    assert builder.counters.duplicates == 0
    assert builder.last_numeric == 3  # the restarted server's numbering, from its first news


def test_a_restarted_servers_own_replay_is_still_caught() -> None:
    restarted = [ev(1, "a", 3), ev(2, "b", 6)]
    got, builder = kept(BEFORE, restarted, restarted + [ev(3, "c", 1, etype="flag.created")])
    assert got[4:] == ["1:a@3", "2:b@6", "3:c@1"]
    assert builder.counters.duplicates == 2


def test_a_replay_of_everything_seen_is_dropped() -> None:
    got, builder = kept(BEFORE, BEFORE + [ev(5, "a", 3)])
    assert got == ["1:a@1", "2:b@4", "3:a@2", "4:b@5", "5:a@3"]
    assert builder.counters.duplicates == 4


def test_a_flag_never_seen_is_news() -> None:
    got, builder = kept(BEFORE, [ev(1, "c", 1, etype="flag.created")])
    assert got[4:] == ["1:c@1"]


def test_the_flags_deletion_and_creation_again_are_news() -> None:
    restarted = [ev(1, "a", 3, etype="flag.deleted"), ev(2, "a", 1, etype="flag.created")]
    got, _ = kept(BEFORE, restarted)
    assert got[4:] == ["1:a@3", "2:a@1"]


def test_a_flag_created_again_after_its_deletion_was_seen_is_news() -> None:
    # b deleted at T - 1; after a restart, created again (from version 1) in the newest second.
    before = [*BEFORE, ev(5, "b", 6, T - 1, "flag.deleted"), ev(6, "a", 3)]
    got, builder = kept(before, [ev(1, "b", 1, etype="flag.created"), ev(2, "b", 2)])
    assert got[6:] == ["1:b@1", "2:b@2"]
    assert builder.counters.duplicates == 0


def test_a_replay_of_a_deleted_flags_earlier_lives_is_dropped() -> None:
    # b lived, was deleted, and lives again from version 1: its earlier life's versions are
    # above its new ones, yet a replay of them is no news.
    before = [
        *BEFORE,
        ev(5, "b", 6, etype="flag.deleted"),
        ev(6, "b", 1, etype="flag.created"),
        ev(7, "b", 2),
    ]
    got, builder = kept(before, before)
    assert got == ["1:a@1", "2:b@4", "3:a@2", "4:b@5", "5:b@6", "6:b@1", "7:b@2"]
    assert builder.counters.duplicates == 7


def test_a_replay_past_a_missed_deletion_is_dropped() -> None:
    # b created again with no deletion seen (it was missed): b@5 is of its earlier life.
    before = [*BEFORE, ev(5, "b", 1, etype="flag.created"), ev(6, "b", 2)]
    got, builder = kept(before, before)
    assert builder.counters.duplicates == 6


def test_a_flag_the_tracker_may_have_forgotten_is_not_taken_for_news() -> None:
    # With room for two flags, a was dropped for c: a@1 (id 1) may be a replay.
    before = [ev(1, "a", 1, T - 5), ev(2, "b", 1, T - 5), ev(3, "c", 1, T)]
    got, builder = kept(before, [ev(1, "a", 1, T - 5), ev(4, "d", 1)], max_flags=2)
    assert got == ["1:a@1", "2:b@1", "3:c@1", "4:d@1"]
    assert builder.versions.forgot and builder.counters.duplicates == 1


def test_an_environment_not_followed_is_judged_by_time_only() -> None:
    builder = ItemBuilder(StreamCounters())
    for n in range(MAX_ENVIRONMENTS):  # the tracker follows no more environments
        builder.versions.observe(FlagEvent("flag.updated", "x", f"env-{n}", 1, T, None, 0.0))
    builder.last_numeric = 9
    builder._max_timestamp = T
    same_second = FlagEvent("flag.updated", "a", "another", 1, T, "1", 0.0)
    later = FlagEvent("flag.updated", "a", "another", 1, T + 1, "1", 0.0)
    assert builder.is_duplicate("1", same_second)
    assert not builder.is_duplicate("1", later)


def test_a_malformed_event_under_an_id_that_goes_back_counts_as_a_replay() -> None:
    bad = b"id: 2\ndata: not json\n\n"
    restarted: list[Event | bytes] = [bad, ev(3, "a", 3), ev(4, "b", 6)]
    got, builder = kept(BEFORE, restarted)
    # Nothing tells it from a replay; the next event, news, starts the new numbering.
    assert got[4:] == ["3:a@3", "4:b@6"]
    assert builder.counters.duplicates == 1 and builder.counters.malformed == 0


def test_one_replay_taken_for_news_does_not_let_the_rest_of_the_replay_through() -> None:
    # a's version went back (its deletion and creation again were missed): the replay of a@7
    # reads as news, but the replays after it, of flags never in doubt, are still caught.
    before = [
        ev(1, "a", 7, T - 5),
        ev(2, "a", 2, T - 3),
        ev(3, "b", 1, T - 2),
        ev(4, "c", 1, T - 1),
    ]
    got, builder = kept(before, before)
    assert got == ["1:a@7", "2:a@2", "3:b@1", "4:c@1", "1:a@7"]
    assert builder.counters.duplicates == 3
    assert builder.replay_window == (4, T - 1)  # what came before is still checked


def test_the_ids_past_the_highest_before_a_restart_end_the_judging() -> None:
    restarted = [ev(1, "a", 3), ev(5, "b", 6), ev(6, "a", 4)]
    got, builder = kept(BEFORE, restarted)
    assert got[4:] == ["1:a@3", "5:b@6", "6:a@4"]
    assert builder.replay_window is None


def test_a_restarted_world_whose_versions_start_again_keeps_its_events() -> None:
    # A server restarted without its state: its flags start again at lower versions, its
    # events stamped after everything seen before (a restart takes a second or more).
    restarted = [
        ev(1, "c", 1, T + 1, "flag.created"),
        ev(2, "b", 2, T + 1),
        ev(3, "a", 1, T + 1),
        ev(4, "c", 2, T + 2),
        ev(5, "b", 3, T + 2),
    ]
    got, builder = kept(BEFORE, restarted)
    assert got[4:] == ["1:c@1", "2:b@2", "3:a@1", "4:c@2", "5:b@3"]
    assert builder.counters.duplicates == 0
    assert builder.replay_window is None  # closed by the first event stamped after it
