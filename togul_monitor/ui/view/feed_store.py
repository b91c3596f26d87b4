"""The live feed's data, without Textual: what is shown, pending, trimmed and filtered.

Every event the view receives is accounted for, always:
`received == shown + pending + trimmed + filtered` (markers such as outages are rows but not
events, so they are not in the count). `pending` holds the rows that arrived while paused (the
"+N new" counter); `trimmed` counts matching events pushed out of the bounded view.

The store keeps the last `keep` items since the last clear so that a new filter can be applied to
what was already received without asking the monitor; refiltering a large store is done off the
UI thread with `compute_refilter` and applied with `apply_refilter`.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

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


def row_event(row: Row) -> FlagEvent | None:
    return row if type(row) is FlagEvent else None


def row_marker(row: Row) -> str | None:
    return row.marker if type(row) is FeedItem else None


@dataclass
class RefilterResult:
    predicate: FeedPredicate
    matched: list[Row]
    failing: int
    upto_seq: int  # the store's `last_seq` when the rows were taken
    clears: int = -1  # the store's `clears` then (-1: unknown, trust the rows)


@dataclass
class FeedStore:
    view_size: int = 5_000
    keep: int = 100_000
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

    def __post_init__(self) -> None:
        self.view_size = min(self.view_size, self.keep)
        self.items: deque[Row] = deque(maxlen=self.keep)
        self.view: deque[Row] = deque(maxlen=self.view_size)
        self.pending: deque[Row] = deque(maxlen=self.view_size)
        self.transitions: OrderedDict[str, ValueTransition] = OrderedDict()
        # Rows ever added (never reset): the sequence number of the newest row, so a refilter
        # computed elsewhere knows which rows arrived after it started.
        self.last_seq = 0

    # -- counters -------------------------------------------------------------------------
    @property
    def shown(self) -> int:
        return sum(1 for row in self.view if type(row) is FlagEvent)

    @property
    def pending_events(self) -> int:
        return sum(1 for row in self.pending if type(row) is FlagEvent)

    # -- feeding ---------------------------------------------------------------------------
    def add_event(self, event: FlagEvent) -> None:
        self._add(event)

    def add_marker(self, kind: str, text: str, received_at: float, source: object = None) -> None:
        self._add(FeedItem(received_at, kind, text, source))

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

    def _add(self, row: Row) -> None:
        self.last_seq += 1
        self.items.append(row)
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
        self.items.clear()
        self.view.clear()
        self.pending.clear()
        self.received = self.filtered = self.trimmed = 0
        self.front_removed = self.appended = 0
        self.generation += 1
        self.clears += 1  # a refilter computed before this clear must not bring rows back

    def snapshot_items(self) -> tuple[list[Row], int]:
        """The rows kept since the last clear, and the sequence number of the newest."""
        return list(self.items), self.last_seq

    def refilter_input(self) -> tuple[list[Row], int, int]:
        """What a worker needs to refilter off the UI thread: rows, last_seq, clears."""
        return list(self.items), self.last_seq, self.clears

    @staticmethod
    def compute_refilter(
        rows: Sequence[Row], predicate: FeedPredicate, upto_seq: int
    ) -> RefilterResult:
        """Apply `predicate` to `rows`: safe to run on a worker thread (reads only its input)."""
        matched: list[Row] = []
        failing = 0
        matches = predicate.matches
        for row in rows:
            if type(row) is not FlagEvent or matches(row):
                matched.append(row)
            else:
                failing += 1
        return RefilterResult(predicate, matched, failing, upto_seq)

    def refilter(self, predicate: FeedPredicate) -> None:
        """Synchronous refilter (small stores, tests)."""
        rows, upto = self.snapshot_items()
        self.apply_refilter(self.compute_refilter(rows, predicate, upto))

    def apply_refilter(self, result: RefilterResult) -> None:
        if result.clears not in (-1, self.clears):
            # Computed over rows cleared since: redo it over what is here now (few rows).
            result = self.compute_refilter(list(self.items), result.predicate, self.last_seq)
        self.predicate = result.predicate
        matched = result.matched
        failing = result.failing
        # Rows that arrived while the worker ran: filter them here (there are few).
        extra = min(self.last_seq - result.upto_seq, len(self.items))
        if extra > 0:
            tail = self.compute_refilter(list(self.items)[-extra:], result.predicate, 0)
            matched = matched + tail.matched
            failing += tail.failing
        self.view = deque(matched[-self.view_size :], maxlen=self.view_size)
        self.pending.clear()
        self.filtered = failing
        # Events no longer in the store (evicted) or cut from the view count as trimmed.
        self.trimmed = self.received - self.filtered - self.shown
        self.front_removed = self.appended = 0
        self.generation += 1
