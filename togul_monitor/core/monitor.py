"""The monitor core for one profile: stream → model → journal, plus re-evaluation.

The TUI and the headless commands drive this, never the stages below it directly.

- `Monitor` is an asyncio object: `await start()`, `await stop()`. Headless commands run it in
  their own loop and read `updates()` (or use `run_headless`).
- `MonitorThread` runs a Monitor on a dedicated thread with its own event loop, so that no
  parsing, evaluate call or journal write ever runs on the TUI's loop. The TUI polls
  `drain()` on a timer (at most 20 Hz) and paints one batch per call.

Companion modules (every public name stays importable from here): `monitor_thread.py`
(MonitorThread, run_headless), `updates.py` (the fan-out behind `updates()` and `drain()`),
`plan.py` (which credential streams and what is known of the environment, a pure function).

Which flags are evaluated, and how the profile's environment is known:
- With an API key only, the stream is the key's environment (the server scopes it), so every
  event is the profile's environment: all of them are evaluated.
- With a Bearer token, the monitor asks the management API for the environment whose key is the
  profile's `environment_key`, learns its id, and monitors every flag the API lists there. The
  stream still uses the API key when that key may stream (sdk or stream scope); otherwise it is
  the token's organisation-wide stream and only events carrying that id are evaluated. If the
  lookup fails and the profile also has an API key, the monitor streams with the API key:
  guessing an id from events would be unsound, since the same flag key exists in every
  environment.
  With a token and no API key nothing can be evaluated (evaluate takes an API key only).
- Flags monitored: the watch list, every flag seen in an event of the environment, the flags
  the management API lists, and the flags whose last value the journal remembers.

Threading: the Monitor's state lives on its loop; a lock guards what other threads read
(values, transitions, outages, status), and the event log has its own lock, so the query
methods are safe to call from the TUI's thread. Intents (`restart_stream`, `reevaluate_all`,
`set_watched`) must run on the loop: `MonitorThread` forwards them there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Union

from togul_monitor.client.evaluate import EvaluateClient, EvaluateResult, Outcome
from togul_monitor.config.profiles import Profile
from togul_monitor.core.plan import plan_stream
from togul_monitor.core.reevaluate import Reevaluator
from togul_monitor.core.updates import UpdateHub
from togul_monitor.domain.event_log import EventFilter, EventLog
from togul_monitor.domain.events import (
    ConnectionState,
    FlagEvent,
    Heartbeat,
    Outage,
    Status,
    StreamCounters,
    StreamItem,
)
from togul_monitor.domain.history import HistoryEntry, merge_history
from togul_monitor.domain.rates import RateWindow
from togul_monitor.domain.values import FlagValue, FlagValues, ValueTransition
from togul_monitor.store.journal import CLOSE_TIMEOUT as JOURNAL_CLOSE_TIMEOUT
from togul_monitor.store.journal import Journal, JournalError, journal_path

if TYPE_CHECKING:
    from togul_monitor.client.management import EnvironmentInfo

log = logging.getLogger(__name__)

__all__ = [
    "STOP_TIMEOUT",
    "EvaluatorStatus",
    "HistoryEntry",
    "Monitor",
    "MonitorSnapshot",
    "MonitorThread",
    "MonitorUpdate",
    "TransitionRecorded",
    "ValueUpdated",
    "run_headless",
]


@dataclass(frozen=True, slots=True)
class ValueUpdated:
    """A flag's cached value changed state (stale, evaluated, deleted, errored)."""

    value: FlagValue


@dataclass(frozen=True, slots=True)
class TransitionRecorded:
    """A before → after transition, tied to the event that caused it."""

    transition: ValueTransition
    watched: bool  # the flag is on the profile's watch list: the TUI rings the bell


@dataclass(frozen=True, slots=True)
class EvaluatorStatus:
    """The evaluate side's health: reported once per change, never per request."""

    ok: bool
    message: str | None
    credentials_rejected: bool = False


MonitorUpdate = Union[StreamItem, ValueUpdated, TransitionRecorded, EvaluatorStatus]  # noqa: UP007


@dataclass(frozen=True)
class MonitorSnapshot:
    """A consistent copy of the monitor's state, safe to read from any thread."""

    profile_name: str
    environment_key: str
    status: Status
    last_heartbeat_at: float | None
    counters: StreamCounters
    trimmed: int  # events dropped from the bounded event log
    dropped_updates: int  # updates dropped because the view did not drain in time
    values: dict[str, FlagValue] = field(default_factory=dict)
    evaluator: EvaluatorStatus | None = None
    events_per_second: tuple[int, ...] = ()  # last 60 one-second buckets, oldest first
    last_lag_seconds: float | None = None  # receive time minus the last event's timestamp
    # Additions (after the contract): all with defaults.
    environment_names: dict[str, str] = field(default_factory=dict)  # id → key, for `env:`
    environment_id: str | None = None  # the profile's environment, once known
    watched: frozenset[str] = frozenset()
    recording: bool = False  # the journal is open and being written
    journal_notice: str | None = None  # e.g. an unreadable journal was moved aside
    journal_dropped: int = 0  # journal appends refused because the writer fell behind
    journal_pending: int = 0  # appended, not yet committed
    journal_waits: int = 0  # times the stream was paused for the journal to catch up
    evaluate_requests: int = 0  # HTTP evaluate requests sent so far
    events_in_log: int = 0
    notices: tuple[str, ...] = ()  # other one-line facts for the status area


class StreamLike(Protocol):
    counters: StreamCounters

    def items(self) -> AsyncIterator[StreamItem]: ...

    def restart(self) -> None: ...

    async def aclose(self) -> None: ...


# stream_factory(profile, *, api_key, token, clock) -> a StreamClient-like object
StreamFactory = Callable[..., StreamLike]

_MAX_TRANSITIONS_IN_MEMORY = 10_000
_MAX_OUTAGES_IN_MEMORY = 1_000
_LOAD_EVENTS_AT_START = 10_000
_MAX_BATCH = 4096  # events gathered before they are processed without waiting for the loop
_JOURNAL_HIGH_WATER = 100_000  # journal backlog that pauses reading the stream...
_JOURNAL_LOW_WATER = 20_000  # ...until it is back under this


def _default_stream_factory(
    profile: Profile, *, api_key: str | None, token: str | None, clock: Callable[[], float]
) -> StreamLike:
    from togul_monitor.client.stream import StreamClient

    # Three missed heartbeats mean the connection is dead (sse-client.md (d)).
    return StreamClient(
        profile.base_url,
        api_key=api_key,
        token=token,
        read_timeout=max(profile.read_timeout, 1.0),
        clock=clock,
    )


def _copy_counts(counts: dict[str, int]) -> dict[str, int]:
    """A copy of a dict the monitor's loop may grow meanwhile (the stream client counts types
    without the monitor's lock). Copying a str→int dict is one C call under the GIL, so this
    does not race today; the retry keeps it safe should that ever change."""
    for _ in range(3):
        try:
            return dict(counts)
        except RuntimeError:  # "dictionary changed size during iteration"
            continue
    return {}


class Monitor:
    def __init__(
        self,
        profile: Profile,
        *,
        record: bool = True,
        clock: Callable[[], float] = time.time,
        event_log_size: int = 100_000,
        journal_dir: Path | None = None,
        stream_factory: StreamFactory | None = None,
        max_pending: int = 50_000,
        evaluate_concurrency: int = 8,
        evaluate_settle: float = 0.01,
        evaluate_retry_delay: float = 5.0,
        journal_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.profile = profile
        self.record = record
        self._clock = clock
        self._journal_dir = journal_dir
        self._stream_factory = stream_factory or _default_stream_factory
        self._evaluate_concurrency = evaluate_concurrency
        self._evaluate_settle = evaluate_settle
        self._journal_options = dict(journal_options or {})

        self.event_log = EventLog(event_log_size)
        self._values = FlagValues()
        self._value_map = self._values.mapping  # read-only view for the hot path
        self._watched: set[str] = set(profile.watch)
        self._lock = threading.Lock()  # guards what other threads read (see module docstring)
        self._transitions: deque[ValueTransition] = deque(maxlen=_MAX_TRANSITIONS_IN_MEMORY)
        self._by_event: OrderedDict[str, ValueTransition] = OrderedDict()
        self._outages: deque[Outage] = deque(maxlen=_MAX_OUTAGES_IN_MEMORY)
        self._rates = RateWindow(60)
        self._status = Status(ConnectionState.CONNECTING, clock())
        self._last_heartbeat_at: float | None = None
        self._last_lag: float | None = None
        self._evaluator_status: EvaluatorStatus | None = None
        self._notices: list[str] = []

        self._hub = UpdateHub(max_pending)
        self._publish = self._hub.publish  # bound once: called per update on the hot path
        self._publish_many = self._hub.publish_many
        self._pending_events: list[FlagEvent] = []  # gathered by _consume, see _flush_events
        self._flush_scheduled = False
        self._flush_failure: Exception | None = None  # see _flush_soon
        self._journal_waits = 0  # times reading paused for the journal to catch up

        self._journal: Journal | None = None
        self._journal_notice: str | None = None
        self._environment_id: str | None = None
        self._environment_names: dict[str, str] = {}
        self._env_scoped_stream = True
        self._stream_api_key: str | None = None
        self._stream_token: str | None = None
        self._stream: StreamLike | None = None
        self._stream_task: asyncio.Task[None] | None = None
        self._evaluator: EvaluateClient | None = None
        self._reevaluator: Reevaluator | None = None
        self._halted = False  # credentials rejected: no evaluate until reevaluate_all/restart
        self._retry_delay = evaluate_retry_delay
        self._retry_timers: dict[str, asyncio.TimerHandle] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = False
        self._stopped = False

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        if self._started:
            raise RuntimeError("a Monitor starts once")
        self._started = True
        self._loop = asyncio.get_running_loop()
        profile = self.profile
        seeded = await self._open_journal() if self.record else {}

        lookup = None
        if profile.token and profile.environment_key:
            lookup = await self._lookup_environment()
        plan = plan_stream(profile, lookup)
        self._stream_api_key = plan.credentials.api_key
        self._stream_token = plan.credentials.token
        self._env_scoped_stream = plan.credentials.environment_scoped
        for note in plan.notes:
            self._note(note)
        if plan.evaluate:
            assert profile.api_key is not None
            self._evaluator = EvaluateClient(
                profile.base_url,
                api_key=profile.api_key,
                environment_key=profile.environment_key,
                context=profile.context,
            )
            self._reevaluator = Reevaluator(
                self._evaluator.evaluate,
                self._on_result,
                concurrency=self._evaluate_concurrency,
                settle=self._evaluate_settle,
            )

        with self._lock:
            self._environment_id = plan.environment_id
            self._environment_names = dict(plan.environment_names)
            for key, last in seeded.items():
                self._values.seed(key, last.evaluation, last.at, deleted=last.deleted)
            for key in (*profile.watch, *plan.listed):
                self._values.ensure(key)
        if self._journal is not None and self._environment_names:
            self._journal.set_environment_names(self._environment_names)
        self._start_stream()
        self._evaluate_everything()

    async def stop(self) -> None:
        """Cancel the stream, close the HTTP clients, flush and close the journal."""
        if self._stopped:
            return
        self._stopped = True
        # Each step runs whatever the one before did: one failing close must not leave the
        # journal's writer thread running or an update stream waiting forever.
        try:
            if self._stream_task is not None:
                self._stream_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._stream_task
            for timer in self._retry_timers.values():
                timer.cancel()
            self._retry_timers.clear()
            closers = (self._stream, self._reevaluator, self._evaluator)
            for closer in closers:
                if closer is not None:
                    try:
                        await closer.aclose()
                    except Exception:
                        log.warning("closing %s failed", type(closer).__name__, exc_info=True)
        finally:
            try:
                if self._journal is not None:
                    await asyncio.to_thread(self._journal.close, JOURNAL_CLOSE_TIMEOUT)
            finally:
                self._hub.end_all()

    async def _open_journal(self) -> dict:
        path = journal_path(self.profile.name, self._journal_dir)
        try:
            journal = await asyncio.to_thread(
                Journal.open, path, clock=self._clock, **self._journal_options
            )
        except JournalError as exc:
            self._journal_notice = f"not recording: {exc}"
            log.warning("%s", self._journal_notice)
            return {}
        self._journal = journal
        self._journal_notice = journal.notice
        try:
            events = await asyncio.to_thread(
                journal.recent_events, min(self.event_log.capacity, _LOAD_EVENTS_AT_START)
            )
            last_values = await asyncio.to_thread(journal.last_values)
        except JournalError as exc:
            self._note(f"journal history not loaded: {exc}")
            return {}
        self.event_log.extend(events)
        return last_values

    async def _lookup_environment(self) -> EnvironmentInfo | str:
        """The management API's answer for the profile's environment, or why there is none."""
        from togul_monitor.client.management import ManagementError, lookup_environment

        assert self.profile.token is not None
        try:
            return await lookup_environment(
                self.profile.base_url, self.profile.token, self.profile.environment_key
            )
        except ManagementError as exc:
            return str(exc)

    def _note(self, text: str) -> None:
        log.info("%s", text)
        with self._lock:
            self._notices.append(text)

    # --- the stream -------------------------------------------------------------------------

    def _start_stream(self) -> None:
        self._stream = self._stream_factory(
            self.profile,
            api_key=self._stream_api_key,
            token=self._stream_token,
            clock=self._clock,
        )
        self._stream_task = asyncio.get_running_loop().create_task(
            self._consume(self._stream), name=f"monitor-stream-{self.profile.name}"
        )

    async def _consume(self, stream: StreamLike) -> None:
        # Events are gathered and processed in batches (`_flush_events`): the stream client
        # yields the events of one network read back to back, and per batch the log, the
        # journal and the views take them in one call each, and each flag is marked stale and
        # re-evaluated once however many of its events the batch holds.
        pending = self._pending_events
        loop = asyncio.get_running_loop()
        flush = self._flush_events
        flush_soon = self._flush_soon
        try:
            try:
                async for item in stream.items():
                    if type(item) is FlagEvent:
                        pending.append(item)
                        if len(pending) >= _MAX_BATCH:
                            flush()
                        elif not self._flush_scheduled:
                            self._flush_scheduled = True
                            loop.call_soon(flush_soon)
                            journal = self._journal
                            if (
                                journal is not None
                                and journal.pending > _JOURNAL_HIGH_WATER
                                and journal.writing
                            ):
                                await self._wait_for_journal(journal)
                    else:
                        flush()  # keep the order: the events before a status/outage come first
                        self._handle(item)
            finally:
                flush()
        except asyncio.CancelledError:
            failure = self._flush_failure
            if failure is None or self._stopped:
                raise
            self._flush_failure = None  # _flush_soon cancelled this task: its failure is ours
            await self._stream_failed(stream, failure)
        except Exception as exc:  # a bug or an odd failure: say so rather than go quiet
            await self._stream_failed(stream, exc)

    def _flush_soon(self) -> None:
        """`_flush_events` as a loop callback: an exception there would only reach asyncio's
        log while the stream went on unread; it ends the stream task instead."""
        try:
            self._flush_events()
        except Exception as exc:
            task = self._stream_task
            if task is None or task.done():
                raise
            self._flush_failure = exc
            task.cancel()

    async def _stream_failed(self, stream: StreamLike, exc: Exception) -> None:
        """The stream task ended on an error: STOPPED with the reason, then the end of every
        update stream (a headless `tail` must exit, not wait forever). `restart_stream`
        starts a fresh task."""
        log.error("the stream task failed", exc_info=exc)
        with contextlib.suppress(Exception):
            await stream.aclose()
        status = Status(
            ConnectionState.STOPPED,
            self._clock(),
            error=f"monitor failed: {type(exc).__name__}: {exc}",
        )
        with self._lock:
            self._status = status
        self._publish(status)
        self._hub.end_all()

    async def _wait_for_journal(self, journal: Journal) -> None:
        """Backpressure: a flight recorder must not lose events to a slow disk. While the
        journal is far behind, stop reading; the stream client's bounded queue fills and TCP
        slows the server down. The journal's own bound stays as the last resort."""
        self._journal_waits += 1
        # The writer wakes this thread when a batch is committed (no polling); the timeout
        # only lets a stop() be noticed. A writer that has ended releases it for good.
        while not self._stopped:
            if await asyncio.to_thread(journal.wait_pending_below, _JOURNAL_LOW_WATER, 0.25):
                return

    def _handle(self, item: StreamItem) -> None:
        if type(item) is FlagEvent:
            self._pending_events.append(item)
            self._flush_events()
            return
        if isinstance(item, Status):
            with self._lock:
                self._status = item
        elif isinstance(item, Heartbeat):
            self._last_heartbeat_at = item.at
        elif isinstance(item, Outage):
            with self._lock:
                self._outages.append(item)
            if self._journal is not None:
                self._journal.append_outage(item)
            self._publish(item)
            # Whatever the server replayed, re-evaluate so the values converge (design.md §5).
            self._evaluate_everything()
            return
        self._publish(item)

    def _flush_events(self) -> None:
        """Process the gathered events, in order. The hot path: C-level bulk calls per batch,
        a dict assignment per event."""
        self._flush_scheduled = False
        events = self._pending_events
        if not events:
            return
        batch = events[:]
        events.clear()
        self.event_log.extend(batch)
        journal = self._journal
        if journal is not None:
            journal.append_events(batch)
        last = batch[-1]
        # One batch is one network read: microseconds apart, so one bucket is exact enough.
        self._rates.add(last.received_at, len(batch))
        self._last_lag = last.received_at - last.timestamp
        self._publish_many(batch)

        if self._env_scoped_stream:
            if self._environment_id is None:
                self._learn_environment(last.environment_id)
            relevant: list[FlagEvent] = batch
        else:
            env_id = self._environment_id
            if env_id is None:
                return  # an org-wide stream whose environment is unknown: shown, not evaluated
            relevant = [e for e in batch if e.environment_id == env_id]
        latest: dict[str, str | None] = {}  # flag → the id of its last event in the batch
        for event in relevant:
            if event.type == "flag.deleted":
                latest.pop(event.flag_key, None)
                if self._reevaluator is not None:
                    self._reevaluator.cancel(event.flag_key)
                self._apply_deleted(event.flag_key, event.event_id)
            else:
                latest[event.flag_key] = event.event_id
        if not latest:
            return
        value_map = self._value_map
        reevaluator = None if self._halted else self._reevaluator
        for key, event_id in latest.items():
            current = value_map.get(key)
            if current is None or not current.stale:
                with self._lock:
                    changed = self._values.mark_stale(key)
                if changed is not None:
                    self._publish(ValueUpdated(changed))
            if reevaluator is not None:
                reevaluator.request(key, event_id)

    def _learn_environment(self, environment_id: str) -> None:
        """An API-key stream is the key's environment: its id names the profile's one."""
        self._environment_id = environment_id
        with self._lock:
            learnt = environment_id not in self._environment_names
            self._environment_names.setdefault(environment_id, self.profile.environment_key)
        if learnt and self._journal is not None:
            self._journal.set_environment_names({environment_id: self.profile.environment_key})

    # --- evaluation -------------------------------------------------------------------------

    def _evaluate_everything(self) -> None:
        if self._reevaluator is None or self._halted:
            return
        with self._lock:
            keys = self._values.keys()
        # Deleted flags too: a flag may have come back while the stream was down (its
        # flag.created lost); a 404 keeps it deleted without a new transition.
        for key in keys:
            self._reevaluator.request(key, None)

    def _on_result(
        self, flag_key: str, event_id: str | None, result: EvaluateResult, superseded: bool
    ) -> None:
        if self._stopped:
            return
        if result.outcome is Outcome.REJECTED:
            self._reject(result)
            return
        old = self._values.get(flag_key)
        if superseded:
            # A newer change is being evaluated: this answer may predate it, so it is not
            # news. Except the very first answer: it is the "before" of that change, and
            # without it the change would look like a first value and record no transition.
            if result.outcome is not Outcome.OK or (old is not None and old.current is not None):
                return
            if old is not None and old.deleted:
                return
        now = self._clock()
        if result.outcome is Outcome.OK:
            assert result.evaluation is not None
            with self._lock:
                value, transition = self._values.record(
                    flag_key, result.evaluation, event_id=event_id, at=now, still_stale=superseded
                )
            self._publish(ValueUpdated(value))
            if transition is not None:
                self._record_transition(transition)
            if self._journal is not None and (
                transition is not None or old is None or old.current is None
            ):
                self._journal.set_last_value(flag_key, result.evaluation, now)
            self._set_evaluator(EvaluatorStatus(True, None))
        elif result.outcome is Outcome.NOT_FOUND:
            self._apply_deleted(flag_key, event_id)
            self._set_evaluator(EvaluatorStatus(True, None))
        else:
            with self._lock:
                value = self._values.mark_error(flag_key, result.message or "evaluate failed")
            self._publish(ValueUpdated(value))
            self._set_evaluator(EvaluatorStatus(False, f"evaluate failed: {result.message}"))
            self._retry_later(flag_key, event_id)

    def _retry_later(self, flag_key: str, event_id: str | None) -> None:
        """A failed evaluation (network, 5xx after the retry) is tried again later, once per
        flag at a time, so the value converges without waiting for the flag's next event."""
        if flag_key in self._retry_timers or self._retry_delay <= 0:
            return

        def fire() -> None:
            self._retry_timers.pop(flag_key, None)
            value = self._values.get(flag_key)
            if self._stopped or self._halted or self._reevaluator is None:
                return
            if value is not None and value.error is not None:
                self._reevaluator.request(flag_key, event_id)

        loop = asyncio.get_running_loop()
        self._retry_timers[flag_key] = loop.call_later(self._retry_delay, fire)

    def _apply_deleted(self, flag_key: str, event_id: str | None) -> None:
        now = self._clock()
        with self._lock:
            old = self._values.get(flag_key)
            value, transition = self._values.mark_deleted(flag_key, event_id=event_id, at=now)
        self._publish(ValueUpdated(value))
        if transition is not None:
            self._record_transition(transition)
        if self._journal is not None and (old is None or not old.deleted):
            self._journal.set_last_value(flag_key, value.previous, now, deleted=True)

    def _record_transition(self, transition: ValueTransition) -> None:
        with self._lock:
            self._transitions.append(transition)
            if transition.event_id is not None:
                self._by_event[transition.event_id] = transition
                if len(self._by_event) > _MAX_TRANSITIONS_IN_MEMORY:
                    self._by_event.popitem(last=False)
        if self._journal is not None:
            self._journal.append_transition(transition)
        self._publish(TransitionRecorded(transition, transition.flag_key in self._watched))

    def _reject(self, result: EvaluateResult) -> None:
        """401/403: stop asking (no request storm) and say so once."""
        self._halted = True
        if self._reevaluator is not None:
            self._reevaluator.clear()
        message = f"evaluate refused the credentials ({result.message})"
        with self._lock:
            updated = [
                self._values.mark_error(v.flag_key, message)
                for v in self._values.copy().values()
                if (v.stale or v.current is None) and not v.deleted and v.error != message
            ]
        for value in updated:
            self._publish(ValueUpdated(value))
        self._set_evaluator(EvaluatorStatus(False, message, credentials_rejected=True))

    def _set_evaluator(self, status: EvaluatorStatus) -> None:
        current = self._evaluator_status
        if current is None and status.ok:
            with self._lock:
                self._evaluator_status = status
            return  # the first success is not news
        if (
            current is not None
            and current.ok == status.ok
            and current.credentials_rejected == status.credentials_rejected
        ):
            return
        with self._lock:
            self._evaluator_status = status
        self._publish(status)

    # --- publishing (updates.py does the fan-out) ---------------------------------------------

    def updates(self) -> AsyncIterator[MonitorUpdate]:
        """Every update from now on, until `stop()`; subscribed as soon as this is called.

        Bounded like everything else: if the reader falls `max_pending` behind, updates are
        dropped and counted in `snapshot().dropped_updates` (events stay in the log).
        """
        return self._hub.subscribe(ended=self._stopped)

    def enable_drain(self) -> None:
        """Collect updates for `drain()` (MonitorThread does this)."""
        self._hub.enable_drain()

    def drain(self) -> list[MonitorUpdate]:
        """All updates since the last call, oldest first. Thread-safe."""
        return self._hub.drain()

    # --- queries (thread-safe) --------------------------------------------------------------

    def snapshot(self) -> MonitorSnapshot:
        counters = self._stream.counters if self._stream is not None else StreamCounters()
        counters_copy = StreamCounters(
            events=counters.events,
            malformed=counters.malformed,
            duplicates=counters.duplicates,
            reconnects=counters.reconnects,
            bytes=counters.bytes,
            heartbeats=counters.heartbeats,
            gaps=counters.gaps,
            by_type=_copy_counts(counters.by_type),
        )
        journal = self._journal
        writer_ended = journal is not None and not journal.writing and not self._stopped
        with self._lock:
            return MonitorSnapshot(
                profile_name=self.profile.name,
                environment_key=self.profile.environment_key,
                status=self._status,
                last_heartbeat_at=self._last_heartbeat_at,
                counters=counters_copy,
                trimmed=self.event_log.trimmed,
                dropped_updates=self._hub.dropped,
                values=self._values.copy(),
                evaluator=self._evaluator_status,
                events_per_second=self._rates.buckets(self._clock()),
                last_lag_seconds=self._last_lag,
                environment_names=dict(self._environment_names),
                environment_id=self._environment_id,
                watched=frozenset(self._watched),
                recording=journal is not None and not self._stopped and journal.writing,
                journal_notice=(
                    f"not recording: {journal.write_error or 'the journal writer stopped'}"
                    if writer_ended and journal is not None
                    else self._journal_notice
                ),
                journal_dropped=journal.dropped if journal is not None else 0,
                journal_pending=journal.pending if journal is not None else 0,
                journal_waits=self._journal_waits,
                evaluate_requests=(
                    self._evaluator.counters.requests if self._evaluator is not None else 0
                ),
                events_in_log=len(self.event_log),
                notices=tuple(self._notices),
            )

    def values(self) -> dict[str, FlagValue]:
        with self._lock:
            return self._values.copy()

    def environment_names(self) -> dict[str, str]:
        with self._lock:
            return dict(self._environment_names)

    def events(self, flt: EventFilter | None = None, limit: int | None = None) -> list[FlagEvent]:
        """From the bounded event log, oldest first."""
        return self.event_log.events(flt, limit, self.environment_names())

    def history(self, flag_key: str, limit: int = 500) -> list[HistoryEntry]:
        """Events, value transitions and outages of one flag, newest first.

        From the journal when recording (so it reaches back past restarts), merged with what
        is in memory (which also covers a journal that fell behind or failed).
        """
        with self._lock:
            transitions = [t for t in self._transitions if t.flag_key == flag_key]
            outages = list(self._outages)
        events = self.event_log.for_flag(flag_key, limit)
        if events or transitions:
            oldest = min([e.received_at for e in events] + [t.at for t in transitions])
            outages = [o for o in outages if o.received_at >= oldest]
        else:
            outages = []
        stored: list[HistoryEntry] = []
        journal = self._journal
        if journal is not None:
            journal.flush(timeout=2.0)
            try:
                stored = journal.history(flag_key, limit)
            except JournalError as exc:
                log.warning("journal history unavailable: %s", exc)
        return merge_history(stored, transitions, events, outages, limit=limit)

    def transition_for(self, event_id: str) -> ValueTransition | None:
        with self._lock:
            found = self._by_event.get(event_id)
        if found is not None or self._journal is None:
            return found
        self._journal.flush(timeout=2.0)
        try:
            return self._journal.transition_for(event_id)
        except JournalError:
            return None

    # --- intents (call on the monitor's loop) -----------------------------------------------

    def restart_stream(self) -> None:
        """Reconnect now; also lifts a credentials halt (the user may have fixed the key)."""
        if self._stopped:
            return
        self._halted = False
        task = self._stream_task
        if task is None or task.done():
            self._start_stream()  # the old stream ended (STOPPED): a fresh client
        elif self._stream is not None:
            self._stream.restart()

    def reevaluate_all(self) -> None:
        if self._stopped:
            return
        self._halted = False
        self._evaluate_everything()

    def set_watched(self, flag_key: str, watched: bool) -> None:
        if watched:
            with self._lock:  # snapshot() copies the set from another thread
                self._watched.add(flag_key)
                new = self._values.ensure(flag_key)
            if new is not None:
                self._publish(ValueUpdated(new))
                if self._reevaluator is not None and not self._halted:
                    self._reevaluator.request(flag_key, None)
        else:
            with self._lock:
                self._watched.discard(flag_key)

    # --- for tests and benchmarks -----------------------------------------------------------

    @property
    def journal(self) -> Journal | None:
        return self._journal

    @property
    def evaluator(self) -> EvaluateClient | None:
        return self._evaluator

    def evaluations_idle(self) -> bool:
        return self._reevaluator is None or self._reevaluator.idle()


# The thread runner and the headless context live in their own module; importers keep using
# `togul_monitor.core.monitor` for every name (imported last: that module imports this one).
from togul_monitor.core.runner import (  # noqa: E402
    STOP_TIMEOUT,
    MonitorThread,
    run_headless,
)
