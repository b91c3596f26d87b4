"""The stream's hot loop: a `Run` of plain events to stream items, in one pass.

`RunBuilder` holds what the item builder keeps across connections; `ItemBuilder` (items.py)
extends it with the per-event code and hands every `Run` of the decoder's fast path
(sse_fast.py) to `build_run`. One loop does, per event, what the per-event code does in four
places, with the same result:

* validation: msgspec decodes the documented payload straight into typed, range-checked fields
  (`validate.decode_wire`); anything it refuses goes to `validate_event`, the reference, which
  also says why a payload is malformed;
* duplicates: `RunBuilder.is_duplicate`'s rule, the numeric case inline (only an id that goes
  back costs a call, `is_news`);
* counts: events, types (bounded), the newest server timestamp;
* gaps: `VersionTracker.observe` (gaps.py) inline, on the tracker's own state.

It exists because a method call per step cost more than the steps themselves; keep it in step
with those four (tests/unit/test_sse_fast.py compares it with them on random streams).
"""

from __future__ import annotations

from collections import deque

from togul_monitor.client.gaps import EVIDENCE_NEEDED, MAX_ENVIRONMENTS, VersionTracker
from togul_monitor.client.sse_fast import Run
from togul_monitor.client.validate import (
    FAST_MAX_CHARS,
    Wire,
    decode_wire,
    validate_event,
)
from togul_monitor.domain.events import (
    FlagEvent,
    Malformed,
    PossibleGap,
    StreamCounters,
    StreamItem,
)

SEEN_IDS_KEPT = 10_000
#: `StreamCounters.by_type` counts this many distinct types by name, the rest under OTHER_TYPES.
MAX_COUNTED_TYPES = 64
OTHER_TYPES = "(other)"
_DELETED = "flag.deleted"
_CREATED = "flag.created"


class RunBuilder:
    """What `ItemBuilder` (items.py) keeps across connections, and its loop for runs."""

    def __init__(self, counters: StreamCounters) -> None:
        self.counters = counters
        self.last_heartbeat_at: float | None = None
        self.last_numeric: int | None = None  # the highest numeric id delivered
        # After news under an id that went back (a restarted server numbering afresh): the
        # highest id and the newest server time delivered before. An event under an id up to
        # that one and stamped no later may still replay what came before the restart, so each
        # is checked (`within` it, a version seen again: a replay) until an event passes either.
        self.replay_window: tuple[int, float | None] | None = None
        self._max_timestamp: float | None = None
        self._seen: set[str] = set()
        self._seen_order: deque[str] = deque()
        self.versions = VersionTracker()

    def is_duplicate(self, event_id: str, item: FlagEvent | Malformed) -> bool:
        """Whether `item`, under `event_id`, replays an event already delivered.

        A numeric id not above the highest delivered is a replay unless the event is news
        (`is_news`): then the server numbers its events afresh (it restarted), and its id
        becomes the highest, so that its own replays are caught from then on; what came before
        it is still checked one by one (`replay_window`, `within`), so that one replay
        taken for news does not let the rest of a replay through. A `Malformed` carries nothing
        to tell news by: under such an id it counts as a replay."""
        if len(event_id) <= 30 and event_id.isascii() and event_id.isdigit():
            number = int(event_id)
            last, window = self.last_numeric, self.replay_window
            if last is not None and number <= last:
                if not self._news(item):
                    return True
                self.replay_window = opened(window, last, self._max_timestamp)
            elif window is not None:
                if not within(window, number, item):
                    self.replay_window = None
                elif isinstance(item, FlagEvent) and self.versions.seen_version(item):
                    return True  # surely a replay of what came before the restart
            self.last_numeric = number
            return False
        if event_id in self._seen:
            return True
        self._seen.add(event_id)
        self._seen_order.append(event_id)
        if len(self._seen_order) > SEEN_IDS_KEPT:
            self._seen.discard(self._seen_order.popleft())
        return False

    def _news(self, item: FlagEvent | Malformed) -> bool:
        return isinstance(item, FlagEvent) and self.is_news(item, self._max_timestamp)

    def is_news(self, event: FlagEvent, max_timestamp: float | None) -> bool:
        """Whether `event`, whose id is not above the highest delivered, is news, not a replay.

        Only for ids that go back, so off the per-event path. A replayed event is never stamped
        after the newest delivered (`max_timestamp`), and carries a version already seen for its
        flag; a restarted server's events are stamped now, often in the same second as the last
        one seen (timestamps are whole seconds), and carry its flag's next version."""
        if max_timestamp is not None and event.timestamp > max_timestamp:
            return True
        return self.versions.is_newer(event)

    def build_run(self, run: Run, now: float, out: list[StreamItem]) -> None:
        """Append the items of `run`'s events to `out`, updating the state and counters."""
        _build_run(self, run, now, out)


def opened(
    window: tuple[int, float | None] | None, highest: int, newest: float | None
) -> tuple[int, float | None]:
    """The replay window once news came under an id that went back: the highest id and the
    newest server time delivered before it (the wider of two, after a second restart)."""
    if window is None:
        return (highest, newest)
    return (max(highest, window[0]), newest)


def within(window: tuple[int, float | None], number: int, item: FlagEvent | Malformed) -> bool:
    """Whether an event under `number` is inside the replay window: not above its ids, nor
    stamped after its time. Inside it, an event of a live flag at a version already seen surely
    replays what came before the restart; stricter than `not is_news`, since the restarted
    server's own news comes there too (a flag created again, or a world that starts its
    versions again, reads as neither), and a real event dropped is worse than a replay shown
    twice. A replay comes first on a connection: the first event outside the window ends it."""
    highest, newest = window
    return number <= highest and (
        newest is None or not isinstance(item, FlagEvent) or item.timestamp <= newest
    )


def _build_run(builder: RunBuilder, run: Run, now: float, out: list[StreamItem]) -> None:
    counters = builder.counters
    by_type = counters.by_type
    tracker = builder.versions
    last = tracker._last
    env_seq = tracker._env_seq
    max_flags = tracker.max_flags
    last_numeric = builder.last_numeric
    window = builder.replay_window
    max_ts = builder._max_timestamp
    per_flag = tracker.per_flag
    events = duplicates = malformed = gaps = 0
    append = out.append
    for raw_id, data in zip(run.ids, run.datas, strict=True):
        event_id = raw_id or None  # "" (an empty id line) is no id, as for any event
        try:
            wire: Wire | None = decode_wire(data) if len(data) <= FAST_MAX_CHARS else None
        except Exception:  # noqa: BLE001 - anything unusual is validate_event's to judge
            wire = None
        if wire is not None:  # its ranges are checked by msgspec (validate.Wire)
            etype = wire.type
            flag = wire.flag_key
            env = wire.environment_id
            version = wire.version
            timestamp: float = wire.timestamp
            item = FlagEvent(etype, flag, env, version, timestamp, event_id, now)
        else:
            checked = validate_event(data, event_id, now)
            if not isinstance(checked, FlagEvent):
                # Malformed: its id still counts for duplicates (a replayed bad event).
                if event_id is not None:
                    builder.last_numeric, builder.replay_window = last_numeric, window
                    builder._max_timestamp = max_ts
                    duplicate = builder.is_duplicate(event_id, checked)
                    last_numeric, window = builder.last_numeric, builder.replay_window
                    if duplicate:
                        duplicates += 1
                        continue
                append(checked)
                malformed += 1
                continue
            item = checked
            etype = item.type
            flag = item.flag_key
            env = item.environment_id
            version = item.version
            timestamp = item.timestamp
        if event_id is not None:
            if len(event_id) <= 30 and event_id.isascii() and event_id.isdigit():
                number = int(event_id)
                if last_numeric is not None and number <= last_numeric:  # rare: an id went back
                    if not builder.is_news(item, max_ts):
                        duplicates += 1
                        continue
                    window = opened(window, last_numeric, max_ts)
                elif window is not None:  # after a restart: what came before it may replay
                    if not within(window, number, item):
                        window = None
                    elif tracker.seen_version(item):
                        duplicates += 1
                        continue
                last_numeric = number
            elif builder.is_duplicate(event_id, item):  # not numeric: never reads last_numeric
                duplicates += 1
                continue
        append(item)
        events += 1
        count = by_type.get(etype)
        if count is not None:
            by_type[etype] = count + 1
        elif len(by_type) < MAX_COUNTED_TYPES:
            by_type[etype] = 1
        else:  # bounded: a server may send any number of odd types
            by_type[OTHER_TYPES] = by_type.get(OTHER_TYPES, 0) + 1
        if max_ts is None or timestamp > max_ts:
            max_ts = timestamp
        # The version tracker (gaps.py, VersionTracker.observe), inline. Popping and inserting
        # again moves a flag to the end (most recent) with one lookup less than get, set and
        # move_to_end.
        seq = env_seq.get(env)
        if seq is None:
            if len(env_seq) >= MAX_ENVIRONMENTS:
                continue
            seq = 1
        else:
            seq += 1
        env_seq[env] = seq
        key = (env, flag)
        previous = last.pop(key, None)
        if etype == _DELETED:
            tracker.remember_deleted(key, version, timestamp)
            continue
        last[key] = (version, seq)
        if previous is None:
            if len(last) > max_flags:
                last.popitem(last=False)  # the least recently changed flag
                tracker.forgot = True
            continue
        if etype == _CREATED:
            tracker.remember_deleted(key, previous[0], timestamp)  # a deletion missed
            continue
        last_version, last_seq = previous
        if version == last_version + 1:
            if not per_flag and last_seq != seq - 1:
                tracker.evidence += 1
                per_flag = tracker.per_flag = tracker.evidence >= EVIDENCE_NEEDED
        elif per_flag:
            gaps += 1
            append(PossibleGap(flag, env, last_version + 1, version, event_id, now))
    builder.last_numeric, builder.replay_window = last_numeric, window
    builder._max_timestamp = max_ts
    counters.events += events
    counters.duplicates += duplicates
    counters.malformed += malformed
    counters.gaps += gaps
