"""The event log under a stream of ever new flag keys (one event each): what it keeps besides
the events must stay small (domain/event_log.py)."""

from __future__ import annotations

import tracemalloc

from togul_monitor.domain.event_log import EventLog
from togul_monitor.domain.events import FlagEvent

N = 20_000


def test_one_event_per_new_key_costs_little_more_than_the_ring() -> None:
    events = [FlagEvent("flag.created", f"k-{i}", "env", 1, 0.0, None, 0.0) for i in range(N)]
    log = EventLog(capacity=N // 2)
    tracemalloc.start()
    try:
        log.extend(events)  # half of them trimmed on the way: their index entries go too
        used, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Before: an empty deque per key, some 600 bytes each (about 6 MB here).
    assert used / (N // 2) < 150, used
    assert log.for_flag(f"k-{N - 1}") == [events[-1]]
    assert log.for_flag("k-0") == []  # trimmed


def test_a_key_with_many_events_still_keeps_them_in_order_and_trims_them() -> None:
    log = EventLog(capacity=4)
    rows = [
        FlagEvent("flag.updated", "a" if i % 2 else "b", "env", i, 0.0, None, 0.0) for i in range(7)
    ]
    log.extend(rows)
    assert [e.version for e in log.for_flag("a")] == [3, 5]
    assert [e.version for e in log.for_flag("b")] == [4, 6]
    assert [e.version for e in log.for_flag("b", limit=1)] == [6]
    log.extend([FlagEvent("flag.updated", "c", "env", 9, 0.0, None, 0.0)] * 3)
    assert [e.version for e in log.for_flag("b")] == [6]  # back to one event
    assert log.flag_keys() == ["b", "c"]
