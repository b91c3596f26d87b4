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

import itertools
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from togul_monitor.model.flag_values import ValueTransition
from togul_monitor.protocol import EVENT_TYPES
from togul_monitor.stream.events import FlagEvent


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

    @property
    def is_everything(self) -> bool:
        return self.text_filter is None and not self.hidden_types

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
    """One row of the feed: an event, or a marker (outage, malformed data, possible gap)."""

    seq: int
    received_at: float
    event: FlagEvent | None = None
    marker: str | None = None  # "outage" | "malformed" | "gap" | "info"
    text: str = ""  # marker text, already safe to print
    source: object = None  # the stream item behind a marker, for the detail screen


@dataclass
class RefilterResult:
    predicate: FeedPredicate
    matched: list[FeedItem]
    failing: int
    upto_seq: int


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

    def __post_init__(self) -> None:
        self.view_size = min(self.view_size, self.keep)
        self.items: deque[FeedItem] = deque(maxlen=self.keep)
        self.view: deque[FeedItem] = deque(maxlen=self.view_size)
        self.pending: deque[FeedItem] = deque(maxlen=self.view_size)
        self.transitions: OrderedDict[str, ValueTransition] = OrderedDict()
        self._seq = itertools.count(1)
        self.last_seq = 0

    # -- counters -------------------------------------------------------------------------
    @property
    def shown(self) -> int:
        return sum(1 for item in self.view if item.event is not None)

    @property
    def pending_events(self) -> int:
        return sum(1 for item in self.pending if item.event is not None)

    # -- feeding ---------------------------------------------------------------------------
    def add_event(self, event: FlagEvent) -> None:
        self._add(FeedItem(next(self._seq), event.received_at, event=event))

    def add_marker(self, kind: str, text: str, received_at: float, source: object = None) -> None:
        self._add(FeedItem(next(self._seq), received_at, marker=kind, text=text, source=source))

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

    def _add(self, item: FeedItem) -> None:
        self.last_seq = item.seq
        self.items.append(item)
        if item.event is not None:
            self.received += 1
            if not self.predicate.matches(item.event):
                self.filtered += 1
                return
        if self.paused:
            if len(self.pending) == self.pending.maxlen and self.pending[0].event is not None:
                self.trimmed += 1
            self.pending.append(item)
        else:
            self._push(item)

    def _push(self, item: FeedItem) -> None:
        if len(self.view) == self.view.maxlen:
            if self.view[0].event is not None:
                self.trimmed += 1
            self.front_removed += 1
        self.view.append(item)
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

    def snapshot_items(self) -> list[FeedItem]:
        return list(self.items)

    @staticmethod
    def compute_refilter(items: Sequence[FeedItem], predicate: FeedPredicate) -> RefilterResult:
        """Apply `predicate` to `items`: safe to run on a worker thread (reads only its input)."""
        matched: list[FeedItem] = []
        failing = 0
        matches = predicate.matches
        for item in items:
            if item.event is None or matches(item.event):
                matched.append(item)
            else:
                failing += 1
        upto = items[-1].seq if items else 0
        return RefilterResult(predicate, matched, failing, upto)

    def refilter(self, predicate: FeedPredicate) -> None:
        """Synchronous refilter (small stores, tests)."""
        self.apply_refilter(self.compute_refilter(self.snapshot_items(), predicate))

    def apply_refilter(self, result: RefilterResult) -> None:
        self.predicate = result.predicate
        matched = result.matched
        failing = result.failing
        # Items that arrived while the worker ran: filter them here (there are few).
        if self.items and self.items[-1].seq > result.upto_seq:
            extra = [item for item in self.items if item.seq > result.upto_seq]
            tail = self.compute_refilter(extra, result.predicate)
            matched = matched + tail.matched
            failing += tail.failing
        self.view = deque(matched[-self.view_size :], maxlen=self.view_size)
        self.pending.clear()
        self.filtered = failing
        # Events no longer in the store (evicted) or cut from the view count as trimmed.
        self.trimmed = self.received - self.filtered - self.shown
        self.front_removed = self.appended = 0
        self.generation += 1

    def events_matching(self) -> Iterable[FlagEvent]:
        """The events the filter in force shows (for export), oldest first."""
        matches = self.predicate.matches
        return [i.event for i in list(self.items) if i.event is not None and matches(i.event)]
