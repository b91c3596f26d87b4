"""What the view keeps of the configuration diffs the monitor drains (`ConfigChanged`).

A diff explains one event: the feed's row of that event says it in one line (`summary`), the
event's detail and the selected flag's history say it whole (`describe`). Diffs are kept by the
event they explain: its id with its flag, environment and version (a restarted server numbers
its events from 1 again, so an id alone may name another event, of another flag or a later
version of the same one), or when the server sends no ids, its flag, environment, version and
receive time (`diff_key`), which the journal's copy of the event (the history pane reads those)
shares with the live one. The environment too: a token's stream brings every environment's
events, and one network read gives its events one receive time.

Per flag the store also remembers the last event and the last diff it saw: what the inventory
(`screens/inventory.py`) says was the flag's last change. Flag keys come from the server, so
both maps keep the `max_flags` (the profile's) most recently changed flags only: a stream of
ever new keys cannot grow them, and the inventory lists at most that many flags from them.
`version` grows with every change, so a screen that shows any of it knows when to repaint.
Nothing here touches a widget.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from rich.text import Text

from togul_monitor.config.entry import DEFAULT_MAX_FLAGS
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_config import ConfigDiff, describe, summary
from togul_monitor.store.model import StoredDiff
from togul_monitor.support.text import safe_text
from togul_monitor.ui.view.change import Part, Parts

if TYPE_CHECKING:  # the monitor's modules load after the first frame (ui/app.py)
    from togul_monitor.core import ConfigChanged

DIFF_STYLE = "cyan"


def diff_key(event: FlagEvent) -> object:
    """The event's id, or what tells an event without one apart (see the module's docstring)."""
    if event.event_id is not None:
        return (event.event_id, event.flag_key, event.environment_id, event.version)
    return (event.flag_key, event.environment_id, event.version, event.received_at)


class ConfigDiffs:
    def __init__(self, limit: int = 10_000, max_flags: int = DEFAULT_MAX_FLAGS) -> None:
        self.limit = limit
        self.max_flags = max(1, max_flags)  # flags remembered by `last_event`, `last_diff`
        self._by_event: OrderedDict[object, ConfigChanged] = OrderedDict()
        # Least recently changed first: beyond `max_flags` flags the oldest goes.
        self.last_event: OrderedDict[str, FlagEvent] = OrderedDict()  # flag → its newest event
        self.last_diff: OrderedDict[str, ConfigChanged] = OrderedDict()  # flag → its newest diff
        self.version = 0

    def clear(self, max_flags: int | None = None) -> None:
        """A new monitor (another profile, with its `max_flags`): nothing carries over."""
        if max_flags is not None:
            self.max_flags = max(1, max_flags)
        self._by_event.clear()
        self.last_event.clear()
        self.last_diff.clear()
        self.version += 1

    def event(self, event: FlagEvent) -> None:
        """The view received `event`: its flag's last change so far (`version` is the caller's
        to bump, once per batch)."""
        last, key = self.last_event, event.flag_key
        last[key] = event
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
        last, flag = self.last_diff, diff.flag_key
        last[flag] = update
        last.move_to_end(flag)
        if len(last) > self.max_flags:
            last.popitem(last=False)
        self.version += 1
        if update.event is not None:
            key = diff_key(update.event)
        elif diff.event_id is not None:
            key = (diff.event_id, diff.flag_key, diff.environment_id, diff.version)
        else:
            return  # found by a re-fetch (after an outage): no event, no row to show it on
        self._by_event[key] = update
        self._by_event.move_to_end(key)
        while len(self._by_event) > self.limit:
            self._by_event.popitem(last=False)

    def for_event(self, event: FlagEvent) -> ConfigDiff | None:
        """The diff of `event`, or of the journal's copy of it (the history pane's rows)."""
        found = self._by_event.get(diff_key(event))
        return found.diff if found is not None else None

    def own_diffs(self) -> Callable[[FlagEvent], StoredDiff | None]:
        """The diff of each event of the view's (the log's) and when it was computed, over a
        copy of those held now (for `e`, on a worker thread)."""
        held = dict(self._by_event)

        def own(event: FlagEvent) -> StoredDiff | None:
            found = held.get(diff_key(event))
            return StoredDiff(found.diff, found.at) if found is not None else None

        return own

    def lines_for(self, event: FlagEvent) -> list[str]:
        """The event's diff in full (`describe`), or nothing."""
        diff = self.for_event(event)
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
    elif state.startswith("failed"):
        why = f"unavailable: {safe_text(state)}"
    else:
        why = "no configuration change recorded for this event (or not fetched yet)"
    text.append("  " + why + "\n", style="dim")
    return text
