"""The feed's filter in force: the text filter (domain/filters.py) and the event types hidden
with `1`–`6`; also what the monitor is handed to filter its event log."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from togul_monitor.domain.event_log import EventFilter
from togul_monitor.domain.events import FlagEvent
from togul_monitor.protocol import EVENT_TYPES


class FeedPredicate(msgspec.Struct, frozen=True):
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
