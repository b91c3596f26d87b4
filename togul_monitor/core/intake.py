"""The intake of a monitor: the stream task, from items to rows, status and backpressure.

One task reads the stream client's batches (one per network read). Events are gathered and
processed in batches: per batch the event log, the journal and the views take them in one call
each (`_flush`), then the monitor's `on_events` hands the batch to the evaluation side. A
status, heartbeat, outage, malformed event or gap is handled in order between batches.

Re-evaluating everything (`on_outage`): after every outage, and after an event the official SDKs
would take as "something changed" without naming one flag (a `Malformed` with `re_evaluate`,
see client/validate.py). Such events may come in a flood: they cost one re-evaluation of every
value at once, then at most one a second, and the last of them is always followed by one
(core/unusable_pace.py). `on_live` is told each time the stream goes live, after its status.
`on_gap` is told of a possible gap (a flag's version jumped: its next change may hold the lost
one). `on_outage(unseen, ask)` is told at once whether the stream may have missed changes (an
outage that could not prove continuity, an unusable event: a change found then is not only its
event's), and whether to ask everything again now (`ask`; else a re-evaluation is already due).
`on_blind(True)` is told when a live stream is lost, `on_blind(False)` when its outage is decided:
meanwhile a change found may hold one the stream missed. `on_proven(later)` is told when an
outage is proved whole: at once (False), or, reported as one that may have missed changes, by
the first event after it (True, `OutageProven`): then it is revised where it is kept (the
outages, the log, the journal) and the views are told; what was asked again stays asked. Not
when `contradicted()` (a change found that no event explains: core/stream_effects.py).

Backpressure: a flight recorder must not lose events to a slow disk. While the journal is far
behind, the task stops reading; the client's bounded queue fills and TCP slows the server down.
The journal's own bound stays as the last resort.

Everything here runs on the monitor's loop and owns its state; the monitor publishes copies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from itertools import repeat
from typing import cast

import msgspec

from togul_monitor.client.outages import ResumePoint
from togul_monitor.config.entry import DEFAULT_HEARTBEAT_SECONDS
from togul_monitor.core.covered import CoveredOutages
from togul_monitor.core.held_events import HeldEvents
from togul_monitor.core.stream_factory import StreamLike
from togul_monitor.core.unusable_pace import UnusablePace
from togul_monitor.core.updates import UpdateHub
from togul_monitor.core.watched import WatchedMark
from togul_monitor.domain.event_log import EventLog, Row
from togul_monitor.domain.events import (
    ConnectionState,
    FlagEvent,
    Heartbeat,
    Malformed,
    Outage,
    OutageProven,
    PossibleGap,
    Status,
    StreamCounters,
    StreamItem,
)
from togul_monitor.domain.rates import RateWindow
from togul_monitor.store.journal import Journal
from togul_monitor.store.recorded import NO_CHANGES, RecordedChanges

log = logging.getLogger("togul_monitor.core.monitor")

MAX_OUTAGES_IN_MEMORY = 1_000
MAX_BATCH = 4096  # events gathered before they are processed without waiting for the loop
JOURNAL_HIGH_WATER = 100_000  # journal backlog that pauses reading the stream...
JOURNAL_LOW_WATER = 20_000  # ...until it is back under this


class Intake:
    def __init__(
        self,
        hub: UpdateHub,
        clock: Callable[[], float],
        *,
        log_size: int,
        on_events: Callable[[list[FlagEvent]], None],
        on_outage: Callable[[bool, bool], None],
        on_proven: Callable[[bool], None],
        on_gap: Callable[[PossibleGap], None],
        on_blind: Callable[[bool], None],
        on_change: Callable[[], None],
        on_live: Callable[[], None] = lambda: None,
        contradicted: Callable[[], bool] = lambda: False,
        heartbeat: float = DEFAULT_HEARTBEAT_SECONDS,
    ) -> None:
        self._hub, self._clock = hub, clock
        self._on_events, self._on_outage, self._on_proven = on_events, on_outage, on_proven
        self._on_gap, self._on_blind, self._contradicted = on_gap, on_blind, contradicted
        self._on_change, self._on_live = on_change, on_live  # on_change: a new snapshot is due
        self.log = EventLog(log_size)
        self.journal: Journal | None = None
        self.recorded = NO_CHANGES  # what the preloaded rows changed: set once, then read only
        self.rates = RateWindow(60)
        self.status = Status(ConnectionState.CONNECTING, clock())
        self.last_heartbeat_at: float | None = None
        self.last_lag: float | None = None
        self.outages: deque[Outage] = deque(maxlen=MAX_OUTAGES_IN_MEMORY)
        self._resumed: ResumePoint | None = None  # see `preload`
        self._lost_at: float | None = None  # a live stream was lost, its outage not yet told
        self._unwatched: float | None = None  # see `unwatched_from`
        self.resumed = False  # the first stream resumed an earlier run's: the gap is an outage
        self.journal_waits = 0  # times reading paused for the journal to catch up
        self.stream: StreamLike | None = None
        self._task: asyncio.Task[None] | None = None
        self._pending: list[FlagEvent] = []
        self._flush_scheduled = False
        self._flush_failure: Exception | None = None
        self._held: HeldEvents | None = None  # journalled, not in the log (core/held_events.py)
        self._stopped = False
        self._unusable = UnusablePace(on_outage)  # re-evaluations for unusable events
        # Until when the live stream was watched, kept in the journal (core/watched.py).
        self.watched = WatchedMark(lambda: self.journal, self.last_alive, heartbeat=heartbeat)
        # An outage another recorder of a shared journal watched through is proved whole.
        rec = self.watched.recorder
        args = (lambda: self.journal, clock, rec, self._revise, self.outages, heartbeat)
        self.covered = CoveredOutages(*args)

    @property
    def counters(self) -> StreamCounters:
        return self.stream.counters if self.stream is not None else StreamCounters()

    def start(self, stream: StreamLike, name: str) -> None:
        self.stream = stream
        self._task = asyncio.get_running_loop().create_task(self._consume(stream), name=name)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        self._stopped = True
        self.watched.end()  # read no more: watched until its last sign of life
        self._unusable.stop()
        await self.covered.aclose()
        try:
            if self._task is not None:
                self._task.cancel()
                # Waited for, not awaited: how the task ended (cancelled, or a failure it said
                # itself) is not the caller's, and a cancellation of the caller (`tail --count`
                # stopping at SIGTERM) still comes through.
                await asyncio.wait((self._task,))
        finally:
            if self.stream is not None:
                try:
                    await self.stream.aclose()
                except Exception:
                    log.warning("closing the stream failed", exc_info=True)

    def preload(
        self,
        rows: Sequence[Row],
        changes: RecordedChanges = NO_CHANGES,
        resumed: ResumePoint | None = None,
    ) -> None:
        """Rows of earlier runs (from the journal: events, and the outages among them): in the
        log, not published as news; with `changes`, what the journal recorded with them (the
        snapshot hands it to the views); `resumed`, where the first stream resumes
        (core/recording.py)."""
        self.log.extend(rows)
        self.recorded = changes
        self._resumed = resumed
        self.resumed = resumed is not None

    def take_resumed(self) -> ResumePoint | None:
        """Where a new stream resumes: the journal's last event until a stream went live; then
        where the last live one was lost, when it ended (STOPPED, or its task failed:
        `_crash_point`) before its outage was told."""
        if self._resumed is None and self._lost_at is not None:
            return ResumePoint(getattr(self.stream, "last_event_id", None), self._lost_at)
        return self._resumed

    def unwatched_from(self, since: float) -> None:
        """Nobody watched from `since`, and this run has not watched yet (its stream never
        live: a journal taken over, core/monitor_journal.py): the first live connection's outage
        starts there. Decided here, not by the client, as the client would: its stream sent no
        Last-Event-ID (nothing resumed it), so the outage may have missed changes."""
        self._unwatched = since

    # --- the stream task -------------------------------------------------------------------

    async def _consume(self, stream: StreamLike) -> None:
        pending, flush, loop = self._pending, self._flush, asyncio.get_running_loop()
        try:
            try:
                async for batch in stream.batches():
                    # Most network reads carry events only (checked in C: no class derives from
                    # FlagEvent): they join the pending batch in one C-level extend; anything
                    # else is handled in order, item by item.
                    if all(map(isinstance, batch, repeat(FlagEvent))):
                        pending.extend(cast("list[FlagEvent]", batch))
                    else:
                        for item in batch:
                            if type(item) is FlagEvent:
                                pending.append(item)
                            else:
                                flush()  # keep the order: the events before it come first
                                self._handle(item)
                    if len(pending) >= MAX_BATCH:
                        flush()
                    elif pending and not self._flush_scheduled:
                        self._flush_scheduled = True
                        loop.call_soon(self._flush_soon)
                        journal = self.journal
                        if journal is not None and journal.pending > JOURNAL_HIGH_WATER:
                            if journal.writing:
                                await self._wait_for_journal(journal)
            finally:
                flush()
        except asyncio.CancelledError:
            failure = self._flush_failure
            if failure is None or self._stopped:
                raise
            self._flush_failure = None  # _flush_soon cancelled this task: its failure is ours
            await self._failed(stream, failure)
        except Exception as exc:  # a bug or an odd failure: say so rather than go quiet
            await self._failed(stream, exc)

    def _flush_soon(self) -> None:
        """`_flush` as a loop callback: an exception there would only reach asyncio's log while
        the stream went on unread; it ends the stream task instead."""
        try:
            self._flush()
        except Exception as exc:
            task = self._task
            if task is None or task.done():
                raise
            self._flush_failure = exc
            task.cancel()

    async def _failed(self, stream: StreamLike, exc: Exception) -> None:
        """The stream task ended on an error: STOPPED with the reason, then the end of every
        update stream (a headless `tail` must exit, not wait forever). The monitor's
        `restart_stream` starts a fresh task, resumed where this one was lost (`_crash_point`)."""
        log.error("the stream task failed", exc_info=exc)
        self.watched.end()
        crashed = self._crash_point()
        if crashed is not None:
            if self._lost_at is None:
                self._on_blind(True)  # until the restart's outage is decided
            self._resumed, self._lost_at = crashed, None
        with contextlib.suppress(Exception):
            await stream.aclose()
        error = f"monitor failed: {type(exc).__name__}: {exc}"
        self.status = Status(ConnectionState.STOPPED, self._clock(), error=error)
        self.last_lag = None  # the restarted stream measures it again
        self._hub.publish(self.status)
        self._on_change()
        self._hub.end_all()

    async def _wait_for_journal(self, journal: Journal) -> None:
        self.journal_waits += 1
        # The writer wakes this thread when a batch is committed (no polling); the timeout
        # only lets a stop be noticed. A writer that has ended releases it for good.
        while not self._stopped:
            if await asyncio.to_thread(journal.wait_pending_below, JOURNAL_LOW_WATER, 0.25):
                return

    def _handle(self, item: StreamItem) -> None:
        if type(item) is FlagEvent:
            self._pending.append(item)
            self._flush()
            return
        if isinstance(item, Status):
            live = item.state is ConnectionState.LIVE
            if self.status.state is ConnectionState.LIVE and not live:
                self.last_lag = None  # measured again on the next connection's live events
                self.watched.end()
                self._on_blind(True)  # until the outage is decided
                self._lost_at = item.at
            # Resumed, or lost before: watched again only once that outage is told.
            outage_due = self._resumed is not None or self._lost_at is not None
            unwatched = self._unwatched if live else None
            if live:  # the journal's resume point is used, the window nobody watched told
                self._resumed = self._unwatched = None
            self.status = item
            if unwatched is not None:  # its outage: right after its LIVE, before what it brings
                self._hub.publish(item)
                self._on_live()
                self._handle(Outage(unwatched, item.at, None, True, item.at))
                return
            if live and not outage_due:
                self.watched.begin()
        elif isinstance(item, Heartbeat):
            self.last_heartbeat_at = item.at
        elif isinstance(item, OutageProven):
            if not self._contradicted():  # (a shared journal's proof, `covered`, is not)
                self._revise(item)
            return
        elif isinstance(item, Outage):
            if not item.may_have_missed and self._contradicted():
                item = msgspec.structs.replace(item, may_have_missed=True)
            self.outages.append(item)
            if self.journal is not None:
                self.journal.append_outage(item)
                self.covered.journalled(item)
        if isinstance(item, (Status, Heartbeat)):
            self._hub.publish(item)
            if item is self.status and item.state is ConnectionState.LIVE:
                self._on_live()
        else:
            self._append_rows([item])
        self._on_change()
        if isinstance(item, Outage):
            self._on_blind(False)
            self._lost_at = None
            if self.status.state is ConnectionState.LIVE:
                self.watched.begin()  # the outage is journalled: watched from here on
            # Whatever the server replayed, re-evaluate so the values converge (at the first
            # connection too: the start's answers may have come long before it went live).
            self._on_outage(item.may_have_missed, True)
            if not item.may_have_missed:
                self._on_proven(False)
        elif isinstance(item, Malformed) and item.re_evaluate:
            self._unusable.unusable()
        elif isinstance(item, PossibleGap):
            self._on_gap(item)

    def _crash_point(self) -> ResumePoint | None:
        """Where a stream whose task failed is resumed: after the last event this intake took
        in (the client read further, but what it held unread died with the task), from the
        stream's last sign of life, or from when it was lost when an outage of it is still
        untold (live again or not: its outage starts there); None when no outage is due (never
        live, or the journal's resume point still waits to be used)."""
        if self._resumed is not None:
            return None
        since = self._lost_at
        if since is None and self.status.state is ConnectionState.LIVE:
            since = self.last_alive()
        if since is None:
            return None
        last = self.log.last_event()
        if last is None:
            return ResumePoint(None, since)
        return ResumePoint(last.event_id or None, since, last.environment_id)

    def last_alive(self) -> float:
        """The live stream's last sign of life: going LIVE, its last heartbeat or row."""
        signs = (self.last_heartbeat_at, self.log.last_received_at())
        return max((self.status.at, *(at for at in signs if at is not None)))

    def _revise(self, proven: OutageProven) -> None:
        """An outage proved whole after it was reported: the same outage, revised wherever it
        is kept (the journal updates its row), then the views are told."""
        reported, outage = proven.reported, proven.outage
        outages = self.outages
        for index in range(len(outages) - 1, -1, -1):
            if outages[index] == reported:
                outages[index] = outage
                break
        self.log.revise(reported, outage)
        if self.journal is not None:
            self.journal.revise_outage(outage)
        self._hub.publish(proven)
        self._on_change()
        self._on_proven(True)

    def _flush(self) -> None:
        """Process the gathered events, in order. The hot path: C-level bulk calls per batch,
        a dict assignment per event."""
        self._flush_scheduled = False
        events = self._pending
        if not events:
            return
        batch = events[:]
        events.clear()
        journal = self.journal
        if journal is not None:
            if self._held is None:
                journal.append_events(batch)
            else:  # a failed task's restart: the replay of what the journal holds is left out
                self._held = self._held.append_unheld(journal, batch)
        try:
            # Events only: the log takes them without looking at each (see `_append_rows`).
            self.log.extend_events(batch)
        except BaseException:
            if journal is not None:  # journalled, not taken in: the restart replays them
                self._held = HeldEvents(journal, batch)
            raise
        self._hub.publish_rows(batch)
        last = batch[-1]
        # One batch is one network read: microseconds apart, so one bucket is exact enough.
        self.rates.add(last.received_at, len(batch))
        # Lag is the live stream's: a replay's age is its outage's. (Timestamps are whole seconds.)
        if last.timestamp + 1 >= self.status.at:
            self.last_lag = last.received_at - last.timestamp
        self._on_events(batch)
        self._on_change()

    def _append_rows(self, rows: Sequence[Row]) -> None:
        """Where rows enter (and `_flush`, for events): the log and the views see them in the
        same order, so a view that numbers the rows it receives numbers them as the log does."""
        self.log.extend(rows)
        self._hub.publish_rows(rows)
