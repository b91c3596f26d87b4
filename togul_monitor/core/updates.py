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

Both are bounded. When a reader falls `max_pending` behind, further updates are dropped and
counted; the drain buffer then ends with one `Dropped` update saying how many feed rows the
reader missed, so a view that numbers the rows it receives stays in step with the event log.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from collections import deque
from collections.abc import Callable, Sequence

import msgspec

from togul_monitor.domain.event_log import Row
from togul_monitor.domain.events import FlagEvent, Heartbeat, OutageProven, Status, StreamItem
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


class ConfigChanged(msgspec.Struct, frozen=True):
    """What changed in a flag's configuration (switch, default, rules), tied to the event that
    changed it (core/configs.py); `event` None: found by a re-fetch (after an outage)."""

    diff: ConfigDiff
    event: FlagEvent | None
    at: float  # when the monitor computed it


class ConfigsStopped(msgspec.Struct, frozen=True):
    """The flags' configurations are no longer followed (the token was refused, core/configs.py):
    published when they halt, so that a headless reader does not just go quiet about diffs."""

    error: str


class RecordingTaken(msgspec.Struct, frozen=True):
    """The monitor records the profile's journal from now on: the process that recorded it has
    gone (core/takeover.py), and what the journal lacked is appended to it. A headless reader
    said `not recording` at its start: `tail` and `record` now say that it does."""

    at: float


#: What a headless reader says of `RecordingTaken` (`tail` on stderr, `record` in its log).
RECORDING_TAKEN = "recording now: the profile's recorder has gone"


class Dropped(msgspec.Struct, frozen=True):
    """The drain reader fell behind: `updates` were dropped, `rows` of them feed rows, `events`
    of those events (the rest markers)."""

    updates: int
    rows: int
    events: int = 0


MonitorUpdate = (
    StreamItem
    | ValueUpdated
    | TransitionRecorded
    | ConfigChanged
    | ConfigsStopped
    | EvaluatorStatus
    | RecordingTaken
    | Dropped
)

#: Updates that are not rows of the feed (rows are events and the markers the event log keeps).
NOT_ROWS: tuple[type, ...] = (
    Status,
    Heartbeat,
    OutageProven,  # revises a row: the outage's
    ValueUpdated,
    TransitionRecorded,
    ConfigChanged,
    ConfigsStopped,
    EvaluatorStatus,
    RecordingTaken,
    Dropped,
)


class _End:
    """Ends an update stream (after `stop()`, or when the stream task failed)."""


END = _End()


class UpdateStream:
    """The async iterator `Monitor.updates()` returns; subscribed from the moment it is made."""

    def __init__(self, hub: UpdateHub, maxsize: int) -> None:
        self._hub = hub
        self._queue: deque[MonitorUpdate | _End] = deque()
        self._maxsize = maxsize
        self._event = asyncio.Event()
        self.dropped = 0

    def put(self, update: MonitorUpdate | _End) -> None:
        if update is not END and len(self._queue) >= self._maxsize:
            self.dropped += 1
            self._hub.dropped += 1
            return
        self._queue.append(update)
        self._event.set()

    def put_many(self, updates: Sequence[MonitorUpdate]) -> None:
        """`put` for a batch: one extend (what does not fit is dropped and counted)."""
        room = self._maxsize - len(self._queue)
        if room < len(updates):
            lost = len(updates) - max(room, 0)
            self.dropped += lost
            self._hub.dropped += lost
            updates = updates[: max(room, 0)]
        if updates:
            self._queue.extend(updates)
            self._event.set()

    def __aiter__(self) -> UpdateStream:
        return self

    async def __anext__(self) -> MonitorUpdate:
        while not self._queue:
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

    def __init__(self, max_pending: int, on_updates: Callable[[], None] | None = None) -> None:
        self.max_pending = max_pending
        self._on_updates = on_updates  # the drain buffer's wake: empty -> not empty
        self.dropped = 0  # updates a reader did not take in time
        self._subscribers: list[UpdateStream] = []
        self._draining = False
        self._staged: list[MonitorUpdate] = []  # published, not yet committed (loop only)
        # `drain()` runs on another thread: the lock guards what it swaps (_buffer, _lost).
        self._lock = threading.Lock()
        self._buffer: list[MonitorUpdate] = []
        self._lost = Dropped(0, 0)  # dropped since the last drain
        self._lost_at: int | None = None  # where in the buffer the loss is to be said

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
            wake = not self._buffer and not self._lost.updates
            room = self.max_pending - len(self._buffer)
            if room >= len(staged):
                self._buffer.extend(staged)
            else:
                self._overflow(staged, room)
        on_updates = self._on_updates
        if wake and on_updates is not None:
            on_updates()  # outside the lock: it may take another (a loop's, say)

    def _overflow(self, staged: list[MonitorUpdate], room: int) -> None:
        """What fits joins the buffer; the rest is dropped and counted (lock held), but for the
        statuses: a handful at most, and a reader that lost the one saying the stream stopped
        (credentials rejected, the monitor failed) would wait for ever."""
        kept = staged[: max(room, 0)]
        self._buffer.extend(kept)
        lost = staged[len(kept) :]
        if self._lost_at is None:
            self._lost_at = len(self._buffer)  # the loss is said before the statuses kept
        statuses = [update for update in lost if type(update) is Status]
        if statuses:
            self._buffer.extend(statuses)
            lost = [update for update in lost if type(update) is not Status]
        rows = sum(1 for update in lost if not isinstance(update, NOT_ROWS))
        events = sum(1 for update in lost if type(update) is FlagEvent)
        self.dropped += len(lost)
        before = self._lost
        self._lost = Dropped(before.updates + len(lost), before.rows + rows, before.events + events)

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
            waiting = bool(self._buffer) or bool(self._lost.updates)
        if waiting:
            on_updates()

    def drain(self) -> list[MonitorUpdate]:
        """All updates since the last call, oldest first; a `Dropped` where the loss began if
        any were lost (after what was kept, before the statuses kept through it)."""
        with self._lock:
            if not self._draining:
                self._draining = True
                return []
            taken, self._buffer = self._buffer, []
            lost, self._lost = self._lost, Dropped(0, 0)
            lost_at, self._lost_at = self._lost_at, None
        if lost.updates:
            taken.insert(len(taken) if lost_at is None else lost_at, lost)
        return taken
