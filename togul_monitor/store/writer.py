"""The journal's writer thread: the event loop appends, this thread commits in batches.

One writer for both backends: the queues, the bounds, the marks and the flushes are here; what
a batch becomes in the database is the backend's `Sink` (`store/sqlite/sink.py`,
`store/postgres/sink.py`), which writes it in one transaction.

Two queues, both appended without a lock (deque.append is atomic): events, the hot path (a
batch per network read on the monitor's loop, queued whole), and every other write as a
`WriteOp`. Order between the two does not matter: they go to different tables. Both are bounded
by `max_queue` (events counted one by one); an append beyond it is refused and counted in
`dropped`, so the event loop never waits on the disk.

Retention (`store/model.py`, applied by each backend) runs in the writer's transaction every
`RETENTION_EVERY` appended events (the sink counts them), besides once when the journal opens.

Each queue counts what went in and what came out (committed, or lost to a failed write): a
`Mark` taken after an append is `written` once both counts have passed it. The writer takes a
prefix of each queue per batch, so the counts are exact per queue. `tail` uses this to print
nothing the journal does not hold yet (cli/tail_record.py).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from itertools import chain
from typing import NamedTuple, Protocol

import msgspec

from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.merged import MergedAnswer
from togul_monitor.domain.values import ValueTransition
from togul_monitor.store.model import LastConfig, LastValue, StoredDiff, Watcher

log = logging.getLogger(__name__)

RETENTION_EVERY = 50_000


# --- what the second queue holds ------------------------------------------------------------


class AppendTransition(msgspec.Struct, frozen=True):
    transition: ValueTransition


class AppendConfigDiff(msgspec.Struct, frozen=True):
    stored: StoredDiff


class AppendAnswer(msgspec.Struct, frozen=True):
    """An evaluation answer that may have answered several events (domain/merged.py)."""

    answer: MergedAnswer


class AppendOutage(msgspec.Struct, frozen=True):
    outage: Outage


class ReviseOutage(msgspec.Struct, frozen=True):
    """An outage appended before, proved whole since (domain/events.py `OutageProven`): its
    row is updated, found by its window and `received_at`."""

    outage: Outage


class SetLastValue(msgspec.Struct, frozen=True):
    value: LastValue


class SetLastConfig(msgspec.Struct, frozen=True):
    value: LastConfig


class SetEnvironmentNames(msgspec.Struct, frozen=True):
    names: tuple[tuple[str, str], ...]  # (environment id, environment key)


class SetWatchedUntil(msgspec.Struct, frozen=True):
    """Until when the recorder watched its live stream (docs/journal.md, "Watched until"),
    and, for a shared journal, who watched since when without a break (`by`)."""

    at: float
    by: Watcher | None = None


class FlushMark(msgspec.Struct, frozen=True):
    """Set once everything queued before it is committed (or the writer has ended)."""

    done: threading.Event


WriteOp = (
    AppendTransition
    | AppendConfigDiff
    | AppendAnswer
    | AppendOutage
    | ReviseOutage
    | SetLastValue
    | SetLastConfig
    | SetEnvironmentNames
    | SetWatchedUntil
    | FlushMark
)


class Sink(Protocol):
    """Where a writer's batches go: one backend's connection, used by the writer thread only."""

    def write(self, events: list[FlagEvent], ops: list[WriteOp]) -> None:
        """Write the batch in one transaction and commit it (raise: nothing of it is kept)."""

    def rollback(self) -> None:
        """After a failed `write`: leave the connection usable for the next batch."""

    def close(self) -> None: ...


class Mark(NamedTuple):
    """How many events and other writes had been appended at some moment."""

    events: int
    ops: int


# --- the writer -------------------------------------------------------------------------------


class Writer:
    """The two queues and the thread that drains them into one connection.

    Appends work before `start` (they wait in the queues); `stop` commits what is queued.
    """

    def __init__(self, *, max_queue: int, batch_pause: float) -> None:
        self.max_queue = max_queue
        self.batch_pause = batch_pause
        self.dropped = 0  # appends refused (queue full) or lost to a failed write
        self.write_error: str | None = None
        self._events: deque[tuple[FlagEvent, ...]] = deque()  # batches, as appended
        self._ops: deque[WriteOp] = deque()
        self._wake = threading.Event()
        self._sleeping = False
        self._closing = False
        self._done = False  # the thread has ended (stopped, or died)
        # Notified after every batch and when the thread ends: for `wait_pending_below`.
        self._progress = threading.Condition()
        self._thread: threading.Thread | None = None
        self._sink: Sink | None = None
        # Decides who closes the connection when `stop` gives up waiting: see `_run`.
        self._handoff = threading.Lock()
        self._ended = False
        self._abandoned = False
        self._on_late_close: Callable[[], None] | None = None
        # Appended (accepted) and written (committed or lost) per queue: see `Mark`.
        self._events_in = 0
        self._ops_in = 0
        self._events_out = 0
        self._events_taken = 0  # taken off the queue by the writer (written only there)
        self._ops_out = 0
        # Called on the writer thread after every batch and when it ends.
        self._listeners: list[Callable[[], None]] = []

    # --- appending (any thread; never blocks on the disk) ----------------------------------

    def append_event(self, event: FlagEvent) -> None:
        self.append_events((event,))

    def append_events(self, batch: Sequence[FlagEvent]) -> None:
        """Many events at once: the hot path (once per network read), no lock. The batch is
        queued whole (a tuple, copied in C; deque.append is atomic), so the writer takes a
        whole read's events per popleft, not one event at a time."""
        if self._closing:
            return
        room = self.max_queue - (self._events_in - self._events_taken)
        if room < len(batch):
            self.dropped += len(batch) - max(room, 0)
            if room <= 0:
                return
            batch = batch[:room]
        self._events.append(tuple(batch))
        self._events_in += len(batch)
        if self._sleeping:
            self._wake.set()

    def put(self, op: WriteOp) -> None:
        if self._closing:
            return
        if len(self._ops) >= self.max_queue:
            self.dropped += 1
            return
        self._ops.append(op)
        self._ops_in += 1
        self._wake.set()

    @property
    def appended(self) -> Mark:
        """What has been appended so far (read it on the thread that appends)."""
        return Mark(self._events_in, self._ops_in)

    def written(self, mark: Mark) -> bool:
        """Everything appended up to `mark` is committed (or lost, and counted in `dropped`),
        or the thread has ended (then waiting longer would change nothing)."""
        return (self._events_out >= mark.events and self._ops_out >= mark.ops) or self._done

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call `listener` (on the writer thread: it must be quick) after every batch."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    @property
    def pending(self) -> int:
        # Taken off the queue counts as no longer pending (the writer is committing it), as
        # `len(queue)` did when the queue held single events.
        return self._events_in - self._events_taken + len(self._ops)

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._done

    def flush(self, timeout: float | None) -> bool:
        """Wait until everything appended so far is committed; False on timeout."""
        thread = self._thread
        if thread is None or not thread.is_alive() or self._done:
            return not self.pending
        done = threading.Event()
        self._ops.append(FlushMark(done))  # past the bound: a flush is never refused
        self._wake.set()
        if self._done:  # it ended just now: nobody will answer the mark
            return not self.pending
        return done.wait(timeout)

    def wait_pending_below(self, limit: int, timeout: float) -> bool:
        """Block until at most `limit` items are pending, or the thread has ended (then
        nothing will drain: waiting longer would stall the caller for good). False on timeout."""
        with self._progress:
            return self._progress.wait_for(lambda: self.pending <= limit or self._done, timeout)

    # --- starting and stopping -------------------------------------------------------------

    def start(self, sink: Sink, *, name: str, on_late_close: Callable[[], None]) -> None:
        """Write into `sink` (now the writer's) on a daemon thread named `name`.
        `on_late_close` runs on that thread if `stop` gave up waiting for it, once it has
        closed the connection."""
        self._sink = sink
        self._on_late_close = on_late_close
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> bool:
        """Commit what is queued, end the thread, close the connection. False if the thread
        is still committing after `timeout`: it closes the connection itself when it ends
        (closing it under its feet would lose the batch)."""
        self._closing = True
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            self._thread = None
        with self._handoff:
            if self._abandoned:  # stopped before: the thread closes (or closed) the connection
                return self._ended
            if thread is not None and not self._ended:
                self._abandoned = True
                return False
        self._close_connection()
        return True

    def _close_connection(self) -> None:
        if self._sink is not None:
            try:
                self._sink.close()
            except Exception:  # noqa: BLE001 - closing must not fail the caller
                log.warning("journal: closing the database failed", exc_info=True)
            self._sink = None

    # --- the thread ------------------------------------------------------------------------

    def _notify_progress(self) -> None:
        with self._progress:
            self._progress.notify_all()
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:  # noqa: BLE001 - a listener must not stop the journal
                log.exception("journal progress listener failed")

    def _run(self) -> None:
        try:
            self._write_loop()
        except BaseException as exc:  # noqa: BLE001 - reported: the journal stops recording
            self.write_error = f"journal writer stopped: {exc!r}"
            log.error("%s", self.write_error)
        finally:
            self._done = True
            with self._handoff:
                self._ended = True
                abandoned = self._abandoned
            if abandoned:
                # stop() gave up waiting for this thread: the connection is ours to close.
                self._close_connection()
                if self._on_late_close is not None:
                    self._on_late_close()
            # Nobody will answer a flush mark now: release their waiters.
            for op in list(self._ops):
                if isinstance(op, FlushMark):
                    op.done.set()
            self._notify_progress()

    def _write_loop(self) -> None:
        sink = self._sink
        assert sink is not None
        events, ops = self._events, self._ops
        while True:
            if not events and not ops:
                if self._closing:
                    return
                self._sleeping = True
                if not events and not ops:  # re-check: an append may have just missed the flag
                    self._wake.wait(0.5)  # the timeout is only a backstop
                self._sleeping = False
                self._wake.clear()
                continue
            # Take what is there now; appends may continue meanwhile (popleft is atomic).
            # Ops first: a flush mark must not be answered before the events that were
            # appended before it, which are already in `events` by then.
            taken_ops = [ops.popleft() for _ in range(len(ops))]
            batches = [events.popleft() for _ in range(len(events))]
            taken_events = list(chain.from_iterable(batches))
            self._events_taken += len(taken_events)
            marks = [op for op in taken_ops if isinstance(op, FlushMark)]
            try:
                sink.write(taken_events, taken_ops)
            except Exception as exc:
                # Keep running: a full disk may clear, and one value the database refuses (an
                # integer over 64 bits, a lone surrogate) must not end recording for good.
                # What failed is counted as dropped.
                self.write_error = str(exc) or type(exc).__name__
                log.warning("journal write failed: %r", exc)
                with contextlib.suppress(Exception):
                    sink.rollback()
                self.dropped += len(taken_events) + len(taken_ops) - len(marks)
            self._events_out += len(taken_events)
            self._ops_out += len(taken_ops) - len(marks)
            for mark in marks:
                mark.done.set()
            self._notify_progress()
            if self.batch_pause > 0 and not self._closing and not marks:
                # Let the queue fill for a moment: a few large transactions cost the event
                # loop less (fewer GIL hand-overs) than many small ones under a firehose.
                self._wake.clear()
                self._wake.wait(self.batch_pause)
