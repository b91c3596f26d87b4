"""The bounded in-memory event log: the feed's rows in arrival order.

Rows are the events and the markers that explain them (an outage, a malformed event, a possible
gap). Each row has a position: 0 for the first row ever appended, then 1, 2, ... Positions
are not stored: the ring holds a contiguous run of them, so a row's position is
`first + its index`. A view that numbers the rows it receives the same way can ask for "every
row from position P on" and know exactly which of its rows the answer already covers.

Every buffer is bounded and every drop is counted: when the ring is full the oldest rows are
trimmed, and `trimmed` counts the events among them.

Appending is the hot path (once per event under a firehose), reading a flag's events is rare
(a history query): so the ring is a `deque` with `maxlen`, which appends a batch and trims the
oldest rows in C, and nothing is kept per row besides it. The counts come from the positions of
the markers (rare), and a flag's events are found by walking the ring from its newest row. A
per-flag index kept up to date on every append cost more than the ring itself.

Thread-safety: one writer (the monitor's loop) and readers on other threads (the TUI's
workers). A lock guards every mutation and every copy, because iterating a deque while another
thread appends to it raises. Readers copy under the lock (in C) and filter outside it, so a slow
filter never holds up the writer.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
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
        self._ring: deque[Row] = deque(maxlen=capacity)
        self._markers: deque[int] = deque()  # positions of the ring's rows that are no events
        self._lock = threading.Lock()
        self._appended = 0  # rows ever appended
        self.first = 0  # position of the oldest row in the ring
        self.trimmed = 0  # events dropped from the ring because it was full
        self.total = 0  # events ever appended

    def __len__(self) -> int:
        return len(self._ring)

    @property
    def end(self) -> int:
        """The position the next row will get."""
        with self._lock:
            return self._appended

    def append(self, row: Row) -> None:
        self.extend((row,))

    def extend(self, rows: Iterable[Row]) -> None:
        """Append rows in order (the monitor hands over one batch per network read)."""
        batch = rows if isinstance(rows, (list, tuple)) else list(rows)
        with self._lock:
            start = self._appended
            marks = [start + i for i, row in enumerate(batch) if type(row) is not FlagEvent]
            self._markers.extend(marks)
            self._append(batch, len(batch) - len(marks))

    def extend_events(self, events: Sequence[FlagEvent]) -> None:
        """`extend` for a batch of events only (the intake's): nothing per row in Python."""
        with self._lock:
            self._append(events, len(events))

    def _append(self, batch: Sequence[Row], events: int) -> None:
        # The caller holds the lock. The ring drops its oldest rows itself (maxlen).
        ring, markers = self._ring, self._markers
        ring.extend(batch)
        self._appended += len(batch)
        self.first = first = self._appended - len(ring)
        while markers and markers[0] < first:
            markers.popleft()
        self.total += events
        # Events ever appended less those still in the ring.
        self.trimmed = self.total - (len(ring) - len(markers))

    def last_received_at(self) -> float | None:
        """When the newest row was received; None while the log is empty."""
        with self._lock:
            return self._ring[-1].received_at if self._ring else None

    def last_event(self) -> FlagEvent | None:
        """The newest event in the ring (past any markers after it); None when it holds none."""
        with self._lock:
            return next((row for row in reversed(self._ring) if type(row) is FlagEvent), None)

    def revise(self, old: Row, new: Row) -> None:
        """Put `new` in place of the marker `old` (an outage proved whole after it was
        reported), at its position: a view that reads the log again shows `new` there."""
        with self._lock:
            ring, first = self._ring, self.first
            for position in reversed(self._markers):  # the newest first: it is one of them
                if ring[position - first] == old:
                    ring[position - first] = new
                    return

    def flag_keys(self) -> list[str]:
        """The keys of the ring's events, in the order they first appear in it."""
        with self._lock:
            rows = list(self._ring)
        return list(dict.fromkeys(row.flag_key for row in rows if type(row) is FlagEvent))

    def for_flag(self, flag_key: str, limit: int | None = None) -> list[FlagEvent]:
        """The flag's events still in the ring, oldest first (the last `limit` of them)."""
        if limit is not None and limit <= 0:
            return []
        with self._lock:
            rows = list(self._ring)
        picked: list[FlagEvent] = []
        for row in reversed(rows):  # newest first, so a limit stops early
            if type(row) is FlagEvent and row.flag_key == flag_key:
                picked.append(row)
                if limit is not None and len(picked) >= limit:
                    break
        picked.reverse()
        return picked

    def rows_since(self, position: int) -> tuple[list[Row], int]:
        """The rows from `position` on that are still in the ring, and `end`."""
        with self._lock:
            ring = self._ring
            skip = max(0, position - self.first)
            rows = list(ring) if skip == 0 else list(islice(ring, skip, None))
            return rows, self._appended

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
