"""The items a StreamClient yields. Frozen value objects: no I/O, no Textual.

Every item carries `received_at` (wall clock, seconds since the epoch, from the client's
injectable clock) so views and the journal never need to ask the clock again.

Like every record (docs/architecture.md), `FlagEvent` is a frozen msgspec `Struct`; for it the
reason is speed at run time too: the stream client makes one per change (up to hundreds of
thousands a second in a burst), and a frozen dataclass's `__init__` (one `object.__setattr__`
per field) was the largest single cost of decoding the stream. `gc=False`: it holds only
strings and numbers, so it can never be part of a reference cycle, and the collector need not
track a million of them.
"""

from __future__ import annotations

import enum
from operator import attrgetter

import msgspec

from togul_monitor.protocol import EVENT_TYPES


class FlagEvent(msgspec.Struct, frozen=True, gc=False):
    """One validated change event from the server."""

    type: str
    flag_key: str
    environment_id: str
    version: int
    timestamp: float  # server's Unix time (seconds) of the change
    event_id: str | None  # SSE id, None when the server sends none
    received_at: float

    @property
    def known_type(self) -> bool:
        return self.type in EVENT_TYPES

    def to_json(self) -> dict[str, object]:
        """The event as tail --json and the exports write it."""
        return {
            "type": self.type,
            "flag_key": self.flag_key,
            "environment_id": self.environment_id,
            "version": self.version,
            "timestamp": self.timestamp,
            "id": self.event_id,
            "received_at": self.received_at,
        }


# An event's environment id, in C: runs of thousands of events are checked for one environment
# with it (`map`), not event by event in Python.
environment_of = attrgetter("environment_id")


class Malformed(msgspec.Struct, frozen=True):
    """An SSE event that could not become a FlagEvent: counted and shown, never applied.

    `re_evaluate` is True for a JSON object that is not a usable event (client/validate.py):
    the monitor then re-evaluates every flag it monitors (core/intake.py)."""

    reason: str
    raw: str  # truncated raw data text, never the whole of an oversized payload
    event_id: str | None
    received_at: float
    # A JSON object that cannot be attributed to one flag (no usable flag_key...): the official
    # SDKs take it as "something changed" and drop their whole cache, so the monitor
    # re-evaluates every flag it monitors.
    re_evaluate: bool = False


class ConnectionState(enum.Enum):
    CONNECTING = "connecting"
    LIVE = "live"
    RETRYING = "retrying"
    STOPPED = "stopped"


class Status(msgspec.Struct, frozen=True):
    """A change of connection state."""

    state: ConnectionState
    at: float  # when this state began (for LIVE: live since)
    attempt: int = 0  # consecutive failed attempts (RETRYING)
    next_try_at: float | None = None  # RETRYING: wall-clock time of the next attempt
    error: str | None = None  # RETRYING: the last error; STOPPED: the reason
    credentials_rejected: bool = False  # STOPPED because of 401/403


class Heartbeat(msgspec.Struct, frozen=True):
    """A comment line arrived (the server's keep-alive)."""

    at: float


class Outage(msgspec.Struct, frozen=True):
    """The stream was down between `started_at` and `ended_at` and is live again.

    `replayed` counts events the server re-sent for the window after Last-Event-ID (None when
    the client cannot tell). `may_have_missed` is False only when the client could prove
    continuity (the ids resumed exactly where they stopped). `proven_at`: when the first event
    after it proved that, for an outage first reported as one that may have missed changes
    (nothing came within a second of the reconnect: `OutageProven`).
    """

    started_at: float
    ended_at: float
    replayed: int | None
    may_have_missed: bool
    received_at: float
    proven_at: float | None = None

    def to_json(self) -> dict[str, object]:
        """The outage as `history --json` and `tail --json` write it (Unix seconds; the
        export's line, store/export_json.py, has the same names with ISO times)."""
        return {
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "replayed": self.replayed,
            "may_have_missed": self.may_have_missed,
            "received_at": self.received_at,
        }


def outage_time(outage: Outage) -> float:
    """Where an outage stands among events and value changes, for every list ordered in time
    (the feed, `history`, the exports): where it ended, the reconnect (`ended_at`), not when it
    was decided (`received_at`, up to a second later on a quiet stream: DECISION_DELAY in
    client/outages.py). The values asked again once the stream is back may answer before that
    decision, and what they found comes after the outage that explains it. At an equal time
    the outage comes first: before the changes it caused and the events received after it
    (an event the server replayed is placed inside it: domain/history.py `Replays`). Its row
    still says when it was decided (`received_at`)."""
    return outage.ended_at


class OutageProven(msgspec.Struct, frozen=True):
    """An outage reported as one that may have missed changes, proved whole by the first event
    after it (client/outages.py): every place that shows or keeps `reported` takes `outage`."""

    outage: Outage  # the same window, `may_have_missed` False and `proven_at` set

    @property
    def reported(self) -> Outage:
        """The outage as it was first reported (its identity: the window and `received_at`)."""
        return msgspec.structs.replace(self.outage, may_have_missed=True, proven_at=None)


class PossibleGap(msgspec.Struct, frozen=True):
    """A flag's version jumped or went back, once versions are seen to be per flag."""

    flag_key: str
    environment_id: str
    expected_version: int
    got_version: int
    event_id: str | None
    received_at: float


StreamItem = FlagEvent | Malformed | Status | Heartbeat | Outage | OutageProven | PossibleGap


class StreamCounters(msgspec.Struct):
    """Running totals of one StreamClient; read by status bars and benchmarks."""

    events: int = 0
    malformed: int = 0
    duplicates: int = 0
    reconnects: int = 0
    bytes: int = 0
    heartbeats: int = 0
    gaps: int = 0
    by_type: dict[str, int] = msgspec.field(default_factory=dict)
