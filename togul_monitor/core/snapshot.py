"""`MonitorSnapshot`: the monitor's state as one frozen value, safe to hand to any thread.

The monitor builds a new one on its loop after every loop iteration that changed its state
(and at least once a second, so rates and ages move) and publishes it by replacing one
reference. Readers on other threads take that reference and never see a half-made state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from togul_monitor.core.updates import EvaluatorStatus
from togul_monitor.domain.events import Status, StreamCounters
from togul_monitor.domain.values import FlagValue

SNAPSHOT_EVERY = 1.0  # seconds between two snapshots while nothing changes (rates decay)
VALUES_EVERY = 0.05  # seconds between two copies of the values while they keep changing


@dataclass(frozen=True)
class MonitorSnapshot:
    profile_name: str
    environment_key: str
    status: Status
    last_heartbeat_at: float | None
    counters: StreamCounters  # a copy: never the stream client's live object
    trimmed: int  # events dropped from the bounded event log
    dropped_updates: int  # updates dropped because the view did not drain in time
    values: dict[str, FlagValue] = field(default_factory=dict)
    evaluator: EvaluatorStatus | None = None
    events_per_second: tuple[int, ...] = ()  # last 60 one-second buckets, oldest first
    last_lag_seconds: float | None = None  # receive time minus the last event's timestamp
    environment_names: dict[str, str] = field(default_factory=dict)  # id → key, for `env:`
    environment_id: str | None = None  # the profile's environment, once known
    watched: frozenset[str] = frozenset()
    recording: bool = False  # the journal is open and being written
    journal_notice: str | None = None  # why it is not recording, or what happened to the file
    journal_dropped: int = 0  # journal appends refused because the writer fell behind
    journal_pending: int = 0  # appended, not yet committed
    journal_waits: int = 0  # times the stream was paused for the journal to catch up
    evaluate_requests: int = 0  # HTTP evaluate requests sent so far
    events_in_log: int = 0
    notices: tuple[str, ...] = ()  # other one-line facts for the status area
    feed_start: int = 0  # event-log position of this run's first row (earlier rows: the journal)


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
