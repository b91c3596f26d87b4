"""The value transitions a monitor keeps in memory, of every context, by flag and by event.

All contexts share one memory: a flag's history shows each context's changes in order, and one
event may own several transitions (one per context it changed). Both views are bounded.

An event is found by its id and its flag: a server that restarts numbers its events from 1
again, so one id may name events of two flags in one run.
"""

from __future__ import annotations

from collections import OrderedDict, deque

from togul_monitor.domain.values import ValueTransition

MAX_TRANSITIONS_IN_MEMORY = 10_000


class TransitionMemory:
    def __init__(self, limit: int = MAX_TRANSITIONS_IN_MEMORY) -> None:
        self._limit = limit
        self.transitions: deque[ValueTransition] = deque(maxlen=limit)
        self._by_event: OrderedDict[tuple[str, str], list[ValueTransition]] = OrderedDict()
        #: Changes found with no event to explain them, in a time the stream may have missed
        #: changes (`includes_unseen`): core/stream_effects.py `contradicted`.
        self.unexplained = 0

    def add(self, transition: ValueTransition) -> None:
        self.transitions.append(transition)
        if transition.event_id is None:
            self.unexplained += transition.includes_unseen
            return
        key = (transition.event_id, transition.flag_key)
        owned = self._by_event.get(key)
        if owned is None:
            self._by_event[key] = [transition]
            if len(self._by_event) > self._limit:
                self._by_event.popitem(last=False)
        else:
            owned.append(transition)

    def of_flag(self, flag_key: str) -> list[ValueTransition]:
        return [t for t in self.transitions if t.flag_key == flag_key]

    def for_event(self, event_id: str, flag_key: str) -> list[ValueTransition]:
        """Every context's transition of the event, in the order they were recorded."""
        return list(self._by_event.get((event_id, flag_key), ()))
