"""Which event a journalled value change belongs to: the one rule the journal's readers share
(store/recorded.py, for the rows a monitor opens on; store/export_window.py, for `export`;
domain/history.py `merge_tied`, for `history` and the history pane's `enter`).

Live, the monitor knows each change's event (ui/view/answers.py). The journal keeps a change with
its event's id, or with none (the documented stream sends no ids), so the tie is made again from
what a change keeps, its flag, the id and when it was computed:

- only an event of the change's environment explains it: the values are that environment's,
  and a token's stream carries every environment, whose ids and versions repeat from one
  environment to the next. The change's is the one it recorded (`environment_key`: a profile
  edited from `staging` to `production` keeps its journal, and a staging change is not a
  production event's), when the journal recorded it and names the event's environment
  (`environment_names`); else the profile's (a change journalled before the journal recorded
  its environment). While neither is known, any event does;
- with an id, the change's flag's newest event of that id received by the time the change was
  computed (a restarted server numbers its events from 1 again: an earlier event of the id is
  an earlier life's), allowing `CLOCKS_APART` for a journal another recorder stamped the event in;
- without, the flag's event without an id received last at or before the change, if the change
  came soon enough after it to be its answer (`close_enough`); none otherwise: the change was
  found by a re-evaluation of its own (after an outage, `r`, a start).

`ChangeOwners` holds the events to tie to, in the order they were received: all of them (a
start's preloaded events), or as they come, at most about `per_flag` of each flag (an export
streams the journal, and asks for a change with an id once it has read the events received up
to `CLOCKS_APART` after it: store/export_window.py `_Ahead`).
`owned_span` says the same rule the other way round, for one event with an id: when its changes
were computed (the monitor's look-up of an event's changes in memory and in the journal, which
keep them by id and flag, core/queries.py).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping

from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import ValueTransition

# An answer that comes later than this after an event is not taken for that event's answer
# (without ids): evaluations answer within a second, a failed one is retried every 5 s.
TIE_WITHIN = 60.0
# A change the stream may not have shown in full (`includes_unseen`) is found by the
# re-evaluation after an outage, an unusable event or a start: tied to an event only when its
# answer came with that event's (just after it), never to one from before the outage or the stop.
UNSEEN_TIE_WITHIN = 10.0  # a failed evaluation is retried after 5 s
# How far two recorders' clocks may be apart for a change of one to explain an event of the
# other (a shared journal keeps each event as the recorder that wrote it first stamped it).
CLOCKS_APART = 5.0


class ChangeOwners:
    """The events value changes may belong to, by flag and environment (see the module's
    docstring). `environment_id`: the profile's (None: not known); `per_flag`: keep at least
    that many of each flag's latest events in each environment, and at most twice as many
    (None: all); `environment_names`: environment id → key, to find a change's own."""

    def __init__(
        self,
        environment_id: str | None = None,
        per_flag: int | None = None,
        environment_names: Mapping[str, str] | None = None,
    ) -> None:
        self._environment_id = environment_id
        self._per_flag = per_flag
        self._names = environment_names or {}
        # (Flag, environment) → its events and their receive times (for `bisect`), in the
        # order received; flag → its environments, in the order first seen.
        self._events: dict[tuple[str, str], list[FlagEvent]] = {}
        self._times: dict[tuple[str, str], list[float]] = {}
        self._environments: dict[str, list[str]] = {}
        # (Flag, environment, id) held: a miss costs no scan.
        self._ids: Counter[tuple[str, str, str]] = Counter()

    def add(self, event: FlagEvent) -> None:
        """`event`, received after those added before it."""
        where = event.flag_key, event.environment_id
        events = self._events.get(where)
        if events is None:
            events = self._events[where] = []
            self._environments.setdefault(event.flag_key, []).append(event.environment_id)
        times = self._times.setdefault(where, [])
        events.append(event)
        times.append(event.received_at)
        if event.event_id is not None:
            self._ids[(*where, event.event_id)] += 1
        if self._per_flag is not None and len(events) > 2 * self._per_flag:
            cut = len(events) - self._per_flag
            for old in events[:cut]:
                if old.event_id is not None:
                    self._forget_id((*where, old.event_id))
            del events[:cut], times[:cut]

    def owner(self, transition: ValueTransition) -> FlagEvent | None:
        """The event `transition` changed the value for, among those added; None if none."""
        key = transition.flag_key
        found: FlagEvent | None = None
        for environment in self._environments.get(key, ()):
            if self._may_own(environment, transition.environment_key):
                owner = self._owner_in((key, environment), transition)
                if owner is not None and (found is None or owner.received_at > found.received_at):
                    found = owner  # the newest, as if their events were one list
        return found

    def _may_own(self, environment_id: str, key: str | None) -> bool:
        """Whether an event of `environment_id` may explain a change of the environment `key`
        (None: not recorded): see the module's docstring."""
        if key is not None and (name := self._names.get(environment_id)) is not None:
            return name == key
        return self._environment_id in (None, environment_id)

    def _owner_in(self, where: tuple[str, str], transition: ValueTransition) -> FlagEvent | None:
        """`owner` among the events of one flag and environment."""
        events = self._events[where]
        if not events:
            return None
        times = self._times[where]
        event_id = transition.event_id
        if event_id is not None:
            if (*where, event_id) not in self._ids:
                return None
            for index in range(bisect_right(times, transition.at + CLOCKS_APART) - 1, -1, -1):
                if events[index].event_id == event_id:
                    return events[index]
            return None
        # Without an id, only an event the server sent without one: where events have ids, a
        # change without one was found by a re-evaluation of its own.
        for index in range(bisect_right(times, transition.at) - 1, -1, -1):
            event = events[index]
            if not close_enough(transition, event):
                return None  # nor is any earlier one
            if event.event_id is None:
                return event
        return None

    def _forget_id(self, held: tuple[str, str, str]) -> None:
        self._ids[held] -= 1
        if not self._ids[held]:
            del self._ids[held]


def owned_span(event: FlagEvent, later: Iterable[FlagEvent]) -> tuple[float, float | None]:
    """When a change naming `event`'s id and flag was computed if `event` owns it, by
    `ChangeOwners`' rule: from `CLOCKS_APART` before `event` was received (an earlier change is
    an earlier event's), until `CLOCKS_APART` before the next event of its id and flag was (that
    one's from then on: a restarted server numbered its events from 1 again). `later`: events
    received after `event`, in order, of the environments `ChangeOwners` would hold; the end
    is None while none of them has the id."""
    start = event.received_at - CLOCKS_APART
    for other in later:
        if other.event_id == event.event_id and other.flag_key == event.flag_key:
            return start, other.received_at - CLOCKS_APART
    return start, None


def close_enough(transition: ValueTransition, event: FlagEvent) -> bool:
    """Whether a change without an id came soon enough after `event` (received before it) to
    be its answer: `TIE_WITHIN`, or `UNSEEN_TIE_WITHIN` for one that may hold unseen changes."""
    within = UNSEEN_TIE_WITHIN if transition.includes_unseen else TIE_WITHIN
    return transition.at - event.received_at <= within
