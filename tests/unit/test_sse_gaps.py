"""Per-flag version gap detection (docs/stream-client.md, outages and gaps)."""

from __future__ import annotations

from togul_monitor.client.gaps import VersionTracker
from togul_monitor.domain.events import FlagEvent


def ev(flag: str, version: int, env: str = "e", etype: str = "flag.updated") -> FlagEvent:
    return FlagEvent(etype, flag, env, version, 0, None, 0.0)


def feed(tracker: VersionTracker, *events: FlagEvent) -> list[tuple[int, int] | None]:
    return [tracker.observe(e) for e in events]


def test_off_until_two_interleaved_plus_one_steps() -> None:
    tracker = VersionTracker()
    assert feed(tracker, ev("a", 1), ev("a", 2), ev("a", 3)) == [None] * 3  # not interleaved
    assert tracker.per_flag is False
    assert feed(tracker, ev("a", 9)) == [None]  # a jump before per-flag mode: not reported
    feed(tracker, ev("b", 1), ev("a", 10), ev("b", 2))
    assert tracker.per_flag is True
    assert feed(tracker, ev("a", 12), ev("b", 2)) == [(11, 12), (3, 2)]


def test_a_global_counter_never_turns_it_on() -> None:
    tracker = VersionTracker()
    flags = ["a", "b", "c", "a", "c", "b", "a", "a", "b"]
    results = feed(tracker, *(ev(flag, version) for version, flag in enumerate(flags, 1)))
    assert results == [None] * len(flags)
    assert tracker.per_flag is False


def test_per_environment_counters_do_not_count_as_per_flag_evidence() -> None:
    tracker = VersionTracker()
    # each environment has one global counter; events of the other environment interleave
    feed(tracker, ev("a", 1, "x"), ev("b", 1, "y"), ev("a", 2, "x"), ev("c", 2, "y"))
    feed(tracker, ev("a", 3, "x"), ev("b", 3, "y"), ev("a", 4, "x"))
    assert tracker.evidence == 0


def test_created_restarts_a_flag_and_deleted_forgets_it() -> None:
    tracker = VersionTracker()
    feed(tracker, ev("a", 1), ev("b", 1), ev("a", 2), ev("b", 2))
    assert tracker.per_flag
    assert feed(tracker, ev("a", 3, etype="flag.deleted"), ev("a", 1, etype="flag.created")) == [
        None,
        None,
    ]
    assert feed(tracker, ev("a", 2)) == [None]


def test_a_server_naming_ever_new_keys_cannot_grow_it() -> None:
    tracker = VersionTracker(max_flags=3)
    feed(tracker, ev("b", 1), ev("a", 1), ev("b", 2), ev("a", 2), ev("b", 3))
    assert tracker.per_flag is True
    feed(tracker, *(ev(f"new-{n}", 1) for n in range(1000)))
    assert len(tracker._last) == 3  # the most recently changed flags only
    # "a" was forgotten: its next event is as if first seen, never a false gap.
    assert feed(tracker, ev("a", 7)) == [None]
    assert feed(tracker, ev("new-999", 3)) == [(2, 3)]  # a remembered one is still checked


def test_a_server_naming_ever_new_environments_cannot_grow_it() -> None:
    from togul_monitor.client.gaps import MAX_ENVIRONMENTS

    tracker = VersionTracker()
    feed(tracker, *(ev("a", 1, f"env-{n}") for n in range(MAX_ENVIRONMENTS + 500)))
    assert len(tracker._env_seq) == MAX_ENVIRONMENTS
    assert len(tracker._last) == MAX_ENVIRONMENTS


def test_what_contradicts_the_versions_known_for_the_outage_proof() -> None:
    tracker = VersionTracker()
    feed(tracker, ev("a", 5), ev("b", 3), ev("g", 2, etype="flag.deleted"))
    assert not tracker.contradicts(ev("a", 6))
    assert not tracker.contradicts(ev("a", 9))  # a jump: a global counter would do that
    assert tracker.contradicts(ev("a", 4)) and tracker.contradicts(ev("a", 5))  # back, repeated
    assert not tracker.contradicts(ev("b", 3, etype="flag.deleted"))  # may keep its version
    assert tracker.contradicts(ev("b", 1, etype="flag.created"))  # its deletion unseen
    assert not tracker.contradicts(ev("g", 1, etype="flag.created"))
    assert tracker.contradicts(ev("g", 3))  # a deleted flag changed, never created again
    assert not tracker.contradicts(ev("new", 40))  # nothing known to contradict
    copy = tracker.copy()
    feed(copy, ev("a", 6), ev("b", 4), ev("a", 7), ev("b", 5))  # per flag, in the copy only
    assert copy.contradicts(ev("a", 9)) and not tracker.contradicts(ev("a", 9))
