"""Prometheus metrics of `togul-monitor record`: a collector that reads each monitor at scrape
time, and the HTTP server that serves them (docs/recorder.md lists every metric).

Most numbers are in the monitor's frozen snapshot (core/snapshot.py), which any thread may read:
the collector takes each monitor's latest one when Prometheus scrapes, so nothing is computed
between scrapes. What a snapshot does not carry (events by type *and* environment, outages,
evaluate errors, value transitions) is counted from the monitor's update stream on its loop
into `ProfileCounts`, which the scrape copies under its lock.

Every label value that comes from the server (flag keys, environment ids, event types) is
bounded: event types outside the protocol's six count as `other`, environments past
`MAX_ENVIRONMENTS` as `other`, and `togul_flag_value` has at most the profile's `max_flags`
flags, so a server that invents keys cannot grow the scrape without limit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import msgspec
from prometheus_client import start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from togul_monitor.core.snapshot import MonitorSnapshot
from togul_monitor.domain.events import ConnectionState
from togul_monitor.domain.values import FlagValue
from togul_monitor.protocol import EVENT_TYPES
from togul_monitor.support.text import safe_text

#: Distinct environments counted by name per profile; the rest under `other`. A key's stream
#: has one; an organisation's token stream has as many as the organisation.
MAX_ENVIRONMENTS = 100
OTHER = "other"
STATES = tuple(state.value for state in ConnectionState)


class ProfileCounts:
    """What the update stream counts for one profile (the monitor's loop writes, a scrape
    reads: a lock guards both, held for a dict update or a copy)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[tuple[str, str], int] = {}  # (type, environment id) → count
        self._environments: set[str] = set()
        self._outages = 0
        self._evaluate_errors: dict[str, int] = {}  # context → count
        self._transitions: dict[str, int] = {}  # context → count

    def event(self, event_type: str, environment_id: str) -> None:
        kind = event_type if event_type in EVENT_TYPES else OTHER
        with self._lock:
            if environment_id not in self._environments:
                if len(self._environments) >= MAX_ENVIRONMENTS:
                    environment_id = OTHER
                else:
                    self._environments.add(environment_id)
            key = (kind, environment_id)
            self._events[key] = self._events.get(key, 0) + 1

    def outage(self) -> None:
        with self._lock:
            self._outages += 1

    def evaluate_error(self, context: str) -> None:
        with self._lock:
            self._evaluate_errors[context] = self._evaluate_errors.get(context, 0) + 1

    def transition(self, context: str) -> None:
        with self._lock:
            self._transitions[context] = self._transitions.get(context, 0) + 1

    def copy(self) -> CountsCopy:
        with self._lock:
            return CountsCopy(
                dict(self._events),
                self._outages,
                dict(self._evaluate_errors),
                dict(self._transitions),
            )


class CountsCopy(msgspec.Struct, frozen=True):
    events: dict[tuple[str, str], int]
    outages: int
    evaluate_errors: dict[str, int]
    transitions: dict[str, int]


class MetricSource(msgspec.Struct):
    """One recorded profile as the collector sees it."""

    profile: str
    snapshot: Callable[[], MonitorSnapshot]  # safe from the scrape thread once started
    counts: ProfileCounts = msgspec.field(default_factory=ProfileCounts)


def flag_number(value: FlagValue) -> float | None:
    """What `togul_flag_value` shows for `value`: 1/0 for a boolean, the number for a number,
    None for anything else (a string, JSON, no value yet, a deleted flag)."""
    current = value.current
    if current is None or value.deleted:
        return None
    raw: Any = current.value
    if isinstance(raw, bool):  # before int: a bool is an int to Python
        return 1.0 if raw else 0.0
    if isinstance(raw, (int, float)) and current.value_type in (None, "number"):
        return float(raw)
    return None


def _environment_label(snapshot: MonitorSnapshot, environment_id: str) -> str:
    if environment_id == OTHER:
        return OTHER
    if environment_id == snapshot.environment_id and snapshot.environment_key:
        return safe_text(snapshot.environment_key)
    return safe_text(snapshot.environment_names.get(environment_id, environment_id))


class RecorderCollector(Collector):
    """Reads every registered profile at scrape time (on the HTTP server's thread)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._sources: list[MetricSource] = []

    def add(self, source: MetricSource) -> None:
        """Register a profile once its monitor has started (before, its snapshot is not safe
        to take from another thread)."""
        with self._lock:
            self._sources.append(source)

    def sources(self) -> list[MetricSource]:
        with self._lock:
            return list(self._sources)

    def collect(self) -> Iterable[Metric]:
        families = _Families()
        now = self._clock()
        for source in self.sources():
            _collect_one(families, source, source.snapshot(), source.counts.copy(), now)
        return families.all()


class _Families:
    def __init__(self) -> None:
        p = ["profile"]
        self.events = CounterMetricFamily(
            "togul_events",
            "Flag events received, by type and environment.",
            labels=[*p, "type", "environment"],
        )
        self.state = GaugeMetricFamily(
            "togul_stream_state",
            "1 for the stream's current state, 0 for the others.",
            labels=[*p, "state"],
        )
        self.heartbeat_age = GaugeMetricFamily(
            "togul_heartbeat_age_seconds", "Seconds since the stream's last heartbeat.", labels=p
        )
        self.lag = GaugeMetricFamily(
            "togul_lag_seconds",
            "Receive time minus the server's timestamp, of the last event.",
            labels=p,
        )
        self.reconnects = CounterMetricFamily("togul_reconnects", "Stream reconnections.", labels=p)
        self.outages = CounterMetricFamily(
            "togul_outages", "Stream outages that ended (live again).", labels=p
        )
        self.malformed = CounterMetricFamily(
            "togul_malformed_events", "Stream events that were not valid events.", labels=p
        )
        self.duplicates = CounterMetricFamily(
            "togul_duplicate_events", "Events received again (same id), not applied.", labels=p
        )
        self.gaps = CounterMetricFamily(
            "togul_possible_gaps", "A flag's version jumped: events may be missing.", labels=p
        )
        self.evaluate_requests = CounterMetricFamily(
            "togul_evaluate_requests", "Evaluate requests sent (retries included).", labels=p
        )
        self.evaluate_errors = CounterMetricFamily(
            "togul_evaluate_errors",
            "Evaluations that failed, by context.",
            labels=[*p, "context"],
        )
        self.transitions = CounterMetricFamily(
            "togul_value_transitions",
            "Value changes (before → after), by context.",
            labels=[*p, "context"],
        )
        self.recording = GaugeMetricFamily(
            "togul_journal_recording", "1 while the journal is open and written.", labels=p
        )
        self.pending = GaugeMetricFamily(
            "togul_journal_pending", "Journal rows appended, not yet committed.", labels=p
        )
        self.dropped = CounterMetricFamily(
            "togul_journal_dropped", "Journal rows lost (writer behind or failed).", labels=p
        )
        self.updates_dropped = CounterMetricFamily(
            "togul_updates_dropped",
            "Updates the recorder read too late (counts undercount).",
            labels=p,
        )
        self.flag_value = GaugeMetricFamily(
            "togul_flag_value",
            "A monitored boolean (1/0) or number flag's value, per context.",
            labels=[*p, "environment", "flag", "context"],
        )

    def all(self) -> list[Metric]:
        return [value for value in vars(self).values() if isinstance(value, Metric)]


def _collect_one(
    f: _Families, source: MetricSource, snap: MonitorSnapshot, counts: CountsCopy, now: float
) -> None:
    profile = [safe_text(source.profile)]
    for (kind, environment_id), count in sorted(counts.events.items()):
        f.events.add_metric([*profile, kind, _environment_label(snap, environment_id)], count)
    for state in STATES:
        f.state.add_metric([*profile, state], 1.0 if snap.status.state.value == state else 0.0)
    if snap.last_heartbeat_at is not None:
        f.heartbeat_age.add_metric(profile, max(0.0, now - snap.last_heartbeat_at))
    if snap.last_lag_seconds is not None:
        f.lag.add_metric(profile, snap.last_lag_seconds)
    c = snap.counters
    f.reconnects.add_metric(profile, c.reconnects)
    f.outages.add_metric(profile, counts.outages)
    f.malformed.add_metric(profile, c.malformed)
    f.duplicates.add_metric(profile, c.duplicates)
    f.gaps.add_metric(profile, c.gaps)
    f.evaluate_requests.add_metric(profile, snap.evaluate_requests)
    for context in snap.contexts:
        name = safe_text(context)
        f.evaluate_errors.add_metric([*profile, name], counts.evaluate_errors.get(context, 0))
        f.transitions.add_metric([*profile, name], counts.transitions.get(context, 0))
    f.recording.add_metric(profile, 1.0 if snap.recording else 0.0)
    f.pending.add_metric(profile, snap.journal_pending)
    f.dropped.add_metric(profile, snap.journal_dropped)
    f.updates_dropped.add_metric(profile, snap.dropped_updates)
    environment = safe_text(
        snap.environment_key or snap.environment_names.get(snap.environment_id or "", "")
    )
    for context, key, number in flag_numbers(snap):
        f.flag_value.add_metric([*profile, environment, safe_text(key), context], number)


def flag_numbers(snap: MonitorSnapshot) -> Iterator[tuple[str, str, float]]:
    """(context, flag key, number) of every boolean and number flag, at most `max_flags` flags
    (watched ones first, then by key: the same flags on every scrape)."""
    keys: set[str] = set()
    for context in snap.contexts:
        keys.update(snap.context_values.get(context, {}))
    limit = snap.max_flags if snap.max_flags > 0 else len(keys)
    chosen = sorted(keys, key=lambda k: (k not in snap.watched, k))[:limit]
    for context in snap.contexts:
        values = snap.context_values.get(context, {})
        name = safe_text(context)
        for key in chosen:
            value = values.get(key)
            number = flag_number(value) if value is not None else None
            if number is not None:
                yield name, key, number


class MetricsServer:
    """The `/metrics` endpoint on its own daemon thread (prometheus_client's WSGI server)."""

    def __init__(self, collector: RecorderCollector, host: str, port: int) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(collector)
        # Raises OSError when the address cannot be bound: the caller reports it.
        self._server, self._thread = start_http_server(port, addr=host, registry=self.registry)
        self.host = host
        self.port: int = self._server.server_port

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)
