"""From decoded SSE events to stream items: validation, duplicates, gaps and counts.

Per connection the stream client hands over what each network read completed; `ItemBuilder`
turns it into `FlagEvent`s (or `Malformed`), drops replayed duplicates by id, follows each
flag's versions for possible gaps, and keeps the counters. It outlives connections: duplicates
and gaps are judged across reconnects.

- A `PossibleGap` (see `gaps.py`) follows the event that revealed it.
- An event the decoder dropped for its size (`sse.Oversized`) becomes a `Malformed` with the
  reason, counted and shown like any event that could not be used.
- Duplicates: an event whose own id was already delivered is dropped and counted. For numeric
  ids "already delivered" means id <= the highest numeric id seen, except when the event is
  newer (server timestamp) than anything seen: that is a server whose id sequence restarted,
  not a replay, and dropping it would lose real events forever.
"""

from __future__ import annotations

from collections import deque

from togul_monitor.client.gaps import VersionTracker
from togul_monitor.client.sse import Comment, Oversized, Parsed
from togul_monitor.client.validate import truncate, validate_event
from togul_monitor.domain.events import (
    FlagEvent,
    Heartbeat,
    Malformed,
    PossibleGap,
    StreamCounters,
    StreamItem,
)

SEEN_IDS_KEPT = 10_000
#: `StreamCounters.by_type` counts this many distinct types by name, the rest under OTHER_TYPES.
MAX_COUNTED_TYPES = 64
OTHER_TYPES = "(other)"


class ItemBuilder:
    def __init__(self, counters: StreamCounters) -> None:
        self.counters = counters
        self.last_heartbeat_at: float | None = None
        self.last_numeric: int | None = None  # the highest numeric id delivered
        self._max_timestamp: float | None = None
        self._seen: set[str] = set()
        self._seen_order: deque[str] = deque()
        self.versions = VersionTracker()

    def build(self, parsed: list[Parsed], now: float) -> list[StreamItem]:
        """Decoded events and comments as stream items, in order (the hot path)."""
        counters = self.counters
        by_type = counters.by_type
        out: list[StreamItem] = []
        for ev in parsed:
            if isinstance(ev, Comment):
                counters.heartbeats += 1
                self.last_heartbeat_at = now
                out.append(Heartbeat(now))
                continue
            event_id = ev.last_event_id if ev.has_id and ev.last_event_id else None
            if isinstance(ev, Oversized):
                item: FlagEvent | Malformed = Malformed(
                    f"oversized: {ev.reason}", truncate(ev.head), event_id, now
                )
            else:
                item = validate_event(ev.data, event_id, now)
            if event_id is not None and self.is_duplicate(event_id, item):
                counters.duplicates += 1
                continue
            out.append(item)
            if isinstance(item, FlagEvent):
                counters.events += 1
                etype = item.type
                if etype not in by_type and len(by_type) >= MAX_COUNTED_TYPES:
                    etype = OTHER_TYPES  # bounded: a server may send any number of odd types
                by_type[etype] = by_type.get(etype, 0) + 1
                if self._max_timestamp is None or item.timestamp > self._max_timestamp:
                    self._max_timestamp = item.timestamp
                gap = self.versions.observe(item)
                if gap is not None:
                    counters.gaps += 1
                    out.append(PossibleGap(item.flag_key, item.environment_id, *gap, event_id, now))
            else:
                counters.malformed += 1
        return out

    def is_duplicate(self, event_id: str, item: FlagEvent | Malformed) -> bool:
        if len(event_id) <= 30 and event_id.isascii() and event_id.isdigit():
            number = int(event_id)
            last = self.last_numeric
            if last is not None and number <= last:
                newer = (
                    isinstance(item, FlagEvent)
                    and self._max_timestamp is not None
                    and item.timestamp > self._max_timestamp
                )
                if not newer:
                    return True
            self.last_numeric = number
            return False
        if event_id in self._seen:
            return True
        self._seen.add(event_id)
        self._seen_order.append(event_id)
        if len(self._seen_order) > SEEN_IDS_KEPT:
            self._seen.discard(self._seen_order.popleft())
        return False
