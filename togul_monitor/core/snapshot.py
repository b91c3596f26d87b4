"""`MonitorSnapshot`: the monitor's state as one frozen value, safe to hand to any thread.

The monitor builds a new one on its loop after the loop iterations that changed its state (at
most every COMMIT_EVERY seconds under a burst, and at least once a second, so rates and ages
move) and publishes it by replacing one reference. Readers on other threads take that reference
and never see a half-made state.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

import msgspec

from togul_monitor.core.config_reads import ReadTimes
from togul_monitor.core.updates import ConfigsStopped, EvaluatorStatus, UpdateHub
from togul_monitor.domain.events import Status, StreamCounters
from togul_monitor.domain.flag_config import FlagConfig
from togul_monitor.domain.flag_values import FlagValues
from togul_monitor.domain.values import DEFAULT_CONTEXT, FlagValue
from togul_monitor.store.recorded import NO_CHANGES, RecordedChanges

SNAPSHOT_EVERY = 1.0  # seconds between two snapshots while nothing changes (rates decay)
COMMIT_EVERY = 0.01  # seconds between two snapshots under a burst (the TUI drains at 20 Hz)
VALUES_EVERY = 0.05  # seconds between two copies of the values while they keep changing


class MonitorSnapshot(msgspec.Struct, frozen=True):
    profile_name: str
    environment_key: str
    status: Status
    last_heartbeat_at: float | None
    counters: StreamCounters  # a copy: never the stream client's live object
    trimmed: int  # events dropped from the bounded event log
    dropped_updates: int  # updates dropped because the view did not drain in time
    values: dict[str, FlagValue] = msgspec.field(default_factory=dict)  # the first context's
    # Every context the profile evaluates for, in the profile's order (the first is `values`'),
    # and each one's values (flag key → value): the values pane shows a column per context.
    contexts: tuple[str, ...] = (DEFAULT_CONTEXT,)
    context_values: Mapping[str, dict[str, FlagValue]] = msgspec.field(default_factory=dict)
    evaluator: EvaluatorStatus | None = None
    events_per_second: tuple[int, ...] = ()  # last 60 one-second buckets, oldest first
    last_lag_seconds: float | None = None  # receive time minus the last event's timestamp
    environment_names: dict[str, str] = msgspec.field(default_factory=dict)  # id → key, for `env:`
    environment_id: str | None = None  # the profile's environment, once known
    # False: nothing could check that the stream is `environment_key`'s (a key of scope stream
    # without a token, a probe without an answer; `notices` say why), once the stream is live:
    # before, a rejected key or a host with no answer is said by the stream's own error.
    environment_verified: bool = True
    watched: frozenset[str] = frozenset()
    recording: bool = False  # the journal is open and being written
    journal_notice: str | None = None  # why it is not recording, or what happened to the file
    recorder_busy: bool = False  # not recording because another process records the profile
    resumed: bool = False  # the stream resumed after the journal's last event (an outage says)
    # Until when earlier runs watched the stream: the journal's "watched until" mark when this
    # monitor opened it (core/watched.py; None without one); the snapshot's own time while a
    # reader takes its recorder as live (it watches on), its mark once that recorder turns out
    # to have stopped (`RecorderStopped`; core/monitor_journal.py `watched_until_at`).
    watched_until: float | None = None
    journal_moved_aside: bool = False  # the journal was damaged or unreadable: moved aside
    journal_dropped: int = 0  # journal appends refused because the writer fell behind
    journal_write_error: str | None = None  # the last failed write's error (read after the count)
    journal_pending: int = 0  # appended, not yet committed
    journal_waits: int = 0  # times the stream was paused for the journal to catch up
    evaluate_requests: int = 0  # HTTP evaluate requests sent so far
    max_flags: int = 0  # flags monitored at most (the Monitor's `max_flags`)
    unmonitored_events: int = 0  # events of flags beyond max_flags: shown, not evaluated
    events_in_log: int = 0
    notices: tuple[str, ...] = ()  # other one-line facts for the status area
    feed_start: int = 0  # event-log position of this run's first row (earlier rows: the journal)
    # What the journal recorded with those earlier rows: their value changes and configuration
    # diffs (store/recorded.py). Set once at the start: every snapshot shares the one object.
    recorded: RecordedChanges = NO_CHANGES
    # Flag configurations (core/configs.py): "needs a token profile", "loading", "complete" or
    # "failed: …"; how many of the environment's flags have a snapshot; the requests so far.
    config_state: str = "needs a token profile"
    configs_loaded: int = 0
    configs_total: int = 0
    config_requests: int = 0
    flag_configs: Mapping[str, FlagConfig] = msgspec.field(default_factory=dict)  # key → read-only
    configs_read: ReadTimes = msgspec.field(default_factory=ReadTimes)  # when each was read
    # Set while the token is refused: `flag_configs` are no longer followed (since its `at`).
    configs_stopped: ConfigsStopped | None = None
    # The live stream's last sign of life (going live, a heartbeat, a row); None when not live.
    last_alive_at: float | None = None
    # A live stream was lost: every value is stale, asked again only once it is back and its
    # outage is told (core/intake.py `on_blind`); nothing is asked meanwhile.
    blind: bool = False


def copy_counters(counters: StreamCounters) -> StreamCounters:
    """A copy the stream client cannot change under a reader (called on the monitor's loop)."""
    return StreamCounters(
        events=counters.events,
        malformed=counters.malformed,
        duplicates=counters.duplicates,
        reconnects=counters.reconnects,
        bytes=counters.bytes,
        heartbeats=counters.heartbeats,
        gaps=counters.gaps,
        by_type=dict(counters.by_type),
    )


class Publisher:
    """Publishes a monitor's snapshot, then hands the updates it reflects to the drain.

    `changed()` asks for one commit at the end of the current loop iteration, however many
    changes the iteration made, and no sooner than COMMIT_EVERY after the last one: under a
    burst every network read changes the state, and one snapshot per read would cost more than
    the read. The values are the one part whose copy grows with the number of flags: they are
    copied only when they changed, and at most every VALUES_EVERY seconds unless a caller on the
    loop asks for a fresh snapshot, so a drained `ValueUpdated` may be up to that much newer
    than the snapshot's values.
    """

    def __init__(
        self,
        build: Callable[[dict[str, dict[str, FlagValue]]], MonitorSnapshot],
        values: Mapping[str, FlagValues],
        hub: UpdateHub,
    ) -> None:
        self._build = build
        self._values = dict(values)  # context name → its values
        self._hub = hub
        self.snapshot: MonitorSnapshot | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._commit_due = False
        self._committed_at = 0.0  # loop time of the last commit
        self._tick_timer: asyncio.TimerHandle | None = None
        self._copy: dict[str, dict[str, FlagValue]] = {name: {} for name in self._values}
        self._copy_version: tuple[int, ...] = ()
        self._copied_at = 0.0
        self._values_due = False  # a snapshot with the newest values is scheduled

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.commit()
        self._tick_timer = loop.call_later(SNAPSHOT_EVERY, self._tick)

    def stop(self) -> None:
        """Publish the last snapshot, with the values as they are now; no more ticks."""
        if self._tick_timer is not None:
            self._tick_timer.cancel()
        self._loop = None
        self.commit(fresh=True)

    def changed(self) -> None:
        loop = self._loop
        if self._commit_due or loop is None:
            return
        self._commit_due = True
        wait = self._committed_at + COMMIT_EVERY - loop.time()
        if wait > 0:
            loop.call_later(wait, self.commit)
        else:
            loop.call_soon(self.commit)

    def commit(self, *, fresh: bool = False) -> None:
        self._commit_due = False
        if self._loop is not None:
            self._committed_at = self._loop.time()
        self.snapshot = self._build(self.values(fresh=fresh))
        self._hub.commit()

    def fresh(self) -> MonitorSnapshot:
        """A snapshot of this very moment (for a caller on the monitor's loop)."""
        return self._build(self.values(fresh=True))

    def values(self, *, fresh: bool) -> dict[str, dict[str, FlagValue]]:
        """Each context's values (a new dict only for a context whose values moved)."""
        version = tuple(values.version for values in self._values.values())
        if version == self._copy_version:
            return self._copy
        now = time.monotonic()
        if fresh or now - self._copied_at >= VALUES_EVERY:
            old = self._copy
            self._copy = {
                name: values.copy() if new != was else old[name]
                for (name, values), new, was in zip(
                    self._values.items(),
                    version,
                    self._copy_version or (-1,) * len(version),
                    strict=True,
                )
            }
            self._copy_version = version
            self._copied_at = now
        elif self._loop is not None and not self._values_due:
            self._values_due = True
            self._loop.call_later(VALUES_EVERY, self._values_refresh)
        return self._copy

    def _values_refresh(self) -> None:
        self._values_due = False
        self.changed()

    def _tick(self) -> None:
        """Even with no change, rates decay and ages grow: a new snapshot once a second."""
        if self._loop is not None:
            self.changed()
            self._tick_timer = self._loop.call_later(SNAPSHOT_EVERY, self._tick)
