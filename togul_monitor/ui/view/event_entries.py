"""What the view keeps per feed row, by the event it belongs to: the rule view/answers.py keeps
answers by, view/event_changes.py value changes by and view/config_diffs.py configuration diffs.

An event is told apart by its id and flag, or by identity when the server sends no id (the
same `FlagEvent` object is shared by the log and the view). A restarted server numbers its
events from 1 again, so one id may name two events of a flag: the later one takes the key and
the earlier one keeps what it had under its identity, each entry holding the event it is of.
So an event finds its own entry whatever happened to the other one's since (a later change,
or the oldest entries trimmed), and never takes another event's. Nothing here touches a widget.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Generic, TypeVar

from togul_monitor.domain.events import FlagEvent

T = TypeVar("T")


def event_key(event: FlagEvent) -> object:
    """How a row is told apart: its id and flag (a restarted server numbers its events from 1
    again), or the object itself when the server sent no id."""
    return (event.event_id, event.flag_key) if event.event_id is not None else id(event)


class EventEntries(Generic[T]):
    """Entries by event key, each with the event it is of (None: of the key's newest event, not
    known yet), oldest first; at most `limit` after `trim`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held: OrderedDict[object, tuple[FlagEvent | None, T]] = OrderedDict()
        self._reused = False  # some event keeps its entry by identity: its id was reused

    def clear(self) -> None:
        self._held.clear()
        self._reused = False

    def find(self, event: FlagEvent) -> T | None:
        """`event`'s own entry: under its key, or, once a later event of its id took the key,
        under its identity. A lookup, two when an id was reused: every row on screen asks,
        every frame."""
        held = self._held
        found = held.get(event_key(event))
        if found is not None and found[0] is event:
            return found[1]
        if not self._reused or event.event_id is None:
            return None
        # Its key may be another event's, or gone (trimmed) while its own entry is not.
        own = held.get(id(event))
        return own[1] if own is not None and own[0] is event else None

    def find_or_unclaimed(self, event: FlagEvent) -> T | None:
        """`event`'s own entry (`find`), else that of its id kept for the id's newest event
        while not known which (`put` with no event): taken as this one's."""
        found = self.find(event)
        if found is not None or event.event_id is None:
            return found
        at = self._held.get(event_key(event))
        return at[1] if at is not None and at[0] is None else None

    def at(self, key: object) -> tuple[FlagEvent | None, T] | None:
        """The entry under `key` and the event it is of, whichever that is."""
        return self._held.get(key)

    def put(self, event: FlagEvent | None, key: object, value: T) -> None:
        """`value` is `event`'s entry from now on (`key` is its key), or with no event the
        entry of `key`'s newest event, whichever holds the key. An earlier event of the id
        keeps its entry by identity; without an id, the key was another object's at a reused
        address, and its entry goes."""
        held = self._held
        found = held.get(key)
        if event is None:
            held[key] = (found[0] if found is not None else None, value)
            return
        if found is not None and found[0] is event:
            held[key] = (event, value)
            return
        if self._reused and event.event_id is not None:
            own = held.get(id(event))
            if own is not None and own[0] is event:
                held[id(event)] = (event, value)
                return
        if found is not None and found[0] is not None:
            del held[key]  # another event's: the newest entry now is `event`'s
            if found[0].event_id is not None:
                held[id(found[0])] = found
                self._reused = True
        held[key] = (event, value)  # an entry of no known event so far was this one's

    def trim(self) -> None:
        held = self._held
        while len(held) > self.limit:
            held.popitem(last=False)

    def copy(self) -> EventEntries[T]:
        """The entries held now (their values shared: a copy for another thread holds values
        nobody changes in place)."""
        copy: EventEntries[T] = EventEntries(self.limit)
        copy._held, copy._reused = OrderedDict(self._held), self._reused
        return copy

    def values(self) -> Iterator[T]:
        """Every entry's value, oldest first."""
        for _, value in self._held.values():
            yield value

    def __len__(self) -> int:
        return len(self._held)
