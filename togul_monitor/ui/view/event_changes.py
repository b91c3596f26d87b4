"""The value changes the view keeps by the event they belong to: a feed row's before → after,
its detail's, and what `e` writes after the event (ui/export.py).

A change names its event by id (`ValueTransition.event_id`); an id and a flag name an event
(answers.event_key), until a restarted server numbers its events from 1 again and one id names
two events of the flag. So the view also remembers which event object owns the changes of a key
(the one the answer answered, view/batch.py, or the journal's event for a recorded change): an
earlier event of the id keeps its own changes, by identity, and neither row shows the other's,
as the journal's readers tie a change to its own event (domain/change_owners.py). Without
ids a change names no event, and the owner is all there is. Nothing here touches a widget.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import ValueTransition
from togul_monitor.ui.view.answers import ValueAnswers, event_key
from togul_monitor.ui.view.contexts import in_context_order


class EventChanges:
    """Value changes by event key, one per context the event changed, at most `limit` events'."""

    def __init__(self, answers: ValueAnswers, limit: int) -> None:
        self.answers = answers  # the profile's contexts and environment; told of each change
        self.limit = limit
        self._by_key: OrderedDict[object, tuple[ValueTransition, ...]] = OrderedDict()
        self._owners: dict[object, FlagEvent] = {}

    def clear(self) -> None:
        self._by_key.clear()
        self._owners.clear()

    def add(self, transition: ValueTransition, event: FlagEvent | None) -> None:
        """A value change of the event `transition.event_id` names, or of `event` (the one its
        answer answered) when it names none. A later change of the same context replaces it."""
        if transition.event_id is not None:
            key: object = (transition.event_id, transition.flag_key)  # as answers.event_key
            if event is not None and event_key(event) == key:
                self._own(key, event)
        else:
            assert event is not None, "a change of no event is a row of its own (view/found.py)"
            key = event_key(event)
            self._own(key, event)
        kept = self._by_key.get(key, ())
        context = transition.context
        self._by_key[key] = (*(t for t in kept if t.context != context), transition)
        self.answers.changed(key, context)
        if len(self._by_key) > self.limit:
            old, _ = self._by_key.popitem(last=False)
            self._owners.pop(old, None)

    def _own(self, key: object, event: FlagEvent) -> None:
        """`event` owns the changes kept under `key` from now on. When its id came before with
        another event, that one keeps its changes, by identity; without an id, the key was
        another object's at a reused address, and its changes are gone with it."""
        previous = self._owners.get(key)
        if previous is event:
            return
        self._owners[key] = event
        if previous is None:
            return  # changes kept before the owner was known are the newest event's
        kept = self._by_key.pop(key, ())
        if kept and previous.event_id is not None:
            self._by_key[id(previous)] = kept
            self._owners[id(previous)] = previous

    def for_event(self, event: FlagEvent) -> tuple[ValueTransition, ...]:
        """The event's value changes, one per context that changed, in the profile's order."""
        if not self.answers.concerns(event):
            return ()  # another environment's event: the profile's values are not its
        key = event_key(event)
        owner = self._owners.get(key)
        if owner is not None and owner is not event:
            key = id(event)  # a later event took its id, or another object its address
            if self._owners.get(key) is not event:
                return ()
        found = self._by_key.get(key, ())
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
        copy._by_key, copy._owners = OrderedDict(self._by_key), dict(self._owners)
        return copy

    def held(self) -> Iterator[ValueTransition]:
        """Every change held, oldest event first."""
        for kept in self._by_key.values():
            yield from kept

    def __len__(self) -> int:
        """How many events' changes are kept."""
        return len(self._by_key)
