"""The bounded in-memory event log: a ring of the latest events plus a per-flag index.

Every buffer is bounded and every drop is counted (design.md §2 rule 5): when the ring is full the
oldest event is trimmed and `trimmed` goes up; the views show that count.

The per-flag index is a deque of the same event objects per key. Events are appended in global
order, so the oldest event of the ring is also the oldest entry of its flag's deque, and trimming
is O(1): pop it from both.

Thread-safety: one writer (the monitor's loop) and readers on other threads (the TUI). A lock
guards every mutation and every copy, because iterating a deque while another thread appends to
it raises. Readers copy under the lock and filter outside it, so a slow filter never holds up
the writer.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Protocol

from togul_monitor.domain.events import FlagEvent


class EventFilter(Protocol):
    def matches(
        self, event: FlagEvent, environment_names: Mapping[str, str] | None = None
    ) -> bool: ...


class EventLog:
    def __init__(self, capacity: int = 100_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._ring: deque[FlagEvent] = deque()
        self._by_flag: dict[str, deque[FlagEvent]] = {}
        self._lock = threading.Lock()
        self.trimmed = 0  # events dropped from the ring because it was full
        self.total = 0  # events ever appended

    def __len__(self) -> int:
        return len(self._ring)

    def append(self, event: FlagEvent) -> None:
        # The hot path (once per event): kept flat on purpose.
        with self._lock:
            ring = self._ring
            if len(ring) >= self.capacity:
                self._trim_one()
            ring.append(event)
            per_flag = self._by_flag.get(event.flag_key)
            if per_flag is None:
                self._by_flag[event.flag_key] = deque((event,))
            else:
                per_flag.append(event)
            self.total += 1

    def extend(self, events: Iterable[FlagEvent]) -> None:
        """Append many under one lock (the monitor hands over one batch per network read)."""
        with self._lock:
            ring, by_flag, capacity = self._ring, self._by_flag, self.capacity
            n = 0
            for event in events:
                if len(ring) >= capacity:
                    self._trim_one()
                ring.append(event)
                per_flag = by_flag.get(event.flag_key)
                if per_flag is None:
                    by_flag[event.flag_key] = deque((event,))
                else:
                    per_flag.append(event)
                n += 1
            self.total += n

    def _trim_one(self) -> None:
        old = self._ring.popleft()
        per_flag = self._by_flag[old.flag_key]
        per_flag.popleft()
        if not per_flag:
            del self._by_flag[old.flag_key]
        self.trimmed += 1

    def flag_keys(self) -> list[str]:
        with self._lock:
            return list(self._by_flag)

    def for_flag(self, flag_key: str, limit: int | None = None) -> list[FlagEvent]:
        """The flag's events still in the ring, oldest first (the last `limit` of them)."""
        with self._lock:
            per_flag = self._by_flag.get(flag_key)
            if not per_flag:
                return []
            if limit is None or limit >= len(per_flag):
                return list(per_flag)
            # Copy only the tail: walking a deque from the right end is cheap.
            tail = [per_flag[-i] for i in range(1, limit + 1)]
        tail.reverse()
        return tail

    def events(
        self,
        flt: EventFilter | None = None,
        limit: int | None = None,
        environment_names: Mapping[str, str] | None = None,
    ) -> list[FlagEvent]:
        """Events in the ring, oldest first; with `flt`, those it matches; the last `limit`."""
        if limit is not None and limit <= 0:
            return []
        with self._lock:
            if flt is None:
                if limit is None or limit >= len(self._ring):
                    return list(self._ring)
                tail = [self._ring[-i] for i in range(1, limit + 1)]
                tail.reverse()
                return tail
            snapshot = list(self._ring)
        picked: list[FlagEvent] = []
        for event in reversed(snapshot):  # newest first, so a limit stops early
            if flt.matches(event, environment_names):
                picked.append(event)
                if limit is not None and len(picked) >= limit:
                    break
        picked.reverse()
        return picked
