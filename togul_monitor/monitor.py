"""The monitor core for one profile: stream → model → journal, plus re-evaluation.

CONTRACT (implementation to follow). The TUI and the headless commands drive this, never the
stages below it directly.

- `Monitor` is an asyncio object: `await start()`, `await stop()`. Headless commands run it in
  their own loop and read `updates()`.
- `MonitorThread` runs a Monitor on a dedicated thread with its own event loop, so that no
  parsing, evaluate call or journal write ever runs on the TUI's loop. The TUI polls
  `drain()` on a timer (at most 20 Hz) and paints one batch per call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from togul_monitor.model.flag_values import FlagValue, ValueTransition
from togul_monitor.stream.events import Status, StreamCounters, StreamItem


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


MonitorUpdate = Union[StreamItem, ValueUpdated, TransitionRecorded, EvaluatorStatus]


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
