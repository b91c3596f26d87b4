"""The value changes the view keeps by the event they belong to: a feed row's before → after,
its detail's, and what `e` writes after the event (ui/export.py).

A change names its event by id (`ValueTransition.event_id`); an id and a flag name an event
(event_entries.event_key), until a restarted server numbers its events from 1 again and one id
names two events of the flag. So each event's changes are kept with the event object they are
of (the one the answer answered, view/batch.py, or the journal's event for a recorded change),
by the rule view/answers.py keeps answers by (view/event_entries.py): an earlier event of the id
keeps its own changes, by identity, and neither row shows the other's, as the journal's readers
tie a change to its own event (domain/change_owners.py). A change whose event is not known
(its id names it, no answer did) is the newest event's of the id. Without ids a change names no
event, and the event its answer answered is all there is. Nothing here touches a widget.
"""

from __future__ import annotations

from collections.abc import Iterator

from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import ValueTransition
from togul_monitor.ui.view.answers import ValueAnswers
from togul_monitor.ui.view.contexts import in_context_order
from togul_monitor.ui.view.event_entries import EventEntries, event_key

Changes = tuple[ValueTransition, ...]


class EventChanges:
    """Value changes by event key, one per context the event changed, at most `limit` events'."""

    def __init__(self, answers: ValueAnswers, limit: int) -> None:
        self.answers = answers  # the profile's contexts and environment; told of each change
        self._by_event: EventEntries[Changes] = EventEntries(limit)

    @property
    def limit(self) -> int:
        return self._by_event.limit

    def clear(self) -> None:
        self._by_event.clear()

    def add(self, transition: ValueTransition, event: FlagEvent | None) -> None:
        """A value change of `event` (the one its answer answered), or, with no such event of
        the id `transition.event_id` names, of that id's newest event. A later change of the
        same context replaces it."""
        by_event, owner = self._by_event, event
        if transition.event_id is not None:
            key: object = (transition.event_id, transition.flag_key)  # as event_key
            if event is not None and event_key(event) != key:
                owner = None  # another event's answer: the change is the id's newest event's
        else:
            assert event is not None, "a change of no event is a row of its own (view/found.py)"
            key = event_key(event)
        if owner is not None:
            # Its own, or those of its id kept before an answer named the event (another
            # context's change): `put` makes those this event's too.
            kept = by_event.find_or_unclaimed(owner) or ()
        else:
            at = by_event.at(key)
            kept = at[1] if at is not None else ()
        context = transition.context
        by_event.put(owner, key, (*(t for t in kept if t.context != context), transition))
        self.answers.changed(key, context)
        by_event.trim()

    def for_event(self, event: FlagEvent) -> Changes:
        """The event's value changes, one per context that changed, in the profile's order."""
        if not self.answers.concerns(event):
            return ()  # another environment's event: the profile's values are not its
        # Its own, or its id's whose event is not known (the newest event's); never another's.
        found = self._by_event.find_or_unclaimed(event)
        if found is None:
            return ()
        if len(found) > 1:
            found = in_context_order(found, self.answers.contexts)
        return found

    def copy(self) -> EventChanges:
        """The changes held now, for a worker thread (an export) while the UI thread goes on
        adding to them; the profile's contexts and environment as they are now."""
        answers = ValueAnswers(1)
        answers.contexts, answers.environment_id = (
            self.answers.contexts,
            self.answers.environment_id,
        )
        copy = EventChanges(answers, self.limit)
        copy._by_event = self._by_event.copy()  # its values are tuples: nobody changes them
        return copy

    def held(self) -> Iterator[ValueTransition]:
        """Every change held, oldest event first."""
        for kept in self._by_event.values():
            yield from kept

    def __len__(self) -> int:
        """How many events' changes are kept."""
        return len(self._by_event)
