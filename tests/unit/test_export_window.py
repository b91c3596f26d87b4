"""What an export writes beside its events, without event ids (store/export_window.py)."""

from __future__ import annotations

import io
import json
import time
from functools import partial
from pathlib import Path

import pytest

from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.flag_config_model import Change, ConfigDiff
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.store.export import write_jsonl
from togul_monitor.store.export_json import outage_json
from togul_monitor.store.model import StoredDiff

ON = Evaluation(True, "boolean", "default", True)


def event(key: str, env: str, at: float) -> FlagEvent:
    return FlagEvent("flag.updated", key, env, 1, 100, None, at)


def exported(**options: object) -> list[tuple[str, object, object]]:
    events = [event("a", "env-p", 10.0), event("b", "env-s", 11.0), event("a", "env-p", 40.0)]
    changes = [
        ValueTransition("a", None, ON, None, 10.3),  # its event's answer
        ValueTransition("b", None, ON, None, 11.2),
        ValueTransition("a", None, ON, None, 200.0),  # long after any event: a re-evaluation
    ]
    out = io.StringIO()
    outage = Outage(20.0, 30.0, None, True, 30.0)
    write_jsonl(
        events, out, {"env-p": "production"}, transitions=changes, outages=[outage], **options
    )  # type: ignore[arg-type]
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    return [(r["kind"], r.get("flag_key"), r.get("environment_key")) for r in rows]


def test_a_change_without_an_id_goes_with_the_event_it_answered() -> None:
    assert exported() == [
        ("event", "a", "production"),
        ("transition", "a", "production"),
        ("event", "b", None),
        ("transition", "b", None),
        ("outage", None, None),
        ("event", "a", "production"),
        ("found", "a", None),  # tied to no event: its environment is not known
    ]


def test_a_filtered_export_keeps_every_outage_and_the_changes_of_its_events() -> None:
    assert exported(keep=lambda e: e.flag_key == "a") == [
        ("event", "a", "production"),
        ("transition", "a", "production"),
        ("outage", None, None),
        ("event", "a", "production"),
        ("found", "a", None),  # kept by its flag, as an event of it
    ]


def test_a_journalled_change_no_event_explains_is_written_without_an_environment() -> None:
    """A change journalled before the journal recorded which environment evaluate asked for
    (no `environment_key`), and the profile's now may not be the one it watched then: a found
    change read from it is written with environment_key null, and an `env:` term leaves it
    out."""
    assert exported(environment_id="env-p")[-1] == ("found", "a", None)
    kept = exported(keep=lambda e: e.environment_id == "env-p", environment_id="env-p")
    assert kept[-1] == ("event", "a", "production")  # the found change is of no environment
    by_flag = exported(keep=lambda e: e.flag_key == "a", environment_id="env-p")
    assert by_flag[-1] == ("found", "a", None)


def test_the_tui_export_carries_the_outages_and_the_value_changes_the_view_holds(
    tmp_path: Path,
) -> None:
    from togul_monitor.domain.filters import parse_filter
    from togul_monitor.ui.export import exported_text
    from togul_monitor.ui.export import write_jsonl as tui_write_jsonl
    from togul_monitor.ui.view.feed_predicate import FeedPredicate
    from togul_monitor.ui.view.feed_store import FeedStore

    first = FlagEvent("flag.updated", "a", "env-p", 1, 100, "1", 10.0)
    other = FlagEvent("flag.updated", "b", "env-p", 1, 100, "2", 11.0)
    outage = Outage(20.0, 30.0, None, True, 30.0)
    later = FlagEvent("flag.updated", "a", "env-p", 2, 100, "3", 31.0)
    store = FeedStore()
    for key, event_id, at in (("a", "1", 10.2), ("b", "2", 11.2), ("a", "3", 31.2)):
        store.add_transition(ValueTransition(key, None, ON, event_id, at))
    changes = store.transitions_copy()
    store.add_transition(ValueTransition("a", ON, None, "3", 32.0))  # after `e`: not exported
    predicate = FeedPredicate(parse_filter("a"), environment_names={"env-p": "production"})
    path = tmp_path / "out.jsonl"
    counts = tui_write_jsonl([first, other, outage, later], predicate, path, changes)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["kind"], r.get("id") or r.get("event_id")) for r in rows] == [
        ("event", "1"),
        ("transition", "1"),
        ("outage", None),  # whatever the filter: changes made in it may be missing
        ("event", "3"),
        ("transition", "3"),
    ]
    assert rows[2]["may_have_missed"] is True and rows[4]["after"]["value"] is True
    assert exported_text(counts) == "2 events, 1 outage (1 may have missed changes)"


async def test_the_tui_export_of_earlier_runs_rows_carries_their_outages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A start preloads the journal's last events into the feed; the outages among them come
    with them, so `e` exports the earlier run's window as the journal recorded it."""
    from togul_monitor.config.profiles import Profile
    from togul_monitor.core import Monitor
    from togul_monitor.store.files import journal_path
    from togul_monitor.store.journal import Journal
    from togul_monitor.ui.export import write_jsonl as tui_write_jsonl
    from togul_monitor.ui.view.feed_predicate import FeedPredicate
    from togul_monitor.ui.view.feed_store import FeedStore
    from togul_monitor.ui.view.rows import boundary_items

    t = time.time() - 600  # within the journal's retention
    earlier = [event("a", "env-p", t), event("a", "env-p", t + 30)]
    journal = Journal.open(journal_path("p", tmp_path))
    journal.append_events(earlier[:1])
    journal.append_outage(Outage(t + 10, t + 20, None, True, t + 20))
    journal.append_events(earlier[1:])
    journal.close()
    monkeypatch.setattr(Monitor, "_start_stream", lambda self: None)  # no server: no stream
    monitor = Monitor(Profile("p", "http://127.0.0.1:9", "", api_key="k"), journal_dir=tmp_path)
    await monitor.start()
    try:
        rows, _ = monitor.rows_since(0)
        assert [type(row).__name__ for row in rows] == ["FlagEvent", "Outage", "FlagEvent"]
        store = FeedStore()
        store.attach(monitor, monitor.snapshot().feed_start, partial(boundary_items, live_from=t))
        path = tmp_path / "out.jsonl"
        tui_write_jsonl(store.export_rows(), FeedPredicate(), path)
    finally:
        await monitor.stop()
    kinds = [json.loads(line)["kind"] for line in path.read_text().splitlines()]
    assert kinds == ["event", "outage", "event"]


class _Log:
    """A monitor's event log as the feed store reads it: rows from position 0."""

    def __init__(self, rows: list[FlagEvent]) -> None:
        self.rows = rows

    def rows_since(self, position: int) -> tuple[list[FlagEvent], int]:
        return self.rows[position:], len(self.rows)


def test_the_tui_export_writes_the_window_nobody_watched_before_this_run_as_an_outage(
    tmp_path: Path,
) -> None:
    """A monitor that only reads the journal (a shared one) shows `not watched` between the
    recorded rows and the live ones: the export says so, as an outage that may have missed
    changes, until a clear leaves the recorded rows out."""
    from togul_monitor.ui.export import exported_text
    from togul_monitor.ui.export import write_jsonl as tui_write_jsonl
    from togul_monitor.ui.view.feed_predicate import FeedPredicate
    from togul_monitor.ui.view.feed_store import FeedStore
    from togul_monitor.ui.view.rows import boundary_items

    log = _Log([event("a", "env-p", 10.0), event("b", "env-p", 20.0)])
    store = FeedStore()
    store.attach(log, 2, partial(boundary_items, live_from=100.0))
    live = event("a", "env-p", 101.0)
    log.rows.append(live)
    store.add_row(live)
    path = tmp_path / "out.jsonl"
    counts = tui_write_jsonl(store.export_rows(), FeedPredicate(), path)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [row["kind"] for row in rows] == ["event", "event", "outage", "event"]
    window = Outage(20.0, 100.0, None, True, 100.0)
    assert rows[2] == json.loads(json.dumps(outage_json(window)))
    assert exported_text(counts) == "3 events, 1 outage (1 may have missed changes)"
    store.clear_view(102.0)  # the recorded rows and the window before this run are left out
    assert store.export_rows() == []


def test_the_tui_export_writes_each_value_change_with_the_event_the_view_tied_it_to(
    tmp_path: Path,
) -> None:
    """The view knows which event each change belongs to; the export does not tie them again
    by time, which would lose an answer that came late (a quota pause) to a filtered export."""
    from togul_monitor.domain.filters import parse_filter
    from togul_monitor.ui.export import write_jsonl as tui_write_jsonl
    from togul_monitor.ui.view.feed_predicate import FeedPredicate
    from togul_monitor.ui.view.feed_store import FeedStore

    asked, other = event("a", "env-p", 10.0), event("b", "env-p", 11.0)
    store = FeedStore()
    late = ValueTransition("a", None, ON, None, 10.0 + 90, includes_unseen=True)
    store.add_transition(late, asked)  # the answer to `asked`, 90 s on
    assert store.transitions_for(asked) == (late,)
    predicate = FeedPredicate(parse_filter("a"), environment_names={"env-p": "production"})
    path = tmp_path / "out.jsonl"
    tui_write_jsonl([asked, other], predicate, path, store.transitions_copy())
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["kind"], r["flag_key"], r["environment_key"]) for r in rows] == [
        ("event", "a", "production"),
        ("transition", "a", "production"),
    ]
    assert rows[1]["includes_unseen"] is True


@pytest.mark.parametrize("ids", [False, True], ids=["without ids", "with ids"])
def test_a_filtered_export_never_writes_the_diff_of_a_flag_created_again(ids: bool) -> None:
    """Deleted and created again with its key, a flag starts at version 1 again: the old flag's
    event of version 2 is kept by the filter, the new flag's (another type) is not, and each
    diff goes with its own flag's event."""

    def flag_event(kind: str, version: int, event_id: str, at: float) -> FlagEvent:
        return FlagEvent(kind, "f", "env-p", version, 100, event_id if ids else None, at)

    def diff(version: int, event_id: str, flag_id: str, at: float) -> StoredDiff:
        change = Change("enabled", "changed", False, True)
        found_id = event_id if ids else None
        return StoredDiff(
            ConfigDiff("f", "env-p", found_id, version, (change,), flag_id=flag_id), at
        )

    events = [
        flag_event("flag.updated", 2, "7", 10.0),
        flag_event("flag.deleted", 3, "8", 20.0),
        flag_event("flag.created", 1, "9", 30.0),
        flag_event("rule.updated", 2, "10", 40.0),
    ]
    diffs = [diff(2, "7", "old", 10.5), diff(2, "10", "new", 40.5)]
    out = io.StringIO()
    write_jsonl(events, out, {}, diffs, keep=lambda e: e.type == "flag.updated")
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["kind"], r.get("type"), r.get("flag_id")) for r in rows] == [
        ("event", "flag.updated", None),
        ("diff", None, "old"),
    ]


def test_a_journalled_change_no_event_explains_is_written_with_the_environment_it_recorded() -> (
    None
):
    """The journal records which environment evaluate asked for: a found change of staging's,
    the profile watching production now, is written as staging's (it was null), and `env:`
    applies to it as to staging's events (by its id where the journal names one)."""
    names = {"env-p": "production", "env-s": "staging"}
    found = ValueTransition("a", None, ON, None, 200.0, environment_key="staging")

    def written(keep: object = None) -> list[tuple[str, object, object]]:
        out = io.StringIO()
        options = {} if keep is None else {"keep": keep}
        write_jsonl([], out, names, transitions=[found], environment_id="env-p", **options)  # type: ignore[arg-type]
        rows = [json.loads(line) for line in out.getvalue().splitlines()]
        return [(r["kind"], r.get("flag_key"), r.get("environment_key")) for r in rows]

    assert written() == [("found", "a", "staging")]
    assert written(lambda e: e.environment_id == "env-s") == [("found", "a", "staging")]
    assert written(lambda e: e.environment_id == "env-p") == []
