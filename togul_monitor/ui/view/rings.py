"""Watched-flag notifications: only real changes, named, and one per flag per few seconds.

A watched flag rings (bell and toast) when its value for the profile's context really changes:
`before ≠ after` as values, or the flag appeared or went away. A change of reason or enabled
state alone ("false → false") is in the feed and the history, and rings nothing. Each toast
names the profile and the environment, so a toast still on screen after a profile switch says
whose change it was.

A flag that flaps must not pile toasts up: the first change rings at once and opens a window of
`window` seconds; changes inside it are counted, and when it ends with some, one toast says how
many ("3 changes in 5s, now true") and a new window opens. A profile with several named contexts
gets one transition per context that an event changed: the toast names the context, and the
same event's change in another context is not counted as another change. Textual-free: the
painter asks `due()` every tick and shows what it returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import msgspec

from togul_monitor.domain.values import DEFAULT_CONTEXT, Evaluation, ValueTransition, same_json
from togul_monitor.support.text import safe_text
from togul_monitor.ui.view.change import value_text

RING_SECONDS = 5.0
TITLE = "watched flag changed"


def real_change(transition: ValueTransition) -> bool:
    """The value itself changed (as JSON, so `true` and `1` differ), or the flag came or
    went: not a change of reason or enabled state alone."""
    before, after = transition.before, transition.after
    if before is None or after is None:
        return before is not after
    return not same_json(before.value, after.value)


def side(evaluation: Evaluation | None, absent: str, limit: int = 40) -> str:
    """One side of a change for a toast: `absent` when there is none (`∅`, `deleted`)."""
    text = value_text(evaluation) if evaluation is not None else absent
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Ring(msgspec.Struct, frozen=True):
    """One toast (and one bell) to show now."""

    flag_key: str
    message: str
    changes: int


class _Window(msgspec.Struct):
    ends: float
    changes: int = 0
    last: ValueTransition | None = None
    event_id: str | None = None  # the event that opened it (its other contexts ring nothing)


class WatchRings(msgspec.Struct):
    where: str = ""  # `profile / environment`, named in every toast
    window: float = RING_SECONDS
    clock: Callable[[], float] = time.monotonic
    _open: dict[str, _Window] = msgspec.field(default_factory=dict)
    _ready: list[Ring] = msgspec.field(default_factory=list)

    def reset(self, where: str) -> None:
        """Another profile: nothing of the last one rings later."""
        self.where = where
        self._open.clear()
        self._ready.clear()

    def add(self, transition: ValueTransition) -> None:
        """A transition of a watched flag (in arrival order)."""
        if not real_change(transition):
            return
        key, now = transition.flag_key, self.clock()
        window = self._open.get(key)
        if window is None or window.ends <= now and not window.changes:
            self._open[key] = _Window(now + self.window, event_id=transition.event_id)
            before, after = side(transition.before, "∅"), side(transition.after, "deleted")
            context = transition.context
            named = f" ({safe_text(context)})" if context != DEFAULT_CONTEXT else ""
            self._ready.append(Ring(key, self._say(key, f"{before} → {after}{named}"), 1))
            return
        last = window.last.event_id if window.last is not None else None
        if transition.event_id is not None and transition.event_id in (window.event_id, last):
            return  # the same change, in another context
        window.changes += 1
        window.last = transition

    def due(self) -> list[Ring]:
        """What to show now: first changes, and the count of a window that ended."""
        now = self.clock()
        for key, window in list(self._open.items()):
            if window.ends > now:
                continue
            if not window.changes:
                del self._open[key]
                continue
            n = window.changes
            after = side(window.last.after, "deleted") if window.last is not None else "?"
            text = f"{n} more change{'s' if n > 1 else ''} in {self.window:g}s, now {after}"
            self._ready.append(Ring(key, self._say(key, text), n))
            self._open[key] = _Window(now + self.window)
        ready, self._ready = self._ready, []
        return ready

    def _say(self, flag_key: str, what: str) -> str:
        where = f"{safe_text(self.where)} · " if self.where else ""
        return f"{where}{safe_text(flag_key)}: {what}"
