"""A new filter applied to the rows the feed already received: the pure part, which reads only
its input, so a worker thread runs it for a large view (ui/screens/main_jobs.py) while the UI
thread goes on; the store applies the result (view/feed_store.py `apply_refilter`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import islice

import msgspec

from togul_monitor.domain.event_log import Row as LogRow
from togul_monitor.domain.events import FlagEvent
from togul_monitor.ui.view.feed_predicate import FeedPredicate
from togul_monitor.ui.view.rows import FeedItem, Row, marker_items

#: How a marker of the log (an Outage, a Malformed event, a PossibleGap) is shown.
MarkerRows = Callable[[LogRow], list[FeedItem]]


class RefilterResult(msgspec.Struct):
    predicate: FeedPredicate
    matched: list[tuple[int, Row]]  # (log position, view row), oldest first
    failing: int
    upto: int  # the log position after the last row the refilter read
    rows: Sequence[LogRow] = ()  # what it read (to recount rows the view has not received)
    clears: int = -1  # the store's `clears` then (-1: unknown, trust the rows)

    def received_by(
        self, cut: int, recent: Iterable[tuple[int, list[Row]]]
    ) -> tuple[list[tuple[int, Row]], int]:
        """The rows kept and the events failed, of what the store has received: the log's rows
        before position `cut` (those after are on their way through the drain and are counted
        as they arrive, never twice), and `recent`, what it received while this ran (with
        their positions; from `cut` on, filtered here: there are few)."""
        kept = [(position, row) for position, row in self.matched if position < cut]
        failing = self.failing
        matches = self.predicate.matches
        if cut < self.upto:
            ahead = islice(self.rows, max(0, len(self.rows) - (self.upto - cut)), None)
            failing -= sum(1 for row in ahead if type(row) is FlagEvent and not matches(row))
        for position, rows in recent:
            if position < cut:
                continue
            for row in rows:
                if type(row) is FlagEvent and not matches(row):
                    failing += 1
                else:
                    kept.append((position, row))
        return kept, failing


def compute_refilter(
    rows: Sequence[LogRow],
    predicate: FeedPredicate,
    upto: int,
    marker_rows: MarkerRows = marker_items,
) -> RefilterResult:
    """Apply `predicate` to `rows` (the log's rows before position `upto`): safe to run on a
    worker thread (it reads only its input; `marker_rows` must not read UI state)."""
    matched: list[tuple[int, Row]] = []
    failing = 0
    matches = predicate.matches
    position = upto - len(rows)
    for row in rows:
        if type(row) is FlagEvent:
            if matches(row):
                matched.append((position, row))
            else:
                failing += 1
        else:
            matched.extend((position, item) for item in marker_rows(row))
        position += 1
    return RefilterResult(predicate, matched, failing, upto, rows)
