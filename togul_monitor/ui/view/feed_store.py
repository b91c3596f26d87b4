"""The live feed's view model, without Textual: what is shown, pending, trimmed and filtered.

Every event the view receives is accounted for, always:
`received == shown + pending + trimmed + filtered` (markers such as outages are rows but not
events, so they are not in the count). `pending` holds the newest rows that came while paused,
`paused_new` counts them all ("+N new"); `trimmed`: matching events pushed out of view or pending.
A new filter while paused is applied to the view as it stood at the pause, and what came since
stays held: the view does not move under a reader.

The rows themselves live in one place: the monitor's event log (`source`). The store keeps only
what the widget shows (the bounded view and the rows held while paused). To apply a new filter
to what was already received, it reads the log again (`source.rows_since`) and filters the
copy, off the UI thread for a large view (view/refilter.py, then `apply_refilter`).

Positions tie the two together. The log numbers its rows 0, 1, 2, ... and the drain hands the
view every row in that order (a `Dropped` update says how many it lost), so the view knows the
position of each row it receives: `position` is the next one. `start` is where this view
begins (the monitor's first row of this run, or the last clear).

Rows before `live_start` were recorded by an earlier run: the monitor preloads the journal's
last events (and the outages among them) into its log without publishing them, so the drain
never delivers them. `attach` with a `boundary` reads them from the log and shows them first
(`recorded` counts them at the front of the view, to mark them), then the boundary's rows
(where this run begins, and the window nobody watched: `export_rows` writes it as an outage),
then what arrives live.

A value change no event explains is a row of the view's own, not of the log: `found` keeps it
with the position of the log's row it came before, so a refilter puts it back there (view/found.py).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from togul_monitor.domain.event_log import Row as LogRow
from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.history import Replays
from togul_monitor.domain.values import ValueTransition
from togul_monitor.store.recorded import RecordedChanges
from togul_monitor.ui.view.answers import ValueAnswers
from togul_monitor.ui.view.config_diffs import ConfigDiffs
from togul_monitor.ui.view.event_changes import EventChanges
from togul_monitor.ui.view.feed_predicate import FeedPredicate
from togul_monitor.ui.view.found import FoundRows
from togul_monitor.ui.view.pause_mark import PauseMark
from togul_monitor.ui.view.refilter import MarkerRows, RefilterResult, compute_refilter
from togul_monitor.ui.view.rows import FeedItem, Row, Unwatched, marker_items

#: The rows shown where this run begins, after the rows an earlier run recorded (given them).
BoundaryRows = Callable[[Sequence[LogRow]], list[FeedItem]]


class RowSource(Protocol):
    def rows_since(self, position: int) -> tuple[Sequence[LogRow], int]: ...


class _NoRows:
    """The source of a store that shows no monitor yet."""

    def rows_since(self, position: int) -> tuple[Sequence[LogRow], int]:
        return [], 0


@dataclass
class FeedStore:
    view_size: int = 5_000
    predicate: FeedPredicate = field(default_factory=FeedPredicate)
    source: RowSource = field(default_factory=_NoRows)
    marker_rows: MarkerRows = marker_items
    paused: bool = False
    paused_new: int = 0  # the matching events that came since the pause (`pending`: the newest)
    paused_at: PauseMark = field(default_factory=PauseMark)  # a refilter holds what came since
    received: int = 0
    filtered: int = 0
    trimmed: int = 0
    # Of `trimmed`: events a paint left out under a burst (never in the view; in the log).
    skipped: int = 0
    # Rows removed from the front of the view since the widget last looked (to keep its cursor).
    front_removed: int = 0
    # Rows appended to the view since the widget last looked.
    appended: int = 0
    # Bumped whenever the view is replaced wholesale (clear, refilter): the widget resets.
    generation: int = 0
    clears: int = 0
    # The user's last `C` (None: not since this monitor started) and the events received
    # before it, since the start: the empty view says where they went.
    cleared_at: float | None = None
    cleared_events: int = 0

    def __post_init__(self) -> None:
        self.view: deque[Row] = deque(maxlen=self.view_size)
        self.pending: deque[Row] = deque(maxlen=self.view_size)
        # The events among them, kept as rows come and go: the status bar reads them a few
        # times a second, and counting 5,000 rows each time is an idle TUI's largest cost.
        self._shown = self._pending = 0
        # What the re-evaluation of an event without a transition answered (view/answers.py).
        self.answers = ValueAnswers(2 * self.view_size)
        # Value changes by the event they belong to (view/event_changes.py).
        self.changes = EventChanges(self.answers, 2 * self.view_size)
        # Configuration diffs by the event they explain (view/config_diffs.py).
        self.diffs = ConfigDiffs(2 * self.view_size)
        self.found = FoundRows(self.view_size)  # changes no event explains (view/found.py)
        self.replays = Replays(())  # the outages received: the events they replayed are marked
        self.position = 0  # log position of the next row this store receives
        self.start = 0  # log position where this view begins
        self.live_start = 0  # log position of this run's first row (before it: recorded)
        self.recorded = 0  # rows at the front of the view that an earlier run recorded
        self.boundary: list[FeedItem] = []  # shown between the recorded rows and the live ones
        # Rows received since a refilter read the log, with their positions (None: none runs).
        self._recent: deque[tuple[int, list[Row]]] | None = None

    def attach(
        self,
        source: RowSource,
        start: int,
        boundary: BoundaryRows | None = None,
        found: Sequence[ValueTransition] = (),
    ) -> None:
        """Show the rows of `source` (a monitor) from log position `start` on; with `boundary`,
        the rows before `start` too (recorded by an earlier run), then the boundary's rows.
        `found`: the changes the earlier run found among them (the snapshot's `recorded.found`),
        placed in the same pass, so a start never reads and filters the view twice (it holds
        up to 10,000 rows, on the UI thread); `answers` must be the new profile's already."""
        self.source = source
        self.position = self.live_start = start
        self.clear()
        self.cleared_at, self.cleared_events = None, 0
        # Another monitor (a profile switch): its event ids are another stream's, and the value
        # changes kept by id would show on its rows.
        self.changes.clear()
        recorded = self._rows_until(0, start)[0] if boundary is not None and start else ()
        self.replays = Replays(recorded)  # the outages among them
        self._mark_pause()  # paused, a new monitor's live rows are news (its log starts anew)
        if not recorded or boundary is None:
            return
        self.start = start - len(recorded)
        self.boundary = boundary(recorded)
        self.found.add_recorded(found, recorded, self.start, self.answers.contexts)
        keeps, environment = self.predicate, self.answers.own_environment
        found_rows = deque(row for row in self.found.rows if row[1].passes(keeps, environment))
        for position, row in enumerate(recorded, self.start):  # paused or not: they are not news
            while found_rows and found_rows[0][0] <= position:  # before the row it came before
                self._push(found_rows.popleft()[1])
                self.recorded += 1
            for view_row in [row] if type(row) is FlagEvent else self.marker_rows(row):
                if type(view_row) is FlagEvent:
                    self.received += 1
                    if not self.predicate.matches(view_row):
                        self.filtered += 1
                        continue
                self._push(view_row)
                self.recorded += 1
        for _, found_row in found_rows:  # found after the last of them
            self._push(found_row)
            self.recorded += 1
        for item in self.boundary:
            self._push(item)
        self.front_removed = self.appended = 0
        self._mark_pause()  # the rows found among the recorded ones are shown

    # -- counters -------------------------------------------------------------------------
    @property
    def shown(self) -> int:
        return self._shown

    @property
    def pending_events(self) -> int:
        return self._pending

    # -- feeding ---------------------------------------------------------------------------
    def add_row(self, row: LogRow) -> None:
        """The next row of the log, in log order."""
        rows: list[Row] = [row] if type(row) is FlagEvent else list(self.marker_rows(row))
        held: list[Row] = []
        if type(row) is Outage:  # its replay marks the events it re-sent (view/feed_layout.py)
            self.replays.add(row)
            # Rows found since its end are shown again after its marker (view/found.py).
            held, unshown = self.found.take_after(row, self.position, self.view, self.pending)
            self.appended -= unshown
        if self._recent is not None:
            self._recent.append((self.position, rows))
        self.position += 1
        if self.found.open:
            self.found.close(rows)
        for view_row in (*rows, *held):
            self._add(view_row)

    def skip(self, rows: int, events: int, *, burst: bool = False) -> None:
        """The drain lost `rows` rows, `events` of them events, or (`burst`) the paint left them
        out to keep its budget (view/batch.py): received and trimmed (a refilter may still find
        them in the log)."""
        self.position += rows
        self.received += events
        self.trimmed += events
        self.paused_new += events if self.paused else 0
        if burst:
            self.skipped += events

    def add_transition(self, transition: ValueTransition, event: FlagEvent | None = None) -> None:
        """A value change of `event` (the one its answer answered, view/answers.py), else of the
        event `transition.event_id` names (view/event_changes.py); of no event, a row of the
        view's own (view/found.py)."""
        if transition.event_id is not None or event is not None:
            self.changes.add(transition, event)
            return
        # A re-evaluation of its own (an outage, `r`, a start): a change of its flag all the same.
        self.diffs.found((transition,))
        found = self.found.add(transition, self.position, self.answers.contexts)
        if found is not None and found.passes(self.predicate, self.answers.own_environment):
            self._add(found)

    def add_recorded(self, changes: RecordedChanges) -> None:
        """What the journal recorded with the rows an earlier run recorded (the snapshot's
        `recorded`): kept as live ones are, so those rows and their detail say the same (a
        value change, a diff, "evaluated with the next change"). The
        changes no event explained are rows of their own, placed by `attach` (view/found.py)."""
        for event, transition in changes.transitions:
            self.add_transition(transition, event)
        self.answers.recorded(changes.merged)  # evaluated with the next change
        # Imported here: the first frame paints before the monitor's modules load.
        from togul_monitor.core.updates import ConfigChanged

        for event, stored in changes.diffs:
            self.diffs.add(ConfigChanged(stored.diff, event, stored.at))

    def last_changes_anew(self, max_flags: int) -> None:
        """Each flag's last change (`diffs`) for a new monitor: from the rows it shows so far
        (recorded by an earlier run), the changes that run found among them too."""
        self.diffs.clear(max_flags)
        self.diffs.saw(row for row in self.view if type(row) is FlagEvent)
        self.diffs.found(t for _, row in self.found.rows for t in row.transitions)

    def transitions_for(self, event: FlagEvent) -> tuple[ValueTransition, ...]:
        """The event's value changes, one per context that changed, in the profile's order."""
        return self.changes.for_event(event)

    def transitions_copy(self) -> Callable[[FlagEvent], tuple[ValueTransition, ...]]:
        """`transitions_for` over a copy of the value changes held now: for a worker thread
        (an export) while the UI thread goes on adding to them."""
        return self.changes.copy().for_event

    def _add(self, row: Row) -> None:
        if type(row) is FlagEvent:
            self.received += 1
            if not self.predicate.matches(row):
                self.filtered += 1
                return
        if self.paused:
            self.paused_new += type(row) is FlagEvent
            if len(self.pending) == self.pending.maxlen and type(self.pending[0]) is FlagEvent:
                self.trimmed += 1
                self._pending -= 1
            self.pending.append(row)
            self._pending += type(row) is FlagEvent
        else:
            self._push(row)

    def _push(self, row: Row) -> None:
        if len(self.view) == self.view.maxlen:
            if type(self.view[0]) is FlagEvent:
                self.trimmed += 1
                self._shown -= 1
            self.recorded = max(0, self.recorded - 1)  # recorded rows are the front ones
            self.front_removed += 1
        self.view.append(row)
        self._shown += type(row) is FlagEvent
        self.appended += 1

    # -- intents ---------------------------------------------------------------------------
    def set_paused(self, paused: bool) -> None:
        if self.paused and not paused:
            for item in self.pending:
                self._push(item)
            self.pending.clear()
            self._pending = self.paused_new = 0
        elif paused and not self.paused:
            self._mark_pause()
        self.paused = paused

    def _mark_pause(self) -> None:
        self.paused_at = PauseMark.at(self.position, self.found.rows)

    def insert_after(self, anchor: Row, rows: Sequence[Row]) -> bool:
        """Markers placed late: `rows` right after `anchor` in the view (the very row), the
        oldest rows trimmed to make room. False when `anchor` has left the view."""
        at = next((i for i, row in enumerate(self.view) if row is anchor), None)
        if at is None:
            return False
        view = list(self.view)
        view[at + 1 : at + 1] = rows
        cut = max(0, len(view) - self.view_size)
        gone = sum(1 for row in view[:cut] if type(row) is FlagEvent)
        self.trimmed, self._shown = self.trimmed + gone, self._shown - gone
        self.recorded = max(0, self.recorded - cut)  # recorded rows are the front ones
        self.view = deque(view[cut:], maxlen=self.view_size)
        self.generation += 1  # the widget lays the view out again
        return True

    def remove(self, item: FeedItem) -> None:
        """A marker row the view no longer shows (the very row, wherever it is)."""
        kept = [row for row in self.view if row is not item]
        if len(kept) < len(self.view):
            self.view = deque(kept, maxlen=self.view_size)
            self.generation += 1  # the widget lays the view out again

    def clear(self) -> None:
        """Empty the view (not the monitor's log or journal) and restart every count."""
        self.view.clear()
        self.pending.clear()
        self._shown = self._pending = self.paused_new = 0
        self.received = self.filtered = self.trimmed = self.skipped = 0
        self.front_removed = self.appended = 0
        self.start, self.recorded = self.position, 0
        self.boundary = []
        self._recent = None
        self.found.clear()
        self.generation += 1
        self.clears += 1  # a refilter computed before this clear must not bring rows back

    def clear_view(self, at: float) -> None:
        """The user's clear (`C`): the view emptied, and when and what it held kept."""
        self.cleared_events += self.received
        self.cleared_at = at
        self.clear()

    def _rows_until(self, since: int, upto: int) -> tuple[Sequence[LogRow], int]:
        """The log's rows from position `since` (those still kept) up to `upto`, and the
        position of the first."""
        rows, end = self.source.rows_since(since)
        first = end - len(rows)
        return rows[: max(0, upto - first)], first

    def export_rows(self) -> list[LogRow]:
        """The log's rows this view has received since the last clear (those still kept), with
        the window nobody watched before this run (the boundary's) as an outage where it falls,
        while the rows recorded before it are among them: without it they would run on into
        the live ones as if the stream had been watched throughout."""
        kept, first = self._rows_until(self.start, self.position)
        received = list(kept)
        if first < self.live_start:
            at = self.live_start - first
            received[at:at] = [
                i.source.outage for i in self.boundary if type(i.source) is Unwatched
            ]
        return received

    def refilter_input(self) -> tuple[Sequence[LogRow], int, int]:
        """What a worker needs to refilter off the UI thread: rows, their end, clears. From
        now until the result is applied, the store remembers the rows it receives."""
        rows, end = self.source.rows_since(self.start)
        self._recent = deque(maxlen=self.view_size)
        return rows, end, self.clears

    compute_refilter = staticmethod(compute_refilter)  # view/refilter.py

    def refilter(self, predicate: FeedPredicate) -> None:
        """Synchronous refilter (small views, tests)."""
        rows, upto, clears = self.refilter_input()
        result = self.compute_refilter(rows, predicate, upto, self.marker_rows)
        result.clears = clears
        self.apply_refilter(result)

    def apply_refilter(self, result: RefilterResult) -> None:
        recent, self._recent = self._recent, None
        if recent is None or result.clears not in (-1, self.clears):
            # Read before a clear (or its record of what arrived since is gone): redo it over
            # what is here now.
            rows, upto = self.source.rows_since(self.start)
            result = self.compute_refilter(rows, result.predicate, upto, self.marker_rows)
            recent = deque()
        self.predicate = result.predicate
        # The log may be ahead of the view (rows still on their way through the drain).
        kept, failing = result.received_by(min(result.upto, self.position), recent)
        recorded = sum(1 for position, _ in kept if position < self.live_start)
        environment = self.answers.own_environment
        placed, found_earlier = self.found.placed(kept, result.predicate, environment)
        recorded += found_earlier  # before this run's rows, with the rows recorded
        # Paused, the view is refiltered as it stood at the pause: what came since stays held.
        paused, after = self.paused, self.paused_at.after
        held = [row for at, row in placed if paused and after(at, row)]
        matched = [row for at, row in placed if not (paused and after(at, row))]
        if self.boundary and self.start < self.live_start:
            matched[recorded:recorded] = self.boundary
        self.view = deque(matched[-self.view_size :], maxlen=self.view_size)
        self._shown = sum(1 for row in self.view if type(row) is FlagEvent)
        self.recorded = max(0, recorded - max(0, len(matched) - self.view_size))
        self.pending = deque(held[-self.view_size :], maxlen=self.view_size)
        self._pending = sum(1 for row in self.pending if type(row) is FlagEvent)
        self.paused_new = sum(1 for row in held if type(row) is FlagEvent)
        self.filtered = failing
        # Events no longer in the log (evicted) or cut from the view or held count as trimmed.
        self.trimmed = self.received - self.filtered - self.shown - self._pending
        self.skipped = 0  # the refilter read them all from the log
        self.front_removed = self.appended = 0
        self.generation += 1
