"""What the view keeps of the configuration diffs the monitor drains (`ConfigChanged`).

A diff explains one event: the feed's row of that event says it in one line (`summary`), the
event's detail and the selected flag's history say it whole (`describe`). Diffs are kept by the
event they explain, by the rule the view keeps a row's answers and value changes by
(view/event_entries.py): its id and flag, each entry holding its event, or the event object
itself without ids. A restarted server numbers its events from 1 again, and one whose world
starts again sends its event 1 of a flag at the version the earlier life's had: the later event
takes the key and the earlier one keeps its diff by identity, so neither row shows the other's.
A diff is also checked against the event's environment and version (a token's stream brings
every environment's events, whose ids repeat).

The history pane's rows are the journal's copies of the events, other objects: a copy finds
the diff of the event of its id (or without one, none), flag, environment and version that was
received when it was, within `CLOCKS_APART` (the journal may keep the event as another recorder
stamped it, by its own clock): only the time tells two lives' events apart (docs/journal.md),
and an event without a diff of its own finds none, not the other life's.

Per flag the store also remembers the last event and the last diff it saw, and the last value
change a re-evaluation of its own found (view/found.py: no event explains it, yet the flag
changed): what the inventory (`screens/inventory.py`) says was the flag's last change, and
which rows changed after their configuration was read. Flag keys come from the server, so
the three maps keep the `max_flags` (the profile's) most recently changed flags only: a stream of
ever new keys cannot grow them, and the inventory lists at most that many flags from them. A
flag the monitor forgot (a deleted one past its bound) leaves them.
`version` grows with every change, so a screen that shows any of it knows when to repaint.
Nothing here touches a widget.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from rich.text import Text

from togul_monitor.config.entry import DEFAULT_MAX_FLAGS
from togul_monitor.domain.change_owners import CLOCKS_APART
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_config import ConfigDiff, describe, summary
from togul_monitor.domain.values import ValueTransition
from togul_monitor.store.model import StoredDiff
from togul_monitor.support.text import safe_text
from togul_monitor.ui.view.change import Part, Parts
from togul_monitor.ui.view.event_entries import EventEntries, event_key

if TYPE_CHECKING:  # the monitor's modules load after the first frame (ui/app.py)
    from togul_monitor.core import ConfigChanged

DIFF_STYLE = "cyan"
# The detail's configuration state when no monitor runs any more (a failed switch stopped it).
NOTHING_WATCHES = "nothing watches"
_T = TypeVar("_T")


def copy_key(event: FlagEvent) -> tuple[str | None, str, str, int]:
    """What the journal's copy of an event shares with it but its receive time (see the
    module's docstring)."""
    return (event.event_id, event.flag_key, event.environment_id, event.version)


def _explains(update: ConfigChanged, event: FlagEvent) -> bool:
    diff = update.diff
    return diff.environment_id == event.environment_id and diff.version == event.version


def _own(entries: EventEntries[ConfigChanged], event: FlagEvent) -> ConfigChanged | None:
    """`event`'s diff among `entries`: its own, or its id's whose event is not known (a diff
    named by its id alone) if of its environment and version."""
    found = entries.find_or_unclaimed(event)
    return found if found is not None and _explains(found, event) else None


class ConfigDiffs:
    def __init__(self, limit: int = 10_000, max_flags: int = DEFAULT_MAX_FLAGS) -> None:
        self.limit = limit
        self.max_flags = max(1, max_flags)  # flags remembered by `last_event`, `last_diff`
        self._by_event: EventEntries[ConfigChanged] = EventEntries(limit)
        # The journal's copies' diffs (the history pane's rows): by `copy_key`, one per event
        # of the key (a life of the server), oldest first.
        self._by_copy: OrderedDict[object, tuple[ConfigChanged, ...]] = OrderedDict()
        # Least recently changed first: beyond `max_flags` flags the oldest goes.
        self.last_event: OrderedDict[str, FlagEvent] = OrderedDict()  # flag → its newest event
        self.last_diff: OrderedDict[str, ConfigChanged] = OrderedDict()  # flag → its newest diff
        # flag → its newest value change of no event (one context's: the newest)
        self.last_found: OrderedDict[str, ValueTransition] = OrderedDict()
        self.version = 0

    def clear(self, max_flags: int | None = None) -> None:
        """A new monitor (another profile, with its `max_flags`): nothing carries over."""
        if max_flags is not None:
            self.max_flags = max(1, max_flags)
        self._by_event.clear()
        self._by_copy.clear()
        self.last_event.clear()
        self.last_diff.clear()
        self.last_found.clear()
        self.version += 1

    def forget(self, keys: Iterable[str]) -> None:
        """Flags the monitor forgot (deleted past its bound, core/deleted_flags.py): the
        inventory lists them no more. The diffs kept by event stay with the feed's rows."""
        for key in keys:
            self.last_event.pop(key, None)
            self.last_diff.pop(key, None)
            self.last_found.pop(key, None)
        self.version += 1

    def event(self, event: FlagEvent) -> None:
        """The view received `event`: its flag's last change so far (`version` is the caller's
        to bump, once per batch)."""
        self._latest(self.last_event, event.flag_key, event)

    def found(self, transitions: Iterable[ValueTransition]) -> None:
        """Value changes a re-evaluation of its own found (oldest first): each is a change of
        its flag that no event says, and the latest one known of it so far."""
        for transition in transitions:
            self._latest(self.last_found, transition.flag_key, transition)
        self.version += 1

    def _latest(self, last: OrderedDict[str, _T], key: str, item: _T) -> None:
        last[key] = item
        last.move_to_end(key)
        if len(last) > self.max_flags:
            last.popitem(last=False)

    def saw(self, events: Iterable[FlagEvent]) -> None:
        """Events the view received (in order): each is its flag's last change so far."""
        for event in events:
            self.event(event)
        self.version += 1

    def add(self, update: ConfigChanged) -> None:
        diff = update.diff
        self._latest(self.last_diff, diff.flag_key, update)
        self.version += 1
        event = update.event
        if event is not None:
            self._by_event.put(event, event_key(event), update)
            self._copied(event, update)
        elif diff.event_id is not None:  # named by its id alone: the id's newest event's
            self._by_event.put(None, (diff.event_id, diff.flag_key), update)
        else:
            return  # found by a re-fetch (after an outage): no event, no row to show it on
        self._by_event.trim()

    def _copied(self, event: FlagEvent, update: ConfigChanged) -> None:
        by_copy, key = self._by_copy, copy_key(event)
        kept = tuple(u for u in by_copy.pop(key, ()) if u.event is not event)
        by_copy[key] = (*kept, update)
        while len(by_copy) > self.limit:
            by_copy.popitem(last=False)

    def for_event(self, event: FlagEvent) -> ConfigDiff | None:
        """The diff of `event` (a row of the view's: the very event object the monitor's log
        holds), or None."""
        found = _own(self._by_event, event)
        return found.diff if found is not None else None

    def for_copy(self, event: FlagEvent) -> ConfigDiff | None:
        """The diff of `event` or of the event the journal's copy `event` is of (the history
        pane's rows, see the module's docstring), or None."""
        found = _own(self._by_event, event)
        if found is not None:
            return found.diff

        def apart(update: ConfigChanged) -> float:
            assert update.event is not None  # kept by its event's `copy_key`
            return abs(update.event.received_at - event.received_at)

        near = min(self._by_copy.get(copy_key(event), ()), key=apart, default=None)
        return near.diff if near is not None and apart(near) <= CLOCKS_APART else None

    def own_diffs(self) -> Callable[[FlagEvent], StoredDiff | None]:
        """The diff of each event of the view's (the log's) and when it was computed, over a
        copy of those held now (for `e`, on a worker thread)."""
        held = self._by_event.copy()  # its values are frozen: nobody changes them

        def own(event: FlagEvent) -> StoredDiff | None:
            found = _own(held, event)
            return StoredDiff(found.diff, found.at) if found is not None else None

        return own

    def lines_for(self, event: FlagEvent) -> list[str]:
        """The event's diff in full (`describe`), or nothing: for the history pane's rows, the
        journal's copies of the events (`for_copy`)."""
        diff = self.for_copy(event)
        return describe(diff) if diff is not None else []

    def __len__(self) -> int:
        return len(self._by_event)


def with_diff(
    long: Parts, short: Parts, diff: ConfigDiff | None, moved: bool
) -> tuple[Parts, Parts]:
    """A feed row's change column with the event's diff. When the value moved (`moved`) the
    value change comes first, whole, and the diff gets what it leaves; otherwise the diff is the
    news and comes first, and what the value did (unchanged, evaluating…) gets what it leaves.
    A diff that only says the flag was created or deleted is left to the event's type."""
    if diff is None or all(change.path == "flag" for change in diff.changes):
        return long, short
    said = Part(summary(diff), DIFF_STYLE, cut=3 if moved else 1)
    if moved:
        tail = (Part(" · ", "dim", cut=3), said)
        return (*long, *tail), (*short, *tail)
    if not short:
        return (said,), (said,)

    def after(parts: Parts) -> Parts:
        rest = (Part(part.text, part.style, cut=3) for part in parts)
        return (said, Part(" · ", "dim", cut=3), *rest)

    return after(long), after(short)


def config_text(diff: ConfigDiff | None, state: str, loaded: int = 0, total: int = 0) -> Text:
    """The event detail's section on the flag's configuration: the diff whole, or why there is
    none (`state`: the snapshot's `config_state`). Plain Text: the lines are escaped already."""
    # The heading's style on its span only: a Text's own style would reach every line after it.
    text = Text("\n")
    text.append("configuration change", style="bold underline")
    text.append("\n")
    if diff is not None:
        for line in describe(diff):
            text.append("  " + line + "\n", style=DIFF_STYLE)
        return text
    from togul_monitor.core.configs import NEEDS_TOKEN

    if state == NEEDS_TOKEN:
        why = (
            "needs a token profile (token_env): the management API shows a flag's rules only "
            "with a Bearer token, so what this event changed in them is not known"
        )
    elif state == "loading":
        why = f"not known yet: the flags' configurations are loading ({loaded} of {total})"
    elif state == NOTHING_WATCHES:
        why = "not known: nothing watches the server: the profile could not be opened"
    elif state.startswith("failed"):
        why = f"unavailable: {safe_text(state)}"
    else:
        # Reads are paced per flag (core/configs.py): one may cover several events of a
        # burst, its change tied to one of them.
        why = (
            "none tied to this event: a read after it found none, one is on its way, or one "
            "read covered several of the flag's events and its change is on another's row"
        )
    text.append("  " + why + "\n", style="dim")
    return text
