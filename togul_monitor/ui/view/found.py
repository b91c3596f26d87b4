"""A value change found by a re-evaluation of its own, as a row of the feed.

After an outage whose events were lost, after `r`, after a start, the monitor asks every value
again, and a value that changed then is tied to no event (`ValueTransition.event_id` None; where
the server sends no ids, no event was waiting for that answer: view/answers.py). No event row can
show it, yet it is the news an engineer needs most: the feed shows it as a row of its own, at
the time it was found, with the flag, each context's before → after, `+unseen` when marked, and
that it was found on re-evaluation (`tail` prints the same change as `[found on re-evaluation]`;
`e` writes it as `found` lines, ui/export.py, as `export` writes the journal's).

It is no row of the monitor's event log: the log and the views number the log's rows alike
(core/intake.py `_append_rows`, view/feed_store.py), and this row is the view's own. The store
keeps it beside the log with the position of the log's row it came before (`FoundRows`), and a
refilter places it there again. The filter takes it for an event of its flag in the profile's
environment with no type, as `tail` does (cli/tail_scope.py): `flag:`, a bare word, `/regex/` and
`env:` apply (before the environment's id is known, to its key in the profile), and a `type:`
term cannot match it. A row of an earlier run is of the environment the journal recorded for it
(`FoundChange.environment`), not the profile's now, and of none when the journal's row is older
than that record.

An outage stands where it ended (domain/events.py `outage_time`), and the values asked again
once the stream is back may answer before the outage is decided (a second later on a quiet
stream): a row found at or after its end comes after its marker (`FoundRows.after`), live as
when the feed opens on the journal's rows.

A profile that evaluates for several contexts finds the change in each: those of one flag found
within `FOUND_TOGETHER` seconds of the row, with no event of the flag nor any marker between
them, are one row, as an event's changes are.

The journal keeps these changes too: when the feed opens on the rows an earlier run recorded, the
ones it found among them come back as rows of their own (`FoundRows.add_recorded`), placed and
joined by the same rules, so the feed and `e` show what they showed live. Textual-free.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from heapq import merge

from togul_monitor.domain.event_log import EventFilter
from togul_monitor.domain.event_log import Row as LogRow
from togul_monitor.domain.events import FlagEvent, Outage, outage_time
from togul_monitor.domain.values import DEFAULT_CONTEXT, ValueTransition
from togul_monitor.support.text import safe_text
from togul_monitor.ui.view.change import Part, Parts, transition_parts
from togul_monitor.ui.view.contexts import in_context_order, joined, left_out, named_change
from togul_monitor.ui.view.rings import real_change
from togul_monitor.ui.view.rows import FeedItem, Row

FOUND = "found"  # the marker of these rows
FOUND_TOGETHER = 10.0  # the contexts' re-evaluations of one flag answer within a few seconds
NOTE = "found on re-evaluation"
TYPE_CELL = Part("re-evaluated", "bold bright_white")  # in the event type's column
ROW_NOTE = Part(" · found, no event of its own", "dim", cut=3)  # after the change, what fits


class FoundChange(FeedItem):
    """A feed row for value changes of one flag that no event explains, one per context."""

    flag_key: str = ""
    transitions: tuple[ValueTransition, ...] = ()  # in the profile's order of contexts
    recorded: bool = False  # found by an earlier run (the journal's), not seen live

    def environment(self, own: str) -> str:
        """The row's environment: live, the profile's (`own`, view/answers.py
        `own_environment`); an earlier run's, the key the journal recorded for its changes,
        never the profile's now, which may have been edited since ("" when not known)."""
        if not self.recorded:
            return own
        return self.transitions[0].environment_key or ""

    def passes(self, predicate: EventFilter, environment: str) -> bool:
        """Whether the filter keeps the row: as an event of its flag in its environment (of
        the profile's, `environment`, live) with no type, as `tail` matches it."""
        own = self.environment(environment)
        probe = FlagEvent("", self.flag_key, own, 0, 0.0, None, self.received_at)
        return predicate.matches(probe)


def row_flag(row: Row) -> str | None:
    """The flag a feed row is of: its event's, or a found change's (None for a marker)."""
    if isinstance(row, FoundChange):
        return row.flag_key
    return row.flag_key if type(row) is FlagEvent else None


def named(row: FoundChange) -> bool:
    """Whether the row names its contexts (a profile that evaluates for several)."""
    changes = row.transitions
    return len(changes) > 1 or any(t.context != DEFAULT_CONTEXT for t in changes)


def _changes(row: FoundChange) -> list[Parts]:
    """Each context's before → after, named as an event's row names them when the row names
    them (view/contexts.py: `[default]` is a context, not the flag's default value)."""
    if not named(row):
        return [transition_parts(t) for t in row.transitions]
    return [named_change(t) for t in row.transitions]


def change_alone(transition: ValueTransition) -> Parts:
    """One context's change, as a row of it alone says it: named unless it is the default
    context's (view/inventory.py, a flag's last change)."""
    if transition.context == DEFAULT_CONTEXT:
        return transition_parts(transition)
    return named_change(transition)


def change_parts(row: FoundChange) -> Parts:
    """Each context's before → after (`[premium] false → true; [free] false → true`)."""
    return joined(_changes(row))


def row_parts(row: FoundChange) -> tuple[Parts, Parts]:
    """What the feed's row says after the key (long, and short for a narrow pane: the first
    context's change and how many more, counted as an event's row counts them)."""
    long = (*change_parts(row), ROW_NOTE)
    changes = _changes(row)
    if len(changes) == 1:
        return long, long
    changed = sum(1 for t in row.transitions[1:] if real_change(t))
    return long, (*changes[0], *left_out(changed, len(changes) - 1 - changed))


def found_text(row: FoundChange) -> str:
    """The row in words, whole: what `y` copies and the detail's heading."""
    change = "".join(part.text for part in change_parts(row))
    return f"{safe_text(row.flag_key)}: {change}, {NOTE}"


class FoundRows:
    """The found rows of a view, each with the log position it came before (bounded)."""

    def __init__(self, limit: int) -> None:
        self.rows: deque[tuple[int, FoundChange]] = deque(maxlen=limit)
        self.open: dict[str, FoundChange] = {}  # flag key → its row other contexts may join

    def add(
        self, transition: ValueTransition, position: int, contexts: Sequence[str]
    ) -> FoundChange | None:
        """The row for `transition`, found before the log's row `position`; None when it joined
        the flag's row of another context (`contexts`: the profile's, in order)."""
        key, context = transition.flag_key, transition.context
        row = self.open.get(key)
        if (
            row is not None
            and transition.at - row.received_at <= FOUND_TOGETHER
            and all(t.context != context for t in row.transitions)
        ):
            row.transitions = in_context_order((*row.transitions, transition), contexts)
            row.text = found_text(row)
            return None
        row = FoundChange(transition.at, FOUND, flag_key=key, transitions=(transition,))
        row.text = found_text(row)
        self.open[key] = row
        self.rows.append((position, row))
        return row

    def add_recorded(
        self,
        transitions: Iterable[ValueTransition],
        rows: Sequence[LogRow],
        first: int,
        contexts: Sequence[str],
    ) -> None:
        """The rows of changes an earlier run found (oldest first), among its recorded `rows`
        (the log's, from position `first` on): each before the first of them received after
        it, joined as live. None stays open to a live change."""
        index, end = 0, len(rows)
        for transition in transitions:
            since, at = index, transition.at
            while index < end and _row_time(rows[index]) <= at:  # a start walks 10,000 rows
                index += 1
            self.close(rows[since:index])
            found = self.add(transition, first + index, contexts)
            if found is not None:
                found.recorded = True
        self.open.clear()

    def after(self, outage: Outage, position: int) -> list[FoundChange]:
        """The rows found before the log's row `position`, `outage`, that belong after it
        (found at or after its end: `outage_time`), oldest first: placed after it from now on."""
        moved: list[FoundChange] = []
        end = outage_time(outage)
        for index in range(len(self.rows) - 1, -1, -1):
            before, row = self.rows[index]
            if before != position or row.received_at < end:
                break
            self.rows[index] = (position + 1, row)
            moved.append(row)
        return moved[::-1]

    def take_after(
        self, outage: Outage, position: int, view: deque[Row], pending: deque[Row]
    ) -> tuple[list[Row], int]:
        """The rows `after` moves, taken off the end of a store's `view` and `pending`, to be
        shown again after the outage's marker; and how many of them the view had."""
        moved = self.after(outage, position)
        if not moved:
            return [], 0
        shown = take_shown(view, moved)
        return shown + take_shown(pending, moved), len(shown)

    def close(self, rows: Iterable[Row | LogRow]) -> None:
        """Rows of the log came (or the view's rows of them): a later change of an event's
        flag, or any after a marker (an outage), is found by another re-evaluation."""
        for row in rows:
            if not self.open:
                return
            if type(row) is FlagEvent:
                self.open.pop(row.flag_key, None)
            else:
                self.open.clear()

    def clear(self) -> None:
        self.rows.clear()
        self.open.clear()

    def placed(
        self, rows: Iterable[tuple[int, Row]], predicate: EventFilter, environment: str
    ) -> tuple[list[tuple[int, Row]], int]:
        """`rows` (log position, row; in order) with the found rows `predicate` keeps, each
        before the log's row it came before (with that row's position); and how many of those
        an earlier run found."""
        found = [(at, row) for at, row in self.rows if row.passes(predicate, environment)]
        recorded = sum(1 for _, row in found if row.recorded)
        # On a tie the first iterable's item comes first: a found row before the log's row.
        return list(merge(found, rows, key=lambda item: item[0])), recorded


def _row_time(row: LogRow) -> float:
    """Where a row of the log stands in time, for the found rows placed among them."""
    return outage_time(row) if type(row) is Outage else row.received_at


def take_shown(shown: deque[Row], rows: Sequence[FoundChange]) -> list[Row]:
    """`rows` taken off the end of `shown` (a view's rows, or those held while paused), where
    they are the last ones; in their order."""
    wanted = {id(row) for row in rows}
    taken: list[Row] = []
    while shown and id(shown[-1]) in wanted:
        taken.append(shown.pop())
    return taken[::-1]
