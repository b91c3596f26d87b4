"""Which events and value transitions `tail` prints (cli/tail.py): `--environment` on an
organisation-wide stream, `--filter`, the transitions that follow the events printed, and
`--context` (only the transitions of the named contexts)."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING

from togul_monitor.cli.render import TailPrinter
from togul_monitor.domain.events import FlagEvent, environment_of
from togul_monitor.domain.values import FlagValue, ValueTransition
from togul_monitor.support.text import safe_text

if TYPE_CHECKING:  # the filter language (RE2) is imported only when --filter is given
    from togul_monitor.domain.filters import Filter

MAX_FLAGS_FOLLOWED = 100_000  # flags whose last event's fate TailScope remembers


def named(*sources: Mapping[str, str]) -> dict[str, str]:
    """Environment id -> key from `sources` (later ones win), leaving out empty keys: an ad-hoc
    `--url` target without `--environment` has none, and its events show the id instead."""
    names: dict[str, str] = {}
    for source in sources:
        names.update((env_id, key) for env_id, key in source.items() if key)
    return names


class TailScope:
    """Which events and transitions a tail prints.

    - `--environment KEY` narrows an organisation-wide stream (a Bearer token's) to the events
      of that environment: the monitor's id for it, else its names (id → key). When neither
      knows KEY, nothing can be told apart: every event is printed, and stderr says so once.
      (An API key's stream carries its environment only: nothing to narrow, and an event of
      another environment there is printed, with that environment.)
    - `--filter` keeps the events it matches.
    - A transition is printed when the last event of its flag in the profile's environment was
      (it is that event's effect); one found on re-evaluation, with no event of its flag seen,
      when the filter matches its flag (a `type:` term cannot, it has no event type).
    - `--context NAME` (repeatable) keeps the transitions of those contexts only; events are
      printed all the same (they are every context's).
    """

    def __init__(
        self,
        printer: TailPrinter,
        *,
        query: Filter | None,
        environment_key: str,
        known_names: Callable[[], Mapping[str, str]],
        environment_id: Callable[[], str | None],
        org_wide: bool = True,
        contexts: Collection[str] | None = None,
    ) -> None:
        self.printer = printer
        self.query = query
        # What to narrow to: an API key's stream carries its own environment only, so an event
        # of another one there is an anomaly to show, never to drop unsaid.
        self.environment_key = environment_key if org_wide else ""
        self._known_names = known_names
        self._ask_environment_id = environment_id
        self._environment_id: str | None = None  # the profile's, once the monitor knows it
        self._asked_at: float | None = None
        self.org_wide = org_wide  # the stream may carry other environments' events
        self.contexts = frozenset(contexts) if contexts else None  # None: every context's
        self._shown: dict[str, bool] = {}  # flag key → its last event was printed
        self._warned = False
        self.finished = False  # `--count` reached: what comes after is not printed

    def environment_id(self) -> str | None:
        """The profile's environment id: asked until known (it never changes after), at most
        once a second meanwhile (the monitor builds a snapshot to answer)."""
        if self._environment_id is None:
            now = time.monotonic()
            if self._asked_at is None or now - self._asked_at >= 1.0:
                self._asked_at = now
                self._environment_id = self._ask_environment_id()
        return self._environment_id

    def _learn(self, event: FlagEvent) -> dict[str, str]:
        # The monitor names an event's environment before the event reaches the tail (the
        # rule is the core's: an environment-scoped key's events are its profile's environment).
        names = self.printer.environment_names
        if event.environment_id not in names:
            names.update(named(self._known_names()))
        return names

    def _ours(self, event: FlagEvent, names: Mapping[str, str]) -> bool:
        """`event` is of the environment the tail is narrowed to (True when not narrowed)."""
        want = self.environment_key
        if not want:
            return True
        env_id = self.environment_id()
        if env_id is not None:
            return event.environment_id == env_id
        if want in names.values():
            return names.get(event.environment_id) == want
        if self.org_wide and not self._warned:
            self._warned = True
            self.printer.say(
                f"cannot tell the events of environment {safe_text(want)} apart (its id is "
                "not known): printing every environment's"
            )
        return True

    def event(self, event: FlagEvent) -> bool:
        """Whether to print `event`; remembers it for the transitions it causes. Called per
        event under a burst: the common case (the environment named already, no
        `--environment` or its id known) is a few dict operations, no further call."""
        names = self.printer.environment_names
        if event.environment_id not in names:
            names = self._learn(event)
        if not self.environment_key:
            ours = True
        elif self._environment_id is not None:
            ours = event.environment_id == self._environment_id
        else:
            ours = self._ours(event, names)
        if not ours:
            return False
        query = self.query
        shown_by_flag = self._shown
        if query is None and not shown_by_flag:
            # Nothing filtered and nothing skipped yet: every event is printed and every
            # effect follows (`follows` says so for a flag it has no entry for), so there is
            # nothing to remember.
            return True
        shown = query is None or query.matches(event, names)
        # `_remember`, inlined.
        flag_key = event.flag_key
        shown_by_flag.pop(flag_key, None)
        shown_by_flag[flag_key] = shown
        if len(shown_by_flag) > MAX_FLAGS_FOLLOWED:
            del shown_by_flag[next(iter(shown_by_flag))]
        return shown

    def would_print(self, event: FlagEvent) -> bool:
        """Whether `event` would be printed, remembering nothing (a stop counts what is left)."""
        names = self._learn(event)
        return self._ours(event, names) and (self.query is None or self.query.matches(event, names))

    def events(self, events: Sequence[FlagEvent]) -> Sequence[FlagEvent]:
        """`event` for a run of events (cli/tail_loop.py): those to print, in order. Under a
        burst the common case is decided for the whole run in C: no `--filter` and nothing
        skipped yet (nothing to remember), every environment named already, and no
        `--environment` or only events of its known id. Anything else, event by event."""
        if self.query is None and not self._shown:
            ids = set(map(environment_of, events))
            if ids <= self.printer.environment_names.keys():
                if not self.environment_key:
                    return events
                want = self._environment_id
                if want is not None and ids == {want}:
                    return events
        return [event for event in events if self.event(event)]

    def skipped(self, event: FlagEvent) -> None:
        """`event` arrived after `--count` was reached: its effect is not printed either."""
        if self._ours(event, self._learn(event)):
            self._remember(event.flag_key, False)

    def _remember(self, flag_key: str, shown: bool) -> None:
        shown_by_flag = self._shown
        shown_by_flag.pop(flag_key, None)  # re-inserted last: the oldest go first
        shown_by_flag[flag_key] = shown
        if len(shown_by_flag) > MAX_FLAGS_FOLLOWED:
            del shown_by_flag[next(iter(shown_by_flag))]

    def transition(self, transition: ValueTransition) -> bool:
        return self._value(transition.flag_key, transition.context, transition.event_id)

    def first_value(self, value: FlagValue) -> bool:
        """A flag's first value, which an event of it asked for: as a transition is."""
        return self._value(value.flag_key, value.context, value.trigger_event_id)

    def _value(self, flag_key: str, context: str, event_id: str | None) -> bool:
        """A value line of `context` (`--context`), the effect of `flag_key`'s last event."""
        if self.contexts is not None and context not in self.contexts:
            return False
        return self.follows(flag_key, event_id)

    def follows(self, flag_key: str, event_id: str | None) -> bool:
        """Whether to print an effect of the last event of `flag_key` (a value transition, a
        configuration diff)."""
        shown = self._shown.get(flag_key)
        if shown is not None:
            return shown
        if self.query is None:
            return True
        # No event of the flag seen: match the filter on what the effect says.
        env_id = self.environment_id() or ""
        probe = FlagEvent("", flag_key, env_id, 0, 0, event_id, 0)
        return self.query.matches(probe, self.printer.environment_names)
