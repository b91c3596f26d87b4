"""The value changes an earlier run found by a re-evaluation of its own (no event explains them)
come back with the rows the feed opens on: `re-evaluated` rows among the recorded ones, in time
order, filtered and exported as the live ones, so `e` and `export` of one window agree."""

from __future__ import annotations

import io
import json
import time
from functools import partial
from pathlib import Path

import pytest

from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.filters import parse_filter
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.store.recorded import tie_changes
from togul_monitor.ui.view.feed_predicate import FeedPredicate
from togul_monitor.ui.view.feed_store import FeedStore
from togul_monitor.ui.view.found import FoundChange
from togul_monitor.ui.view.rows import FeedItem, boundary_items

OFF = Evaluation(False, "boolean", "default", True)
ON = Evaluation(True, "boolean", "default", True)


def event(key: str, at: float, event_id: str | None = None) -> FlagEvent:
    return FlagEvent("flag.updated", key, "env-p", 1, 100, event_id, at)


def found(key: str, at: float, context: str = "default") -> ValueTransition:
    return ValueTransition(key, OFF, ON, None, at, context, includes_unseen=True)


def test_a_change_that_names_no_event_and_that_none_explains_is_found() -> None:
    with_ids = [event("a", 10.0, "1"), event("b", 30.0, "2")]
    answer = ValueTransition("a", OFF, ON, "1", 10.2)
    elsewhere = ValueTransition("z", OFF, ON, "9", 11.0)  # its event is not among them
    lost = found("c", 25.0)  # after an outage that lost its event
    got = tie_changes(with_ids, [answer, elsewhere, lost], [])
    assert got.found == (lost,) and [t for _, t in got.transitions] == [answer]
    # Without ids: the answer that comes soon after its event is the event's, a later one not.
    without = [event("a", 10.0)]
    soon, later = found("a", 10.5), found("a", 200.0)
    got = tie_changes(without, [soon, later], [])
    assert [t for _, t in got.transitions] == [soon] and got.found == (later,)


class _Log:
    """A monitor's event log as the feed store reads it: rows from position 0."""

    def __init__(self, rows: list[FlagEvent | Outage]) -> None:
        self.rows = rows

    def rows_since(self, position: int) -> tuple[list[FlagEvent | Outage], int]:
        return self.rows[position:], len(self.rows)


def shown(store: FeedStore) -> list[str]:
    """Each row: an event's flag, `found <flag> <contexts>`, or a marker's kind."""
    words = []
    for row in store.view:
        if isinstance(row, FoundChange):
            contexts = ",".join(t.context for t in row.transitions)
            words.append(f"found {row.flag_key} {contexts}")
        elif isinstance(row, FeedItem):
            words.append(row.marker)
        else:
            words.append(row.flag_key)
    return words


def recorded_store(
    *changes: ValueTransition, view_size: int = 50, predicate: FeedPredicate | None = None
) -> FeedStore:
    """A store opened on an earlier run's rows (a, an outage, b), then changes it found."""
    outage = Outage(12.0, 20.0, 0, True, 20.0)
    log = _Log([event("a", 10.0, "1"), outage, event("b", 30.0, "2")])
    store = FeedStore(view_size=view_size, predicate=predicate or FeedPredicate())
    store.answers.reset(evaluates=True, environment_key="production", contexts=("p", "f"))
    events = [row for row in log.rows if type(row) is FlagEvent]
    recorded = tie_changes(events, list(changes), [])
    boundary = partial(boundary_items, live_from=100.0, resumed=True)
    store.attach(log, 3, boundary, recorded.found)  # as the screen's monitor_started does
    store.add_recorded(recorded)
    return store


def test_the_feed_opens_on_the_changes_an_earlier_run_found_among_its_rows() -> None:
    store = recorded_store(
        found("c", 21.0, "f"), found("c", 22.0, "p"), found("a", 22.5, "p"), found("d", 40.0, "p")
    )
    outage = ["outage-missing", "continued"]  # its two rows
    rows = ["a", *outage, "found c p,f", "found a p", "b", "found d p"]
    assert shown(store) == [*rows, "info"]
    assert store.recorded == len(rows)  # all of them dimmed, before where this run begins
    assert store.received == store.shown == 2 and store.filtered == store.trimmed == 0
    # The filter keeps them by their flag, as live, and puts them back where they were.
    store.refilter(FeedPredicate(parse_filter("c")))
    assert shown(store) == [*outage, "found c p,f", "info"] and store.recorded == 3
    store.refilter(FeedPredicate())
    assert shown(store) == [*rows, "info"] and store.recorded == len(rows)
    # A live change is a row of its own: none joins an earlier run's.
    store.add_transition(found("d", 41.0, "f"))
    assert shown(store)[-2:] == ["info", "found d f"] and store.recorded == len(rows)


def test_the_start_shows_them_as_a_refilter_of_that_view_would() -> None:
    """The start places them as it shows the recorded rows (no refilter of the whole view):
    a filter in force then, and a view too small for them all, give what a refilter gives."""
    changes = (found("c", 21.0, "f"), found("c", 22.0, "p"), found("d", 40.0, "p"))

    def state(store: FeedStore) -> tuple[object, ...]:
        counts = (store.received, store.shown, store.filtered, store.trimmed, store.recorded)
        return (shown(store), *counts)

    for predicate, view_size in ((FeedPredicate(parse_filter("c")), 50), (FeedPredicate(), 4)):
        store = recorded_store(*changes, view_size=view_size, predicate=predicate)
        at_start = state(store)
        store.refilter(predicate)
        assert at_start == state(store), (predicate, view_size)
    assert at_start[0] == ["found c p,f", "b", "found d p", "info"]  # the view keeps 4


async def test_e_exports_the_found_lines_export_writes_from_the_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from togul_monitor.config.profiles import Profile
    from togul_monitor.core import Monitor
    from togul_monitor.store.export import write_jsonl
    from togul_monitor.store.files import journal_path
    from togul_monitor.store.journal import Journal
    from togul_monitor.ui.export import view_export, write_view

    t = time.time() - 600  # within the journal's retention
    journal = Journal.open(journal_path("p", tmp_path))
    journal.append_events([event("a", t, "1")])
    journal.append_transition(ValueTransition("a", OFF, ON, "1", t + 0.2))
    journal.append_outage(Outage(t + 10, t + 20, 0, True, t + 20))
    journal.append_transition(found("checkout", t + 21))  # its event was lost in the outage
    journal.append_events([event("b", t + 30, "2")])
    journal.append_transition(found("welcome", t + 40))  # after the last event
    journal.close()
    monkeypatch.setattr(Monitor, "_start_stream", lambda self: None)  # no server: no stream
    monitor = Monitor(Profile("p", "http://127.0.0.1:9", "", api_key="k"), journal_dir=tmp_path)
    await monitor.start()
    try:
        snapshot = monitor.snapshot()
        store = FeedStore()
        boundary = partial(boundary_items, live_from=t + 100, resumed=True)
        store.attach(monitor, snapshot.feed_start, boundary, snapshot.recorded.found)
        store.add_recorded(snapshot.recorded)
        path = tmp_path / "e.jsonl"
        write_view(view_export(store), FeedPredicate(), path)
        filtered = tmp_path / "filtered.jsonl"
        write_view(view_export(store), FeedPredicate(parse_filter("checkout")), filtered)
    finally:
        await monitor.stop()
    reader = Journal.open(journal_path("p", tmp_path))
    try:
        out = io.StringIO()
        events, transitions = reader.iter_events(), reader.iter_transitions()
        write_jsonl(events, out, outages=reader.outages(), transitions=transitions)
    finally:
        reader.close()

    def lines(text: str, kinds: tuple[str, ...] = ("found",)) -> list[tuple[object, ...]]:
        rows = [json.loads(line) for line in text.splitlines()]
        return [(r["kind"], r.get("flag_key"), r.get("at")) for r in rows if r["kind"] in kinds]

    every = ("event", "outage", "transition", "found")
    assert lines(path.read_text(), every) == lines(out.getvalue(), every)
    assert [flag for _, flag, _ in lines(path.read_text())] == ["checkout", "welcome"]
    assert [flag for _, flag, _ in lines(filtered.read_text())] == ["checkout"]


async def test_a_journal_of_another_environments_stream_brings_none_of_its_found_changes(
    tmp_path: Path,
) -> None:
    """The profile's key names another environment now: that journal is not resumed and its
    last values are not taken, nor the changes its re-evaluations found (another's values)."""
    from togul_monitor.core.recording import open_journal
    from togul_monitor.store.files import journal_path
    from togul_monitor.store.journal import Journal

    t = time.time() - 600  # within the journal's retention
    journal = Journal.open(journal_path("p", tmp_path))
    journal.set_environment_names({"env-p": "production"})
    journal.append_events([event("a", t, "1")])
    journal.append_transition(found("c", t + 20))
    journal.close()
    for key, kept in (("production", 1), ("staging", 0)):
        opened = await open_journal("p", tmp_path, time.time, {}, 10, None, key)
        assert opened.journal is not None
        opened.journal.close()
        assert len(opened.changes.found) == kept, key


def test_an_earlier_runs_found_row_is_of_the_environment_it_recorded(tmp_path: Path) -> None:
    """The profile watches production now; an earlier run found a change in staging (the
    journal recorded it), and one before the journal kept the environment (not known). The
    feed labels, filters and `e` writes each by its own, never as production's."""
    from togul_monitor.ui.export import view_export, write_view
    from togul_monitor.ui.view.feed_layout import found_label

    staging = ValueTransition("c", OFF, ON, None, 21.0, environment_key="staging")
    unknown = ValueTransition("d", OFF, ON, None, 40.0)
    store = recorded_store(staging, unknown)
    store.answers.reset(evaluates=True, environment_id="env-p", environment_key="production")
    names = {"env-p": "production"}

    def exported(text: str) -> list[tuple[object, object]]:
        path = tmp_path / "e.jsonl"
        predicate = FeedPredicate(parse_filter(text) if text else None, environment_names=names)
        write_view(view_export(store), predicate, path)
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        return [(r["flag_key"], r["environment_key"]) for r in lines if r["kind"] == "found"]

    assert exported("") == [("c", "staging"), ("d", None)]
    assert exported("env:staging") == [("c", "staging")]
    assert exported("env:production") == []
    rows = {row.flag_key: row for row in store.view if isinstance(row, FoundChange)}
    assert found_label(store, names, rows["c"]) == "staging"
    assert found_label(store, names, rows["d"]) == ""  # it said production
