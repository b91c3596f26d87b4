"""The bounded event log: ring, a flag's events, trimming counted, filters."""

from __future__ import annotations

import random
import threading

from togul_monitor.domain.event_log import EventLog
from togul_monitor.domain.events import FlagEvent, Outage


def ev(i: int, key: str = "f", type_: str = "flag.updated") -> FlagEvent:
    return FlagEvent(type_, key, "env-1", i, 1000 + i, str(i), 2000.0 + i)


class KeyIs:
    def __init__(self, key: str) -> None:
        self.key = key

    def matches(self, event: FlagEvent, environment_names=None) -> bool:
        return event.flag_key == self.key


def test_ring_trims_the_oldest_and_counts() -> None:
    log = EventLog(3)
    for i in range(5):
        log.append(ev(i, key="a" if i % 2 else "b"))
    assert [e.version for e in log.events()] == [2, 3, 4]
    assert log.trimmed == 2 and log.total == 5 and len(log) == 3


def test_per_flag_index_follows_trimming() -> None:
    log = EventLog(4)
    for i in range(10):
        log.append(ev(i, key="a" if i < 8 else "b"))
    assert [e.version for e in log.for_flag("a")] == [6, 7]
    assert [e.version for e in log.for_flag("b")] == [8, 9]
    assert [e.version for e in log.for_flag("a", limit=1)] == [7]
    assert log.for_flag("zzz") == []
    assert sorted(log.flag_keys()) == ["a", "b"]


def test_filter_and_limit_keep_the_newest_oldest_first() -> None:
    log = EventLog(100)
    for i in range(20):
        log.append(ev(i, key="a" if i % 3 == 0 else "b"))
    got = log.events(KeyIs("a"), limit=3)
    assert [e.version for e in got] == [12, 15, 18]
    assert [e.version for e in log.events(limit=2)] == [18, 19]
    assert log.events(limit=0) == []


def test_filter_with_the_shared_query_language() -> None:
    from togul_monitor.domain.filters import parse_filter

    log = EventLog(100)
    log.append(ev(1, key="checkout-v2", type_="rule.updated"))
    log.append(ev(2, key="new-dashboard"))
    log.append(ev(3, key="checkout-v3", type_="flag.updated"))
    got = log.events(parse_filter("flag:checkout-* type:rule"))
    assert [e.version for e in got] == [1]


def test_readers_on_another_thread_while_appending() -> None:
    log = EventLog(1000)
    stop = threading.Event()
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not stop.is_set():
                log.events(KeyIs("a"), limit=10)
                log.for_flag("a")
        except BaseException as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    for i in range(50_000):
        log.append(ev(i, key="a" if i % 2 else "b"))
    stop.set()
    thread.join()
    assert errors == []
    assert log.trimmed == 49_000


def test_extend_is_append_in_bulk() -> None:
    one, bulk = EventLog(5), EventLog(5)
    batch = [ev(i, key="a" if i % 3 else "b") for i in range(12)]
    for e in batch:
        one.append(e)
    bulk.extend(batch)
    assert bulk.events() == one.events() and bulk.trimmed == one.trimmed == 7
    assert bulk.for_flag("b") == one.for_flag("b") and bulk.total == 12


MARKER = Outage(1.0, 2.0, 0, True, 3.0)


def expected(rows: list[object], capacity: int) -> tuple[list[object], int, int, int]:
    """What a log of `capacity` holds after `rows`: the last rows, first, total, trimmed."""
    kept = rows[-capacity:] if rows else []
    events = sum(1 for row in rows if type(row) is FlagEvent)
    kept_events = sum(1 for row in kept if type(row) is FlagEvent)
    return kept, len(rows) - len(kept), events, events - kept_events


def test_a_batch_larger_than_the_ring_keeps_its_newest_rows_and_counts_the_rest() -> None:
    log = EventLog(4)
    log.extend([ev(0, key="a"), ev(1, key="b")])
    batch = [ev(2, key="a"), MARKER, ev(3, key="b"), ev(4, key="a"), ev(5, key="a"), ev(6)]
    log.extend(iter(batch))  # any iterable, not only a list
    assert log.rows_since(0) == ([ev(3, "b"), ev(4, "a"), ev(5, "a"), ev(6)], 8)
    assert (log.first, log.total, log.trimmed) == (4, 7, 3)
    assert log.for_flag("a") == [ev(4, "a"), ev(5, "a")] and log.for_flag("b") == [ev(3, "b")]
    assert sorted(log.flag_keys()) == ["a", "b", "f"]


def test_bulk_trimming_matches_a_plain_list_with_markers() -> None:
    rng = random.Random(7)
    for capacity in (1, 2, 5, 17):
        log = EventLog(capacity)
        rows: list[object] = []
        for step in range(200):
            size = rng.randint(0, 2 * capacity + 1)
            batch = [
                MARKER if rng.random() < 0.1 else ev(step, rng.choice("abc")) for _ in range(size)
            ]
            rows.extend(batch)
            if MARKER not in batch and rng.random() < 0.5:
                log.extend_events(batch)  # the intake's path for events only
            else:
                log.extend(batch)
            kept, first, total, trimmed = expected(rows, capacity)
            assert log.rows_since(0) == (kept, first + len(kept))
            assert (log.first, log.total, log.trimmed) == (first, total, trimmed)
            for key in "abc":
                events = [r for r in kept if type(r) is FlagEvent and r.flag_key == key]
                assert log.for_flag(key) == events
                assert log.for_flag(key, limit=2) == events[-2:]
            assert log.end == len(rows)
