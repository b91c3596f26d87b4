"""What a monitor tells its views, and the fan-out that carries it.

Updates are the stream's items plus what the monitor derives from them (a value's new state, a
before → after transition, the evaluate side's health). They leave the monitor two ways:
- `UpdateStream`: an async iterator on the monitor's loop (`Monitor.updates()`, the headless
  commands), which gets each update as it is published;
- a drain buffer that another thread empties with `drain()` (the TUI, when woken).
  Updates are staged on the loop and handed to the buffer by `commit()`, which the monitor
  calls right after it publishes a new snapshot: whatever a reader drains, the snapshot it
  reads next already reflects (but for the cached values, whose copy is throttled: see
  `snapshot.py`). `drain()` takes the whole buffer by swapping it for an empty one, under a
  lock the loop takes once per commit.

The reader need not poll: `on_updates` (given to `enable_drain`) is called on the loop when a
commit finds the buffer empty, so once per drain at most. The check and the fill happen under
the lock the drain swaps under, so no update is ever left without a wake: whatever a commit adds
after a drain either finds the buffer empty (and wakes) or joins updates that already woke it.
A reader must forget a wake before it drains, not after (a wake between its drain and its
forgetting would be lost). The callback must be cheap and never block (the TUI's posts a call
to its own loop).

Both are bounded, by one rule (`Overflow`). When a reader falls `max_pending` behind, further
updates are dropped and counted, and a `Dropped` update stands where they were, saying how many
feed rows the reader missed, so a view that numbers the rows it receives stays in step with the
event log. What tells the reader the stream stopped, had a gap or lost something (`KEPT`,
`NOTICES`) is kept through the overflow, in order: a reader that lost an outage would print the
proof of an outage it never printed, and one that lost the STOPPED status would wait for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from itertools import compress, repeat
from operator import is_not
from typing import Protocol

import msgspec

from togul_monitor.core.update_notes import RECORDING_TAKEN as RECORDING_TAKEN
from togul_monitor.core.update_notes import ConfigsStopped as ConfigsStopped
from togul_monitor.core.update_notes import Noticed as Noticed
from togul_monitor.core.update_notes import RecorderStopped as RecorderStopped
from togul_monitor.core.update_notes import RecordingTaken as RecordingTaken
from togul_monitor.domain.event_log import Row
from togul_monitor.domain.events import (
    FlagEvent,
    Heartbeat,
    Malformed,
    Outage,
    OutageProven,
    PossibleGap,
    Status,
    StreamItem,
)
from togul_monitor.domain.flag_config import ConfigDiff
from togul_monitor.domain.values import FlagValue, ValueTransition


class ValueUpdated(msgspec.Struct, frozen=True):
    """A flag's cached value changed state (stale, evaluated, deleted, errored)."""

    value: FlagValue
    # The first value of a flag that one of its events brought (not created): the event's
    # effect, with no value before it to compare with (`tail` prints it).
    first: bool = False


class TransitionRecorded(msgspec.Struct, frozen=True):
    """A before → after transition, tied to the event that caused it."""

    transition: ValueTransition
    watched: bool  # the flag is on the profile's watch list: the TUI rings the bell


class EvaluatorStatus(msgspec.Struct, frozen=True):
    """The evaluate side's health: reported once per change, never per request."""

    ok: bool
    message: str | None
    credentials_rejected: bool = False
    retry_at: float | None = None  # a pause (a spent quota): when evaluate is asked again

    def text(self, now: float) -> str | None:
        """The message, with what is left of a pause: said when shown, so it counts down."""
        if self.message is None or self.retry_at is None:
            return self.message
        return f"{self.message}: retrying in {max(0, math.ceil(self.retry_at - now))} s"


def status_kind(status: EvaluatorStatus) -> tuple[bool, bool, float | None]:
    """What makes a status news: ok or not, credentials or not, and a pause's end (each pause
    is news; other failures are not repeated per request)."""
    return status.ok, status.credentials_rejected, status.retry_at


class FlagsForgotten(msgspec.Struct, frozen=True):
    """Deleted flags past the bound, forgotten by one context (core/deleted_flags.py): their
    values are gone, so a view drops them too. One per batch, the oldest first."""

    keys: tuple[str, ...]
    context: str


class ConfigChanged(msgspec.Struct, frozen=True):
    """What changed in a flag's configuration (switch, default, rules), tied to the event that
    changed it (core/configs.py); `event` None: found by a re-fetch (after an outage)."""

    diff: ConfigDiff
    event: FlagEvent | None
    at: float  # when the monitor computed it


class Dropped(msgspec.Struct, frozen=True):
    """The reader (drain or update stream) fell behind: `updates` were dropped, `rows` of them
    feed rows, `events` of those events (the rest markers)."""

    updates: int
    rows: int
    events: int = 0


MonitorUpdate = (
    StreamItem
    | ValueUpdated
    | FlagsForgotten
    | TransitionRecorded
    | ConfigChanged
    | ConfigsStopped
    | EvaluatorStatus
    | RecordingTaken
    | RecorderStopped
    | Noticed
    | Dropped
)

#: The feed's rows that are no events (the markers the event log keeps).
MARKERS: tuple[type, ...] = (Outage, Malformed, PossibleGap)

#: Kept through an overflow, always: each is rare (a reconnect's, or once a run), and a reader
#: that lost one would wait for ever (STOPPED), print the proof of an outage it never printed,
#: go quiet about diffs without saying why, or never show a dead recorder's window; and a
#: notice is said once (a renewed token not written back, say).
KEPT: tuple[type, ...] = (
    Status,
    Outage,
    OutageProven,
    ConfigsStopped,
    RecordingTaken,
    RecorderStopped,
    Noticed,
)

#: Kept through an overflow up to `UpdateHub.max_notices` until the reader catches up (then
#: dropped and counted): each names something that may be missing (an unusable event, a skipped
#: version, values the evaluator does not answer), or flags a view must drop (no later update
#: would say it again), but a broken server or a flaky flag sends them at any rate, and the
#: buffer must stay bounded.
NOTICES: tuple[type, ...] = (Malformed, PossibleGap, EvaluatorStatus, FlagsForgotten)


class _End:
    """Ends an update stream (after `stop()`, or when the stream task failed)."""


END = _End()


class _Buffer(Protocol):
    def append(self, update: MonitorUpdate, /) -> None: ...
    def extend(self, updates: Iterable[MonitorUpdate], /) -> None: ...


class Overflow:
    """What a bounded reader's buffer keeps once it is full: one rule for the drain buffer and
    every update stream. What fits joins the buffer; the rest is dropped and counted, but for
    what `KEPT` and `NOTICES` name, which joins it in order, each after a `Dropped` saying what
    was lost before it. Once a buffer overflows it takes nothing more until its reader has
    caught up (`caught_up()`), so what was lost is always what the buffer ends with."""

    __slots__ = ("lost", "max_notices", "notices")

    def __init__(self, max_notices: int) -> None:
        self.max_notices = max_notices  # `NOTICES` kept through an overflow, per catch-up
        # Dropped since what the buffer ends with (said at the catch-up or the next kept update).
        self.lost = Dropped(0, 0)
        self.notices = 0  # `NOTICES` kept since the reader last caught up

    def add(self, buffer: _Buffer, staged: Sequence[MonitorUpdate], room: int) -> int:
        """Put `staged` in a buffer that has `room` left (or none: it may be over its bound by
        what it kept); how many updates were dropped.

        The updates that are no events are looked at one by one, found in C: a burst's overflow
        is thousands of events and a handful of others (a reader this far behind must not be
        made slower still by the monitor's bookkeeping)."""
        fits = 0 if self.lost.updates else max(room, 0)  # nothing jumps what was lost
        buffer.extend(staged[:fits])
        lost = staged[fits:]
        others = compress(range(len(lost)), map(is_not, map(type, lost), repeat(FlagEvent)))
        updates, rows, events = self.lost.updates, self.lost.rows, self.lost.events
        dropped = len(lost)
        after = 0  # where in `lost` the events not counted yet begin
        for index in others:
            update = lost[index]
            kind = type(update)
            gap = index - after  # the events before it
            updates, rows, events, after = updates + gap, rows + gap, events + gap, index + 1
            if kind in KEPT or (kind in NOTICES and self.notices < self.max_notices):
                self.notices += kind in NOTICES
                dropped -= 1
                if updates:  # said before it: a view numbering rows puts a marker where it was
                    buffer.append(Dropped(updates, rows, events))
                    updates = rows = events = 0
                buffer.append(update)
            else:
                updates += 1
                rows += kind in MARKERS
        gap = len(lost) - after
        self.lost = Dropped(updates + gap, rows + gap, events + gap)
        return dropped

    def caught_up(self) -> Dropped | None:
        """The reader has taken the whole buffer: what was lost after it (None: nothing); the
        buffer takes updates again, and notices up to the bound."""
        lost, self.lost = self.lost, Dropped(0, 0)
        self.notices = 0
        return lost if lost.updates else None


class UpdateStream:
    """The async iterator `Monitor.updates()` returns; subscribed from the moment it is made.
    A reader that falls behind gets what `Overflow` keeps, and a `Dropped` for the rest."""

    def __init__(self, hub: UpdateHub, maxsize: int) -> None:
        self._hub = hub
        self._queue: deque[MonitorUpdate | _End] = deque()
        self._maxsize = maxsize
        self._overflow = Overflow(hub.max_notices)
        self._event = asyncio.Event()
        self.dropped = 0

    def put(self, update: MonitorUpdate | _End) -> None:
        if len(self._queue) < self._maxsize and not self._overflow.lost.updates:
            self._queue.append(update)
            self._event.set()
        elif isinstance(update, _End):  # after what was lost: the reader stops at the end
            lost = self._overflow.caught_up()
            if lost is not None:
                self._queue.append(lost)
            self._queue.append(update)
            self._event.set()
        else:
            self.put_many((update,))

    def put_many(self, updates: Sequence[MonitorUpdate]) -> None:
        """`put` for a batch: one extend (the overflow, `Overflow`, when it does not fit)."""
        queue = self._queue
        room = self._maxsize - len(queue)
        if room >= len(updates) and not self._overflow.lost.updates:
            if updates:
                queue.extend(updates)
                self._event.set()
            return
        before = len(queue)
        lost = self._overflow.add(queue, updates, room)
        self.dropped += lost
        self._hub.dropped += lost
        if len(queue) > before:
            self._event.set()

    def __aiter__(self) -> UpdateStream:
        return self

    async def __anext__(self) -> MonitorUpdate:
        while not self._queue:
            lost = self._overflow.caught_up()  # the reader took all: it learns what it lost
            if lost is not None:
                return lost
            self._event.clear()
            await self._event.wait()
        item = self._queue.popleft()
        if isinstance(item, _End):
            self._hub.unsubscribe(self)
            raise StopAsyncIteration
        return item

    async def aclose(self) -> None:
        self._hub.unsubscribe(self)


class UpdateHub:
    """Publishing and `commit()` run on the monitor's loop; `drain()` on any thread."""

    def __init__(
        self,
        max_pending: int,
        on_updates: Callable[[], None] | None = None,
        max_notices: int = 1_000,
    ) -> None:
        self.max_pending = max_pending
        self.max_notices = max_notices  # `NOTICES` kept through an overflow, per drain
        self._on_updates = on_updates  # the drain buffer's wake: empty -> not empty
        self.dropped = 0  # updates a reader did not take in time
        self._subscribers: list[UpdateStream] = []
        self._draining = False
        self._staged: list[MonitorUpdate] = []  # published, not yet committed (loop only)
        # `drain()` runs on another thread: the lock guards what it swaps (_buffer, _overflow).
        self._lock = threading.Lock()
        self._buffer: list[MonitorUpdate] = []
        self._overflow = Overflow(max_notices)  # a drain is the reader's catch-up

    def publish(self, update: MonitorUpdate) -> None:
        # A heartbeat stays out of the drain buffer: its readers (the TUI, tail) take its age
        # from the snapshot it renews, and it would wake an idle TUI every second for nothing.
        if self._draining and type(update) is not Heartbeat:
            self._staged.append(update)
        for subscriber in self._subscribers:
            subscriber.put(update)

    def publish_rows(self, rows: Sequence[Row]) -> None:
        """Feed rows of one batch (events and markers), in order."""
        if self._draining:
            self._staged.extend(rows)
        for subscriber in self._subscribers:
            subscriber.put_many(rows)

    def commit(self) -> None:
        """Hand what was published since the last commit to the drain buffer."""
        staged = self._staged
        if not staged:
            return
        self._staged = []
        with self._lock:
            # Decided under the lock the drain swaps under: see the module's docstring.
            wake = not self._buffer and not self._overflow.lost.updates
            room = self.max_pending - len(self._buffer)
            if room >= len(staged) and not self._overflow.lost.updates:
                self._buffer.extend(staged)
            else:
                self.dropped += self._overflow.add(self._buffer, staged, room)
        on_updates = self._on_updates
        if wake and on_updates is not None:
            on_updates()  # outside the lock: it may take another (a loop's, say)

    def subscribe(self, *, ended: bool) -> UpdateStream:
        stream = UpdateStream(self, self.max_pending)
        if ended:
            stream.put(END)
        else:
            self._subscribers.append(stream)
        return stream

    def unsubscribe(self, stream: UpdateStream) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(stream)

    def end_all(self) -> None:
        """End every current update stream (each unsubscribes when it reads the end)."""
        for subscriber in list(self._subscribers):
            subscriber.put(END)

    def enable_drain(self, on_updates: Callable[[], None] | None = None) -> None:
        """Collect updates for `drain()`; with `on_updates`, wake the reader through it from now
        on (at once if updates already wait: none is left without a wake)."""
        self._draining = True
        if on_updates is None:
            return
        self._on_updates = on_updates
        with self._lock:
            waiting = bool(self._buffer) or bool(self._overflow.lost.updates)
        if waiting:
            on_updates()

    def drain(self) -> list[MonitorUpdate]:
        """All updates since the last call, oldest first; where some were lost, a `Dropped`
        saying how many (`Overflow`)."""
        with self._lock:
            if not self._draining:
                self._draining = True
                return []
            taken, self._buffer = self._buffer, []
            lost = self._overflow.caught_up()
        if lost is not None:
            taken.append(lost)
        return taken
