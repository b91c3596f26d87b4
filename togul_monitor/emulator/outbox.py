"""The outbox: one numbered sequence of change events, a bounded replay ring, and the fan-out
to open streams.

Threading: `publish`, `publish_raw`, `forget` and the fault helpers may be called from any
thread. Everything that touches a `Subscriber` runs on the server's event loop; calls from other
threads are handed over with `call_soon_threadsafe`, which keeps them in publication order.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import msgspec

#: Per-stream backlog bound: a client slower than this is cut and must reconnect (and replay).
DEFAULT_MAX_PENDING = 10_000


class OutboxEvent(msgspec.Struct, frozen=True):
    """One event, encoded once and shared by every stream that is entitled to it."""

    seq: int
    environment_id: str | None  # None: delivered to every stream (the malformed fault)
    frame_with_id: bytes
    frame_bare: bytes


def encode_frames(seq: int, data: str) -> tuple[bytes, bytes]:
    """SSE frames for `data`, with and without an `id:` line; LF only, one `data:` per line."""
    lines = data.split("\n") if data else [""]
    body = "".join(f"data: {line}\n" for line in lines) + "\n"
    return f"id: {seq}\n{body}".encode(), body.encode()


class Subscriber:
    """One open stream's view of the outbox. Loop-thread only."""

    def __init__(
        self,
        environment_id: str | None,
        credential: str | None,
        last_seq: int,
        max_pending: int,
    ) -> None:
        self.environment_id = environment_id  # None: every environment (org token)
        self.credential = credential
        self.last_seq = last_seq  # highest sequence handed to this stream (replay included)
        self.max_pending = max_pending
        self.pending: deque[OutboxEvent] = deque()
        self.wake = asyncio.Event()
        self.closed = asyncio.Event()
        self.close_mode: str | None = None  # "clean" (EOF) or "abrupt" (connection dropped)
        self.cut_remaining: int | None = None  # cut after this many more events
        self.cut_mid_event = False
        self.overflowed = False

    def entitled(self, event: OutboxEvent) -> bool:
        return (
            event.environment_id is None
            or self.environment_id is None
            or event.environment_id == self.environment_id
        )

    def offer(self, event: OutboxEvent) -> None:
        # The sequence check drops events already sent by replay, or published before this
        # stream registered (their fan-out callback can run after the registration).
        if self.close_mode is not None or event.seq <= self.last_seq or not self.entitled(event):
            return
        self.last_seq = event.seq
        if len(self.pending) >= self.max_pending:
            # Bounded memory: drop this client; it reconnects with Last-Event-ID and replays.
            self.overflowed = True
            self.close("clean")
            return
        self.pending.append(event)
        self.wake.set()

    def close(self, mode: str) -> None:
        if self.close_mode is None:
            self.close_mode = mode
            self.pending.clear()
        self.wake.set()
        self.closed.set()


class Outbox:
    """Numbered events, the replay ring and the set of open streams."""

    def __init__(self, replay: int = 1000, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self._lock = threading.Lock()
        self._ring: deque[OutboxEvent] = deque(maxlen=max(replay, 1))
        self._replay_enabled = replay > 0
        self._seq = 0
        self._floor = 0  # every event with seq <= floor is no longer in the ring
        self._subscribers: set[Subscriber] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.max_pending = max_pending
        self.events_published = 0  # change events only (the malformed fault is not counted)
        self.slow_cuts = 0  # streams cut because their client fell max_pending behind
        self.stall_until = 0.0  # time.monotonic() until which streams write nothing
        # Called on the server loop with every fanned-out event (serve's event log).
        self.listeners: list[Callable[[OutboxEvent], None]] = []

    # -- loop wiring ---------------------------------------------------------------------------
    def attach_loop(self, loop: asyncio.AbstractEventLoop | None) -> None:
        with self._lock:
            self._loop = loop

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self._loop

    def call_in_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` on the server loop (dropped when no server is running)."""
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            pass

    def run_in_loop(self, fn: Callable[[], None], timeout: float = 2.0) -> None:
        """Run `fn` on the server loop and wait until it has run, so a fault is in force when
        the call returns. Runs `fn` directly on the loop thread or when no server runs."""
        loop = self._loop
        if loop is None:
            fn()
            return
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            fn()
            return
        done = threading.Event()

        def call() -> None:
            try:
                fn()
            finally:
                done.set()

        try:
            loop.call_soon_threadsafe(call)
        except RuntimeError:  # loop closed meanwhile: no streams left to act on
            return
        done.wait(timeout)

    # -- publishing ----------------------------------------------------------------------------
    @property
    def last_seq(self) -> int:
        return self._seq

    def publish(self, environment_id: str, payload: dict[str, Any]) -> int:
        """Number, record and fan out one change event; return its sequence."""
        # ensure_ascii keeps each event pure ASCII: no U+2028/U+0085 that a line splitter
        # could mistake for a line break, and no encoding questions for any client.
        data = json.dumps(payload, separators=(",", ":"), ensure_ascii=True)
        with self._lock:
            self._seq += 1
            seq = self._seq
            with_id, bare = encode_frames(seq, data)
            event = OutboxEvent(seq, environment_id, with_id, bare)
            if self._replay_enabled:
                if len(self._ring) == self._ring.maxlen:
                    self._floor = self._ring[0].seq
                self._ring.append(event)
            else:
                self._floor = seq
            self.events_published += 1
            # Scheduled under the lock so fan-out callbacks run in sequence order.
            self.call_in_loop(self._fan_out, event)
        return seq

    def publish_raw(self, data: str) -> int:
        """Send `data` verbatim as one event to every stream (a fault); not kept for replay."""
        with self._lock:
            self._seq += 1
            seq = self._seq
            with_id, bare = encode_frames(seq, data)
            self.call_in_loop(self._fan_out, OutboxEvent(seq, None, with_id, bare))
        return seq

    def _fan_out(self, event: OutboxEvent) -> None:
        for subscriber in list(self._subscribers):
            subscriber.offer(event)
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:  # a broken logger must not stop the fan-out
                pass

    # -- replay --------------------------------------------------------------------------------
    def forget(self) -> None:
        """A "restart": empty the ring; sequence numbers continue."""
        with self._lock:
            self._ring.clear()
            self._floor = self._seq

    def recorded(self) -> list[OutboxEvent]:
        """The events in the replay ring, oldest first."""
        with self._lock:
            return list(self._ring)

    def _replay_after(self, last_event_id: str | None) -> list[OutboxEvent]:
        """Events after `last_event_id`, or nothing when that id is unknown or too old."""
        if last_event_id is None:
            return []
        try:
            after = int(last_event_id.strip())
        except ValueError:
            return []
        if after < self._floor or after > self._seq:
            return []  # older than the ring, or from another life of the server
        return [event for event in self._ring if event.seq > after]

    # -- streams (loop thread) -----------------------------------------------------------------
    def subscribe(
        self, environment_id: str | None, credential: str | None, last_event_id: str | None
    ) -> Subscriber:
        with self._lock:
            replay = self._replay_after(last_event_id)
            subscriber = Subscriber(environment_id, credential, self._seq, self.max_pending)
            subscriber.pending.extend(e for e in replay if subscriber.entitled(e))
            self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)
        if subscriber.overflowed:
            self.slow_cuts += 1

    @property
    def open_streams(self) -> int:
        return len(self._subscribers)

    @property
    def backlog(self) -> int:
        """Events fanned out to open streams and not written to them yet (tests)."""
        return sum(len(subscriber.pending) for subscriber in list(self._subscribers))

    # -- faults (any thread) -------------------------------------------------------------------
    def close_streams(
        self, mode: str = "abrupt", predicate: Callable[[Subscriber], bool] | None = None
    ) -> None:
        def close() -> None:
            for subscriber in list(self._subscribers):
                if predicate is None or predicate(subscriber):
                    subscriber.close(mode)

        self.run_in_loop(close)

    def cut_after(self, n: int, mid_event: bool = False) -> None:
        def arm() -> None:
            for subscriber in list(self._subscribers):
                subscriber.cut_remaining = n
                subscriber.cut_mid_event = mid_event
                subscriber.wake.set()

        self.run_in_loop(arm)

    def stall(self, seconds: float) -> None:
        # asyncio's default loop clock is time.monotonic, so this needs no loop hand-over.
        self.stall_until = time.monotonic() + seconds
