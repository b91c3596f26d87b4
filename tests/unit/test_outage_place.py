"""An outage stands where it ended (the reconnect, domain/events.py `outage_time`), not when it
was decided (a second later on a quiet stream): the value changes found after the reconnect,
which may answer before that decision, come after the outage that explains them, in the feed
(live and opened on the journal), `history` and the exports alike."""

from __future__ import annotations

import csv
import io
import json
from functools import partial
from pathlib import Path

from togul_monitor.cli.history_lines import with_diffs
from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.history import merge_history
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.store.export import write_csv, write_jsonl
from togul_monitor.store.recorded import tie_changes
from togul_monitor.ui.export import view_export, write_view
from togul_monitor.ui.view.feed_predicate import FeedPredicate
from togul_monitor.ui.view.feed_store import FeedStore
from togul_monitor.ui.view.found import FoundChange
from togul_monitor.ui.view.rows import FeedItem, boundary_items

OFF = Evaluation(False, "boolean", "default", True)
ON = Evaluation(True, "boolean", "default", True)
# Down from 10 to 20, back live at 20; nothing came, so it was decided at 21.
OUTAGE = Outage(10.0, 20.0, 0, True, 21.0)


def event(key: str, at: float, event_id: str) -> FlagEvent:
    return FlagEvent("flag.updated", key, "env-p", 1, 5, event_id, at)


def found(key: str, at: float) -> ValueTransition:
    return ValueTransition(key, OFF, ON, None, at, includes_unseen=True)


BEFORE = event("a", 5.0, "1")  # live before the stream went down
DURING = found("a", 15.0)  # a retry answered while it was down: inside its window
AFTER = found("a", 20.4)  # asked again once it was back, answered before it was decided
AT_END = found("b", 20.0)  # answered the moment it was back


def test_history_lists_what_was_found_after_the_reconnect_above_its_outage() -> None:
    merged = merge_history([BEFORE, OUTAGE, DURING, AFTER, AT_END], limit=10)
    assert merged == [AFTER, AT_END, OUTAGE, DURING, BEFORE]  # newest first
    # `history`'s lines, with the journal's diffs merged in, keep that order.
    assert with_diffs(merged, [], 10) == merged


def kinds(lines: list[dict[str, object]]) -> list[tuple[object, object]]:
    return [(line["kind"], line.get("at") or line.get("received_at")) for line in lines]


def test_export_writes_the_outage_before_what_was_found_after_the_reconnect() -> None:
    out = io.StringIO()
    write_jsonl([BEFORE], out, transitions=[DURING, AT_END, AFTER], outages=[OUTAGE])
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["kind"] for line in lines] == ["event", "found", "outage", "found", "found"]
    assert [line.get("flag_key") for line in lines[3:]] == ["b", "a"]  # AT_END, AFTER
    out = io.StringIO()
    write_csv([BEFORE], out, transitions=[DURING, AT_END, AFTER], outages=[OUTAGE])
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [row["kind"] for row in rows] == ["event", "found", "outage", "found", "found"]
    # The outage's line still says when it was decided.
    assert lines[2]["received_at"].startswith("1970-01-01T00:00:21")  # type: ignore[union-attr]


class _Log:
    """A monitor's event log as the feed store reads it (and the drain hands it over)."""

    def __init__(self) -> None:
        self.rows: list[FlagEvent | Outage] = []

    def rows_since(self, position: int) -> tuple[list[FlagEvent | Outage], int]:
        return self.rows[position:], len(self.rows)


def shown(rows: object) -> list[str]:
    words = []
    for row in rows:  # type: ignore[attr-defined]
        if isinstance(row, FoundChange):
            words.append(f"found {row.flag_key} {row.received_at:g}")
        elif isinstance(row, FeedItem):
            words.append(row.marker)
        else:
            words.append(row.flag_key)
    return words


MISSING = ["outage-missing", "continued"]  # the outage marker's two rows


def live_feed(*, paused_at: float | None = None) -> tuple[FeedStore, _Log]:
    """A store fed as the monitor feeds it: BEFORE, the changes found while the stream was
    down and once it was back, then the outage, decided last."""
    log = _Log()
    store = FeedStore(source=log)
    log.rows.append(BEFORE)
    store.add_row(BEFORE)
    for change in (DURING, AT_END, AFTER):
        if change.at == paused_at:
            store.set_paused(True)
        store.add_transition(change)
    log.rows.append(OUTAGE)
    store.add_row(OUTAGE)
    return store, log


def test_the_live_feed_shows_what_was_found_after_the_reconnect_under_its_outage(
    tmp_path: Path,
) -> None:
    expected = ["a", "found a 15", *MISSING, "found b 20", "found a 20.4"]
    store, _ = live_feed()
    assert shown(store.view) == expected
    # The widget is told of the outage's rows only; the rows it moved are the view's still.
    assert store.appended == len(expected)
    store.refilter(FeedPredicate())  # a refilter places them there too
    assert shown(store.view) == expected
    # Paused since AT_END came: all wait, in that order, and come so on resume.
    store, _ = live_feed(paused_at=AT_END.at)
    assert shown(store.view) == ["a", "found a 15"]
    assert shown(store.pending) == [*MISSING, "found b 20", "found a 20.4"]
    store.set_paused(False)
    assert shown(store.view) == expected
    # `e` writes them in that order.
    path = tmp_path / "out.jsonl"
    write_view(view_export(store), FeedPredicate(), path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["event", "found", "outage", "found", "found"]


def test_the_feed_opened_on_the_journal_places_them_so_too() -> None:
    log = _Log()
    log.rows += [BEFORE, OUTAGE]
    store = FeedStore(source=log)
    recorded = tie_changes([BEFORE], [DURING, AT_END, AFTER], [])
    store.attach(log, 2, partial(boundary_items, live_from=100.0, resumed=True), recorded.found)
    assert shown(store.view) == ["a", "found a 15", *MISSING, "found b 20", "found a 20.4", "info"]
