"""The live feed's view model, without Textual: what is shown, pending, trimmed and filtered.

Every event the view receives is accounted for, always:
`received == shown + pending + trimmed + filtered` (markers such as outages are rows but not
events, so they are not in the count). `pending` holds the rows that arrived while paused (the
"+N new" counter); `trimmed` counts matching events pushed out of the bounded view.

The rows themselves live in one place: the monitor's event log. The store keeps only what the
widget shows (the bounded view and the rows held while paused). To apply a new filter to what
was already received, it reads the log again (`source.rows_since`) and filters the copy, off
the UI thread for a large view (`compute_refilter`, then `apply_refilter`).

Positions tie the two together. The log numbers its rows 0, 1, 2, ... and the drain hands the
view every row in that order (a `Dropped` update says how many it lost), so the view knows the
position of each row it receives: `position` is the next one. `start` is where this view
begins (the monitor's first row of this run, or the last clear). A store without a monitor
(the unit tests) keeps its own rows in a `LocalRows` of `keep` rows, numbered the same way.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from togul_monitor.domain.event_log import Row as LogRow
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import ValueTransition
from togul_monitor.protocol import EVENT_TYPES


class EventFilter(Protocol):
    def matches(
        self, event: FlagEvent, environment_names: Mapping[str, str] | None = None
    ) -> bool: ...


@dataclass(frozen=True)
class FeedPredicate:
    """The filter in force plus the event types hidden with `1`–`6`."""

    text_filter: EventFilter | None = None
    hidden_types: frozenset[str] = frozenset()
    environment_names: Mapping[str, str] | None = None

    def matches(self, event: FlagEvent, environment_names: Mapping[str, str] | None = None) -> bool:
        # Same signature as Filter.matches, so the predicate can also be handed to the monitor.
        if event.type in self.hidden_types:
            return False
        if self.text_filter is None:
            return True
        return self.text_filter.matches(event, environment_names or self.environment_names)

    def hides(self, event_type: str) -> bool:
        return event_type in self.hidden_types

    def toggled(self, index: int) -> FeedPredicate:
        """The predicate with event type `index` (0-based, EVENT_TYPES order) flipped."""
        event_type = EVENT_TYPES[index]
        hidden = set(self.hidden_types)
        hidden.symmetric_difference_update({event_type})
        return FeedPredicate(self.text_filter, frozenset(hidden), self.environment_names)


@dataclass(slots=True)
class FeedItem:
    """A marker row of the feed: an outage, malformed data, a possible gap.

    Events are rows as they are (the FlagEvent itself, shared with the monitor's log): no
    wrapper per event, so a fast stream adds no objects for the garbage collector to walk.
    """

    received_at: float
    marker: str  # "outage" | "outage-missing" | "continued" | "malformed" | "gap" | "info"
    text: str = ""  # already safe to print
    source: object = None  # the stream item behind the marker, for the detail screen


Row = FlagEvent | FeedItem
#: What a source holds: the monitor's log rows, or (a store of its own) the view's rows.
SourceRow = LogRow | FeedItem
#: How a log marker (an Outage, a Malformed event, a PossibleGap) is shown: one or more items.
MarkerRows = Callable[[SourceRow], list[FeedItem]]


def row_event(row: Row) -> FlagEvent | None:
    return row if type(row) is FlagEvent else None


def row_marker(row: Row) -> str | None:
    return row.marker if type(row) is FeedItem else None


def _as_items(row: SourceRow) -> list[FeedItem]:
    """A store of its own already holds FeedItems; anything else has no marker text."""
    if isinstance(row, FeedItem):
        return [row]
    return [FeedItem(row.received_at, "info", type(row).__name__, row)]


class RowSource(Protocol):
    def rows_since(self, position: int) -> tuple[Sequence[SourceRow], int]: ...


class LocalRows:
    """The rows of a store that has no monitor behind it, numbered like the event log."""

    def __init__(self, keep: int) -> None:
        self._rows: deque[SourceRow] = deque(maxlen=keep)
        self._end = 0

    def append(self, row: SourceRow) -> None:
        self._rows.append(row)
        self._end += 1

    def rows_since(self, position: int) -> tuple[list[SourceRow], int]:
        first = self._end - len(self._rows)
        skip = max(0, position - first)
        return list(self._rows)[skip:], self._end


@dataclass
class RefilterResult:
    predicate: FeedPredicate
    matched: list[tuple[int, Row]]  # (log position, view row), oldest first
    failing: int
    upto_seq: int  # the log position after the last row the refilter read
    rows: Sequence[SourceRow] = ()  # what it read (to recount rows the view has not received)
    clears: int = -1  # the store's `clears` then (-1: unknown, trust the rows)


@dataclass
class FeedStore:
    view_size: int = 5_000
    keep: int = 100_000  # rows a store without a monitor keeps for refiltering
    predicate: FeedPredicate = field(default_factory=FeedPredicate)
    paused: bool = False
    received: int = 0
    filtered: int = 0
    trimmed: int = 0
    # Rows removed from the front of the view since the widget last looked (to keep its cursor).
    front_removed: int = 0
    # Rows appended to the view since the widget last looked.
    appended: int = 0
    # Bumped whenever the view is replaced wholesale (clear, refilter): the widget resets.
    generation: int = 0
    clears: int = 0
    marker_rows: MarkerRows = _as_items

    def __post_init__(self) -> None:
        self.view_size = min(self.view_size, self.keep)
        self.view: deque[Row] = deque(maxlen=self.view_size)
        self.pending: deque[Row] = deque(maxlen=self.view_size)
        self.transitions: OrderedDict[str, ValueTransition] = OrderedDict()
        self._local: LocalRows | None = LocalRows(self.keep)
        self.source: RowSource = self._local
        self.position = 0  # log position of the next row this store receives
        self.start = 0  # log position where this view begins
        # Rows received since a refilter read the log, with their positions (None: none runs).
        self._recent: list[tuple[int, list[Row]]] | None = None

    def attach(self, source: RowSource, start: int) -> None:
        """Show the rows of `source` (a monitor) from log position `start` on."""
        self._local = None
        self.source = source
        self.clear()
        self.position = self.start = start

    # -- counters -------------------------------------------------------------------------
    @property
    def shown(self) -> int:
        return sum(1 for row in self.view if type(row) is FlagEvent)

    @property
    def pending_events(self) -> int:
        return sum(1 for row in self.pending if type(row) is FlagEvent)

    # -- feeding ---------------------------------------------------------------------------
    def add_event(self, event: FlagEvent) -> None:
        self._receive(event, [event])

    def add_marker(self, kind: str, text: str, received_at: float, source: object = None) -> None:
        item = FeedItem(received_at, kind, text, source)
        self._receive(item, [item])

    def add_row(self, row: LogRow) -> None:
        """One row of the monitor's log, in log order."""
        if type(row) is FlagEvent:
            self._receive(row, [row])
        else:
            self._receive(row, list(self.marker_rows(row)))

    def skip(self, rows: int) -> None:
        """The drain lost `rows` rows: they count as received and trimmed (a refilter may
        still find them in the log)."""
        self.position += rows
        self.received += rows
        self.trimmed += rows

    def add_transition(self, transition: ValueTransition) -> None:
        if transition.event_id is None:
            return
        self.transitions[transition.event_id] = transition
        if len(self.transitions) > self.keep:
            self.transitions.popitem(last=False)

    def transition_for(self, event: FlagEvent) -> ValueTransition | None:
        if event.event_id is None:
            return None
        return self.transitions.get(event.event_id)

    def _receive(self, source_row: SourceRow, rows: list[Row]) -> None:
        if self._local is not None:
            self._local.append(source_row)
        if self._recent is not None:
            self._recent.append((self.position, rows))
        self.position += 1
        for row in rows:
            self._add(row)

    def _add(self, row: Row) -> None:
        if type(row) is FlagEvent:
            self.received += 1
            if not self.predicate.matches(row):
                self.filtered += 1
                return
        if self.paused:
            if len(self.pending) == self.pending.maxlen and type(self.pending[0]) is FlagEvent:
                self.trimmed += 1
            self.pending.append(row)
        else:
            self._push(row)

    def _push(self, row: Row) -> None:
        if len(self.view) == self.view.maxlen:
            if type(self.view[0]) is FlagEvent:
                self.trimmed += 1
            self.front_removed += 1
        self.view.append(row)
        self.appended += 1

    # -- intents ---------------------------------------------------------------------------
    def set_paused(self, paused: bool) -> None:
        if self.paused and not paused:
            for item in self.pending:
                self._push(item)
            self.pending.clear()
        self.paused = paused

    def clear(self) -> None:
        """Empty the view (not the monitor's log or journal) and restart every count."""
        self.view.clear()
        self.pending.clear()
        self.received = self.filtered = self.trimmed = 0
        self.front_removed = self.appended = 0
        self.start = self.position
        self.generation += 1
        self.clears += 1  # a refilter computed before this clear must not bring rows back

    def snapshot_items(self) -> tuple[Sequence[SourceRow], int]:
        """The rows received since the last clear, and the log position after the last."""
        rows, end = self.source.rows_since(self.start)
        keep = len(rows) - max(0, end - self.position)  # not those the view has yet to receive
        return rows[:keep], min(end, self.position)

    def refilter_input(self) -> tuple[Sequence[SourceRow], int, int]:
        """What a worker needs to refilter off the UI thread: rows, their end, clears. From
        now until the result is applied, the store remembers the rows it receives."""
        rows, end = self.source.rows_since(self.start)
        self._recent = []
        return rows, end, self.clears

    @staticmethod
    def compute_refilter(
        rows: Sequence[SourceRow],
        predicate: FeedPredicate,
        upto_seq: int,
        marker_rows: MarkerRows = _as_items,
    ) -> RefilterResult:
        """Apply `predicate` to `rows` (the log's rows before position `upto_seq`): safe to
        run on a worker thread (it reads only its input)."""
        matched: list[tuple[int, Row]] = []
        failing = 0
        matches = predicate.matches
        position = upto_seq - len(rows)
        for row in rows:
            if type(row) is FlagEvent:
                if matches(row):
                    matched.append((position, row))
                else:
                    failing += 1
            else:
                matched.extend((position, item) for item in marker_rows(row))
            position += 1
        return RefilterResult(predicate, matched, failing, upto_seq, rows)

    def refilter(self, predicate: FeedPredicate) -> None:
        """Synchronous refilter (small views, tests)."""
        rows, upto, clears = self.refilter_input()
        result = self.compute_refilter(rows, predicate, upto, self.marker_rows)
        result.clears = clears
        self.apply_refilter(result)

    def apply_refilter(self, result: RefilterResult) -> None:
        recent, self._recent = self._recent or [], None
        if result.clears not in (-1, self.clears):
            # Read before a clear: redo it over what is here now (few rows).
            rows, upto = self.source.rows_since(self.start)
            result = self.compute_refilter(rows, result.predicate, upto, self.marker_rows)
            recent = []
        self.predicate = result.predicate
        # The log may be ahead of the view (rows still on their way through the drain): those
        # are left out here and arrive as usual, so no row is counted twice.
        cut = min(result.upto_seq, self.position)
        matched = [row for position, row in result.matched if position < cut]
        failing = result.failing
        if cut < result.upto_seq:
            ahead = result.rows[len(result.rows) - (result.upto_seq - cut) :]
            failing -= sum(
                1 for row in ahead if type(row) is FlagEvent and not result.predicate.matches(row)
            )
        # Rows received since the log was read: filter them here (there are few).
        for position, rows in recent:
            if position < cut:
                continue
            for row in rows:
                if type(row) is FlagEvent and not result.predicate.matches(row):
                    failing += 1
                else:
                    matched.append(row)
        self.view = deque(matched[-self.view_size :], maxlen=self.view_size)
        self.pending.clear()
        self.filtered = failing
        # Events no longer in the log (evicted) or cut from the view count as trimmed.
        self.trimmed = self.received - self.filtered - self.shown
        self.front_removed = self.appended = 0
        self.generation += 1
