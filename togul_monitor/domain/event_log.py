"""The bounded in-memory event log: the feed's rows in arrival order, plus a per-flag index.

Rows are the events and the markers that explain them (an outage, a malformed event, a possible
gap). Each row has a position: 0 for the first row ever appended, then 1, 2, ... Positions
are not stored: the ring holds a contiguous run of them, so a row's position is
`first + its index`. A view that numbers the rows it receives the same way can ask for "every
row from position P on" and know exactly which of its rows the answer already covers.

Every buffer is bounded and every drop is counted: when the ring is full the oldest row is
trimmed, and `trimmed` counts the events among them.

The per-flag index holds the same event objects per key: the event itself while the flag has
one in the ring, a deque once it has more. An empty deque costs some 600 bytes, so a stream of
ever new keys (one event each) would spend more on the index than on the events. Rows are
appended in global order, so the oldest event of the ring is also the oldest entry of its
flag's, and trimming is O(1): drop it from both.

Thread-safety: one writer (the monitor's loop) and readers on other threads (the TUI's
workers). A lock guards every mutation and every copy, because iterating a deque while another
thread appends to it raises. Readers copy under the lock and filter outside it, so a slow filter
never holds up the writer.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Mapping
from itertools import islice
from typing import Protocol

from togul_monitor.domain.events import FlagEvent, Malformed, Outage, PossibleGap

#: A row of the feed: an event, or a marker that explains what the events alone cannot.
Row = FlagEvent | Outage | Malformed | PossibleGap


class EventFilter(Protocol):
    def matches(
        self, event: FlagEvent, environment_names: Mapping[str, str] | None = None
    ) -> bool: ...


class EventLog:
    def __init__(self, capacity: int = 100_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._ring: deque[Row] = deque()
        self._by_flag: dict[str, FlagEvent | deque[FlagEvent]] = {}
        self._lock = threading.Lock()
        self.first = 0  # position of the oldest row in the ring
        self.trimmed = 0  # events dropped from the ring because it was full
        self.total = 0  # events ever appended

    def __len__(self) -> int:
        return len(self._ring)

    @property
    def end(self) -> int:
        """The position the next row will get."""
        with self._lock:
            return self.first + len(self._ring)

    def append(self, row: Row) -> None:
        self.extend((row,))

    def extend(self, rows: Iterable[Row]) -> None:
        """Append rows in order (the monitor hands over one batch per network read)."""
        # The hot path (once per event): kept flat on purpose, one lock per batch.
        ring, by_flag, capacity = self._ring, self._by_flag, self.capacity
        events = 0
        with self._lock:
            for row in rows:
                if len(ring) >= capacity:
                    self._trim_one()
                ring.append(row)
                if type(row) is FlagEvent:
                    per_flag = by_flag.get(row.flag_key)
                    if per_flag is None:
                        by_flag[row.flag_key] = row
                    elif type(per_flag) is FlagEvent:
                        by_flag[row.flag_key] = deque((per_flag, row))
                    else:
                        per_flag.append(row)  # type: ignore[union-attr]  # a deque, as checked
                    events += 1
            self.total += events

    def _trim_one(self) -> None:
        old = self._ring.popleft()
        self.first += 1
        if type(old) is FlagEvent:
            per_flag = self._by_flag[old.flag_key]
            if isinstance(per_flag, deque):
                per_flag.popleft()
                if len(per_flag) == 1:
                    self._by_flag[old.flag_key] = per_flag[0]
            else:
                del self._by_flag[old.flag_key]
            self.trimmed += 1

    def flag_keys(self) -> list[str]:
        with self._lock:
            return list(self._by_flag)

    def for_flag(self, flag_key: str, limit: int | None = None) -> list[FlagEvent]:
        """The flag's events still in the ring, oldest first (the last `limit` of them)."""
        with self._lock:
            per_flag = self._by_flag.get(flag_key)
            if per_flag is None:
                return []
            if isinstance(per_flag, FlagEvent):
                return [per_flag] if limit is None or limit > 0 else []
            if limit is None or limit >= len(per_flag):
                return list(per_flag)
            # Copy only the tail: walking a deque from the right end is cheap.
            tail = [per_flag[-i] for i in range(1, limit + 1)]
        tail.reverse()
        return tail

    def rows_since(self, position: int) -> tuple[list[Row], int]:
        """The rows from `position` on that are still in the ring, and `end`."""
        with self._lock:
            ring = self._ring
            skip = max(0, position - self.first)
            rows = list(ring) if skip == 0 else list(islice(ring, skip, None))
            return rows, self.first + len(ring)

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
            snapshot = list(self._ring)
        picked: list[FlagEvent] = []
        for row in reversed(snapshot):  # newest first, so a limit stops early
            if type(row) is FlagEvent and (flt is None or flt.matches(row, environment_names)):
                picked.append(row)
                if limit is not None and len(picked) >= limit:
                    break
        picked.reverse()
        return picked
