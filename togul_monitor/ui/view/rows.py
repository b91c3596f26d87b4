"""The rows of the feed: the events themselves, and the markers that explain them.

The monitor's event log holds events and marker items (an outage, a malformed event, a possible
gap). The feed shows an event as it is (the FlagEvent itself, shared with the log: no wrapper
per event, so a fast stream adds no objects for the garbage collector to walk) and a marker as
one or more `FeedItem`s of text, made here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

import msgspec

from togul_monitor.domain.events import (
    ConnectionState,
    FlagEvent,
    Malformed,
    Outage,
    PossibleGap,
    Status,
)
from togul_monitor.support.text import safe_text
from togul_monitor.ui.view.format import fmt_clock, fmt_full_time

if TYPE_CHECKING:
    from togul_monitor.core.snapshot import MonitorSnapshot


class FeedItem(msgspec.Struct):
    """A marker row of the feed: an outage, malformed data, a possible gap."""

    received_at: float
    marker: str  # "outage" | "outage-missing" | "continued" | "malformed" | "gap" | "info"
    # ("info" also marks where this run begins after the recorded rows: `boundary_items`)
    text: str = ""  # already safe to print
    source: object = None  # the stream item behind the marker, for the detail screen


Row = FlagEvent | FeedItem


class Unwatched(msgspec.Struct, frozen=True):
    """The source of the boundary's row for the window between the end of what earlier runs
    watched and this run's start, which nobody watched: as an export writes it, an outage of
    the stream that may have missed changes (the server did not replay it: nothing resumed it)."""

    outage: Outage


def row_event(row: Row) -> FlagEvent | None:
    return row if type(row) is FlagEvent else None


def row_marker(row: Row) -> str | None:
    return row.marker if isinstance(row, FeedItem) else None


def event_count(count: int) -> str:
    return f"{count} event{'' if count == 1 else 's'}"


def _duration(seconds: float) -> str:
    """`75 s` reads `1m15s` (an age, `fmt_age`, would say `1m`)."""
    if not math.isfinite(seconds) or seconds < 0:  # a server's times are data
        return "?"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{rest:02d}s" if hours else f"{minutes}m{rest:02d}s"


#: The second row of an outage reported as one that may have missed changes, proved whole later.
PROVEN_LATER = "  nothing missed after all: the next event's id followed the last one's"


def outage_text(outage: Outage, time_mode: str, now: float) -> list[tuple[str, str]]:
    """The inline outage marker (one or two rows): what was down, what the view did."""
    mode = "utc" if time_mode == "utc" else "local"  # a window reads best as clock times
    start, end = fmt_clock(outage.started_at, mode, now), fmt_clock(outage.ended_at, mode, now)
    head = f"── disconnected {start}–{end}"
    if outage.replayed:
        head += f", {event_count(outage.replayed)} replayed"
    if outage.proven_at is not None:  # as many rows as it had when reported: they are replaced
        return [("outage", head + " ──"), ("outage", PROVEN_LATER)]
    if not outage.may_have_missed:
        if not outage.replayed:
            head += ", 0 events replayed"
        return [("outage", head + " ──")]
    return [
        ("outage-missing", head + " ──"),
        ("continued", "  changes in this window may be missing; every value asked again"),
    ]


def marker_items(row: object, time_mode: str = "local", now: float = 0.0) -> list[FeedItem]:
    """How the feed shows a marker row of the log (an outage, a malformed event, a gap)."""
    if isinstance(row, Outage):
        return [
            FeedItem(row.received_at, kind, text, row)
            for kind, text in outage_text(row, time_mode, now)
        ]
    if isinstance(row, Malformed):
        if row.re_evaluate:
            text = f"unusable event ({row.reason}): every value re-evaluated · {row.raw[:80]}"
        else:
            text = f"malformed event skipped: {row.reason} · {row.raw[:80]}"
        return [FeedItem(row.received_at, "malformed", safe_text(text), row)]
    if isinstance(row, PossibleGap):
        text = (
            f"possible gap: {row.flag_key} expected v{row.expected_version}, got v{row.got_version}"
        )
        return [FeedItem(row.received_at, "gap", safe_text(text), row)]
    return []


MARKER_TITLES = {
    "outage": "outage",
    "outage-missing": "outage: changes may be missing",
    "continued": "outage: changes may be missing",
    "malformed": "malformed event",
    "gap": "possible gap",
    "info": "where this run begins",
    "found": "value change found on re-evaluation",
}


def marker_fields(source: object, time_mode: str) -> list[tuple[str, str]]:
    """The detail of a marker's stream item, field by field in words (none for a marker of
    its own: `boundary_items`)."""
    when = partial(fmt_full_time, mode=time_mode)
    if isinstance(source, Outage):
        replayed = "unknown (the client cannot tell)"
        if source.replayed is not None:
            replayed = event_count(source.replayed)
        missed = (
            "yes: values were re-evaluated after it"
            if source.may_have_missed
            else "no: the ids resumed where they stopped"
        )
        if source.proven_at is not None:
            missed += f" (proved by the next event, {when(source.proven_at)})"
        return [
            ("down from", when(source.started_at)),
            ("live again", when(source.ended_at)),
            ("for", _duration(source.ended_at - source.started_at)),
            ("re-sent", replayed),
            ("may miss", missed),
        ]
    if isinstance(source, Malformed):
        return [
            ("reason", safe_text(source.reason)),
            ("event id", safe_text(source.event_id) if source.event_id else "(none)"),
            ("received", when(source.received_at)),
            ("effect", "every value re-evaluated" if source.re_evaluate else "skipped"),
            ("data", safe_text(source.raw)),
        ]
    if isinstance(source, PossibleGap):
        return [
            ("flag", safe_text(source.flag_key)),
            ("environment", safe_text(source.environment_id)),
            ("expected", f"v{source.expected_version}"),
            ("got", f"v{source.got_version}"),
            ("event id", safe_text(source.event_id) if source.event_id else "(none)"),
            ("received", when(source.received_at)),
        ]
    return []


def boundary_items(
    recorded: Sequence[object],
    live_from: float,
    time_mode: str = "local",
    now: float = 0.0,
    *,
    elsewhere: bool = False,
    resumed: bool = False,
    watched_until: float | None = None,
) -> list[FeedItem]:
    """Where this run begins, under the rows an earlier run recorded (preloaded from the
    journal): the separator, then the window between the end of what was watched and this
    run's start, which nobody watched, so changes in it may be missing. What was watched ends
    at the last of the rows, or at the journal's "watched until" mark when that is later (its
    recorder stayed live after its last event: core/watched.py), as a recording run's outage
    starts. `elsewhere`: another process records the journal (and watches the stream
    meanwhile): the rows are its, and the time since its last one is no window nobody watched,
    unless it turns out later that it had stopped watching (`RecorderStopped`: its mark did
    not move, or this monitor took the journal over from it). `resumed`: the stream resumed
    after the last of them, and the outage marker it brings says what the replay proved of
    that window."""
    mode = "utc" if time_mode == "utc" else "local"  # a window reads best as clock times
    live = fmt_clock(live_from, mode, now)
    source = "by another process" if elsewhere else "earlier"
    times = [row.received_at for row in recorded if isinstance(row, FlagEvent)]
    last = None if not times or resumed else max(times)
    start = RunStart(live_from, last, mode, now)
    text = f"── recorded {source} (journal) · live from {live} ──"
    window = [] if elsewhere else start.window(watched_until)
    return [FeedItem(live_from, "info", text, start), *window]


class RunStart(msgspec.Struct, frozen=True):
    """The source of the boundary's first row, where this run begins: what dates the window
    nobody watched before it, from the recorded rows' last event (`last_event`; None: no such
    window, `boundary_items`) or a later "watched until" mark. Kept for a mark that comes late:
    a recorder the journal's reader took as live had stopped (core/updates.py
    `RecorderStopped`)."""

    live_from: float
    last_event: float | None
    mode: str
    now: float

    def window(self, watched_until: float | None) -> list[FeedItem]:
        """The window's row (none when the recorded rows or the mark reach this run)."""
        if self.last_event is None:
            return []
        since = self.last_event if watched_until is None else max(self.last_event, watched_until)
        live_from, mode, now = self.live_from, self.mode, self.now
        if since >= live_from:
            return []
        live = fmt_clock(live_from, mode, now)
        text = f"── not watched {fmt_clock(since, mode, now)}–{live}: changes may be missing ──"
        window = Unwatched(Outage(since, live_from, None, True, live_from))
        return [FeedItem(live_from, "outage-missing", text, window)]


def run_boundary(
    snapshot: MonitorSnapshot, time_mode: str, now: float
) -> Callable[[Sequence[object]], list[FeedItem]]:
    """`boundary_items` for the run whose first snapshot is `snapshot`."""
    return partial(
        boundary_items,
        live_from=run_began(snapshot.status, now),
        time_mode=time_mode,
        now=now,
        elsewhere=recorded_elsewhere(snapshot),
        resumed=snapshot.resumed,
        watched_until=snapshot.watched_until,
    )


def recorded_elsewhere(snapshot: MonitorSnapshot) -> bool:
    """Another process records the journal now, so it watched the stream meanwhile: a busy
    SQLite file (its lock proves its recorder runs). A shared journal's recorder may have
    stopped: what it did not record may be a window nobody watched."""
    # Imported here: the first frame paints before the store's modules load.
    from togul_monitor.store.reading import READ_ONLY_NOTICE

    return snapshot.recorder_busy and snapshot.journal_notice != READ_ONLY_NOTICE


def run_began(status: Status, now: float) -> float:
    """When this run began to watch, as its first status says: connecting since the monitor
    was made, or live since the stream opened; `now` once it has had to retry."""
    if status.state in (ConnectionState.CONNECTING, ConnectionState.LIVE):
        return status.at
    return now
