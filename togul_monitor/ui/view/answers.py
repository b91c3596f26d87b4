"""What the feed says for an event that changed no value: the re-evaluation it asked for, and
its answer; and which event a value change belongs to when the server sends no event ids.

A change that moved the profile's value has a transition (before → after) and the row shows
it. Most rule edits move nothing for a given context, and a blank there reads as "not known
yet" forever. So each event of the profile's environment waits here for the answer to the
re-evaluation it caused: the flag's next value that is not stale (the monitor marks a value
stale when an event arrives and keeps it so until no newer request is pending,
`core/evaluation.py`). Then the row says what that answer was:

- `unchanged`: the value did not change for this context;
- `first`: the flag had no value yet, so there is nothing to compare with (its value now);
- `with-next`: a burst of the flag's events was evaluated once, and the value change (or the
  first value) is shown on the last of them (as the monitor ties it); the earlier ones say
  so even when the value did not move, since what they did alone was never evaluated;
- `deleted`: the flag went away before it had a value, on its flag.deleted event; an event
  that left the flag in place (its creation, an edit) answered by a deletion was evaluated with
  that next change, `with-next`, even when no later event of the flag has come yet.

Until then the row says "evaluating…", and "not evaluated" when nothing will answer: the
profile cannot evaluate (no API key, or rejected credentials), or no monitor runs any more (a
profile that could not be opened stopped it, `stop`). Once the monitor holds as many flags as it may
(the profile's `max_flags`), an event of a flag it does not hold is never evaluated: its row says
so (`unmonitored`) instead of waiting. Which flags it holds: those in the snapshot's values, and
those it published a value of. A flag it takes on publishes its stale value right after the
event's row and in the same commit (`core/intake.py`), so the verdict waits for the end of the
drained batch (`settle`).

Events are told apart by their id and flag, or by identity when the server sends none (the same
`FlagEvent` object is shared by the log and the view). A restarted server numbers its events
from 1 again, so one id may name two events of a flag: the later one takes the key and the
earlier one keeps its answers by identity (view/event_entries.py, the rule value changes are
kept by too: an old row must not go blank, nor say "received before this view", when the new
server reaches its id). Without ids a transition names no event either: it belongs to the last
event of the answer published just before it (`value` returns that event), which is what the
monitor does with ids. Nothing here touches a widget.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import msgspec

from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import DEFAULT_CONTEXT, Evaluation, FlagValue
from togul_monitor.ui.view.event_entries import EventEntries, event_key

WAITING_PER_FLAG = 1_000  # a flag whose evaluation keeps failing must not grow without bound


class Answer(msgspec.Struct, frozen=True):
    state: str  # "unchanged" | "first" | "with-next" | "deleted" | "unmonitored"
    value: Evaluation | None = None  # the value the answer gave


#: An event's answers: context → (its answer, the events answered with it in that context).
PerContext = dict[str, tuple[Answer, tuple[FlagEvent, ...]]]


class ValueAnswers:
    """What each of the profile's contexts answered for each event (see the module's docstring).

    A profile evaluates for one or more named contexts (`contexts`, in the profile's order), each
    publishing its own values: an event waits for every context's answer, and each context's
    verdict is its own (one may have changed while another is unchanged or still evaluating).
    """

    def __init__(self, limit: int = 10_000) -> None:
        self.evaluates = True  # the profile has what evaluate takes (core/plan.py)
        # Evaluate refused the credentials (nothing answers until retried), or no monitor runs.
        self.halted = False
        self.environment_id: str | None = None  # the profile's environment, once known
        self.environment_key = ""  # its key in the profile (profiles.toml), from the start
        self.contexts: tuple[str, ...] = (DEFAULT_CONTEXT,)  # the snapshot's, in order
        # (flag key, context) → events by id(), oldest first: asking whether a row waits is a
        # lookup, not a scan (every row on screen asks, every frame, and a flag under a burst
        # has up to WAITING_PER_FLAG events waiting).
        self._waiting: dict[tuple[str, str], dict[int, FlagEvent]] = {}
        # event key → (the event, its answer in each context that answered)
        self._answered: EventEntries[PerContext] = EventEntries(limit)
        self._known: set[tuple[str, str]] = set()  # (flag, context) that had a value before
        self._held: set[str] = set()  # flags the monitor published a value of
        # Set from the snapshot: the monitor's flag limit was reached (its values by flag key).
        self.limit_values: Mapping[str, FlagValue] | None = None
        self._unsure: list[FlagEvent] = []  # events that may be of a flag the monitor left out

    def reset(
        self,
        *,
        evaluates: bool,
        environment_id: str | None = None,
        environment_key: str = "",
        contexts: Sequence[str] = (DEFAULT_CONTEXT,),
    ) -> None:
        """A new monitor (another profile): nothing carries over."""
        self.evaluates, self.halted, self.environment_id = evaluates, False, environment_id
        self.environment_key = environment_key
        self.contexts = tuple(contexts) or (DEFAULT_CONTEXT,)
        self._waiting.clear()
        self._answered.clear()
        self._known.clear()
        self._held.clear()
        self.limit_values = None
        self._unsure.clear()

    def stop(self) -> None:
        """No monitor runs any more (a switch to a profile that could not be opened stopped it):
        the events still waiting will never be answered and say so, as when evaluate refuses
        the credentials; those answered keep their answers."""
        self.halted = True
        self._waiting.clear()
        self._unsure.clear()

    @property
    def own_environment(self) -> str:
        """The profile's environment as the filter takes it for a row of its own (a change
        found on re-evaluation, view/found.py): its id, or until that is known its key in the
        profile, which `env:` matches as it will match the id once the id's key is learnt."""
        return self.environment_id or self.environment_key

    @property
    def several(self) -> bool:
        """The profile evaluates for more than one context: texts name them."""
        return len(self.contexts) > 1

    def know(self, values: Iterable[FlagValue]) -> None:
        """Values the monitor had before any answer reached the view: the journal's, stale
        until re-evaluated. An answer of this run reaches the view through `value`, in order
        with its event; the snapshot this comes from is read after a drain and may already
        hold an answer not drained yet, which must not make a new flag's first value read as
        "unchanged"."""
        known = self._known
        known.update(
            (v.flag_key, v.context)
            for v in values
            if v.stale and (v.current is not None or v.deleted)
        )

    def forget(self, keys: Iterable[str], context: str) -> None:
        """Flags the monitor forgot in `context` (deleted past its bound,
        core/deleted_flags.py): no longer held nor known, so one created again is a new flag
        (its first answer `first`), and one left out by the flag limit is `unmonitored`."""
        for key in keys:
            self._known.discard((key, context))
            self._held.discard(key)

    def concerns(self, event: FlagEvent) -> bool:
        """Whether the profile's values are evaluated for `event` (its environment)."""
        env = self.environment_id
        return env is None or event.environment_id == env

    def event(self, event: FlagEvent) -> None:
        """An event arrived (in log order): it waits for its flag's next answer in every
        context."""
        if not self.evaluates or not self.concerns(event):
            return
        held = self.limit_values
        if held is not None and event.flag_key not in self._held and event.flag_key not in held:
            self._unsure.append(event)
        for context in self.contexts:
            waiting = self._waiting.setdefault((event.flag_key, context), {})
            waiting[id(event)] = event
            if len(waiting) > WAITING_PER_FLAG:
                del waiting[next(iter(waiting))]

    def settle(self) -> bool:
        """The end of a drained batch: events of flags the monitor did not take on are answered
        `unmonitored` (nothing will answer them). True when some were."""
        unsure, self._unsure = self._unsure, []
        held = self.limit_values or {}
        settled = False
        for event in unsure:
            key = event.flag_key
            if key in self._held or key in held:
                continue
            for context in self.contexts:
                for left_out in self._waiting.pop((key, context), {}).values():
                    self._put(left_out, context, Answer("unmonitored"), ())
                    settled = True
        self._trim()
        return settled

    def _put(
        self, event: FlagEvent, context: str, answer: Answer, group: tuple[FlagEvent, ...]
    ) -> None:
        entry = self._answered.find(event)
        if entry is None:
            # A later event of its id (a restarted server's) takes the key: the earlier one
            # keeps its answers by identity, as its value changes are kept (event_entries.py).
            entry = {}
            self._answered.put(event, event_key(event), entry)
        entry[context] = (answer, group)

    def _trim(self) -> None:
        self._answered.trim()

    def value(self, value: FlagValue) -> FlagEvent | None:
        """A flag's value in one context as the monitor published it: an answer unless still
        stale. When it answered events (their rows change), the last of them."""
        context = value.context
        known = (value.flag_key, context) in self._known
        self._held.add(value.flag_key)
        if value.current is not None or value.deleted:
            self._known.add((value.flag_key, context))
        if value.stale or (value.current is None and not value.deleted):
            return None
        group = tuple(self._waiting.pop((value.flag_key, context), {}).values())
        if not group:
            return None
        last = group[-1]
        for event in group:
            if value.deleted and event is last and event.type == "flag.deleted":
                answer = Answer("deleted")
            elif value.deleted:
                # The flag existed after this event: a later change deleted it (one drained
                # after this answer, or later in the group) and answered it, so it never had
                # a value of its own to say, least of all `deleted` (the detail's values too).
                answer = Answer("with-next")
            elif event is not last:
                # Never evaluated on its own: the value may have moved and come back between
                # it and the last, so "unchanged" would claim what nobody saw.
                answer = Answer("with-next", value.current)
            else:
                answer = Answer("unchanged" if known else "first", value.current)
            self._put(event, context, answer, group)
        self._trim()
        return last

    def changed(self, key: object, context: str = DEFAULT_CONTEXT) -> None:
        """The event of `key` has a value change in `context`: the events answered with it there
        (earlier in the same burst) were evaluated together with it, not found unchanged."""
        found = self._answered.at(key)
        if found is None or context not in found[1]:
            return
        event, group = found[0], found[1][context][1]
        for other in group:
            if other is not event:
                entry = self._answered.find(other)
                if entry is not None and context in entry:
                    entry[context] = (Answer("with-next", entry[context][0].value), group)

    def recorded(self, merged: Iterable[tuple[FlagEvent, Sequence[str]]]) -> None:
        """Events of earlier runs the journal says were evaluated with their flag's next change,
        in those contexts (store/recorded.py, the rule of `history`): their rows say so, as
        they did live. The profile's contexts only (another's is on no row)."""
        for event, contexts in merged:
            for context in contexts:
                if context in self.contexts and self.answer(event, context) is None:
                    self._put(event, context, Answer("with-next"), ())
        self._trim()

    def with_next(self, event: FlagEvent) -> tuple[str, ...]:
        """The contexts `event` was evaluated with its flag's next change in (sorted, as
        `history` names them): what `e` writes and the history pane says."""
        found = self._answered.find(event)
        if found is None:
            return ()
        said = found.items()
        return tuple(sorted(name for name, (answer, _) in said if answer.state == "with-next"))

    def answer(self, event: FlagEvent, context: str | None = None) -> Answer | None:
        """What `context` (the first one when None) answered for `event`, if it has."""
        found = self._answered.find(event)
        if found is None:
            return None
        answered = found.get(self.contexts[0] if context is None else context)
        return answered[0] if answered is not None else None

    def answered(self, event: FlagEvent) -> bool:
        """Whether every context answered for `event` here (its value change, if it made one,
        came with the answer)."""
        found = self._answered.find(event)
        return found is not None and all(context in found for context in self.contexts)

    def waiting(self, event: FlagEvent, context: str | None = None) -> bool:
        """Whether `event` waits for an answer in `context` (in any context when None)."""
        contexts = self.contexts if context is None else (context,)
        waiting, ident = self._waiting, id(event)
        for name in contexts:
            found = waiting.get((event.flag_key, name))
            if found is not None and found.get(ident) is event:
                return True
        return False
