"""From decoded SSE events to stream items: validation, duplicates, gaps and counts.

Per connection the stream client hands over what each network read completed; `ItemBuilder`
turns it into `FlagEvent`s (or `Malformed`), drops replayed duplicates by id, follows each
flag's versions for possible gaps, and keeps the counters. It outlives connections: duplicates
and gaps are judged across reconnects.

- A `PossibleGap` (see `gaps.py`) follows the event that revealed it.
- Plain events come from the decoder's fast path as `Run`s (sse_fast.py) and take one loop
  (`items_run.py`, which also holds the state) with the same results as the per-event code here.
- An event the decoder dropped for its size (`sse.Oversized`) becomes a `Malformed` with the
  reason, counted and shown like any event that could not be used.
- Duplicates: an event whose own id was already delivered is dropped and counted. For numeric
  ids "already delivered" means id <= the highest numeric id seen, except when the event is
  news (`RunBuilder.is_news`): stamped after anything seen, or carrying a version above every
  one seen for its flag. That is a server whose id sequence restarted, not a replay, and
  dropping it would lose real events forever.
"""

from __future__ import annotations

from togul_monitor.client.items_run import (
    MAX_COUNTED_TYPES,
    OTHER_TYPES,
    SEEN_IDS_KEPT,
    RunBuilder,
)
from togul_monitor.client.sse import Comment, Oversized
from togul_monitor.client.sse_fast import FastParsed, Run
from togul_monitor.client.validate import truncate, validate_event
from togul_monitor.domain.events import (
    FlagEvent,
    Heartbeat,
    Malformed,
    PossibleGap,
    StreamItem,
)

__all__ = ["MAX_COUNTED_TYPES", "OTHER_TYPES", "SEEN_IDS_KEPT", "ItemBuilder"]


class ItemBuilder(RunBuilder):
    def build(self, parsed: list[FastParsed], now: float) -> list[StreamItem]:
        """Decoded events and comments as stream items, in order (the hot path).

        A `Run` of plain events takes `build_run` (items_run.py), one loop that validates, drops
        duplicates and tracks gaps exactly as the per-event code below does."""
        counters = self.counters
        by_type = counters.by_type
        out: list[StreamItem] = []
        for ev in parsed:
            if isinstance(ev, Run):
                self.build_run(ev, now, out)
                continue
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
