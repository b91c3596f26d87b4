"""The lines `e` writes from the view model (ui/export.py): what the view shows, and only that."""

from __future__ import annotations

import json
from pathlib import Path

from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.ui.export import write_jsonl
from togul_monitor.ui.view.feed_predicate import FeedPredicate
from togul_monitor.ui.view.feed_store import FeedStore

OFF = Evaluation(False, "boolean", "default", True)
ON = Evaluation(True, "boolean", "default", True)
NAMES = {"env-p": "production"}


def exported(store: FeedStore, rows: list[FlagEvent], path: Path) -> list[dict[str, object]]:
    predicate = FeedPredicate(environment_names=NAMES)
    write_jsonl(rows, predicate, path, store.transitions_copy())
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_change_goes_with_its_own_event_when_a_restarted_server_reuses_its_id(
    tmp_path: Path,
) -> None:
    """Both lives of the server numbered an event of `a` 4: the first changed the value, the
    second did not. The change is the first one's only, on its row and in the export."""
    first = FlagEvent("flag.updated", "a", "env-p", 3, 100, "4", 100.0)
    second = FlagEvent("flag.updated", "a", "env-p", 4, 200, "4", 200.0)
    change = ValueTransition("a", OFF, ON, "4", 100.5)
    store = FeedStore()
    store.add_row(first)
    store.add_transition(change, first)  # the answer to `first` (view/batch.py ties it)
    store.add_row(second)  # its answer: unchanged, no transition
    rows = exported(store, [first, second], tmp_path / "out.jsonl")
    assert [(r["kind"], r.get("version"), r.get("at")) for r in rows] == [
        ("event", 3, None),
        ("transition", None, "1970-01-01T00:01:40.500Z"),
        ("event", 4, None),  # and no copy of the first one's change after it
    ]
    assert store.transitions_for(second) == ()  # nor on its row


def test_each_life_of_a_reused_id_keeps_its_own_change(tmp_path: Path) -> None:
    """Both changed the value: each change is written once, after its own event."""
    first = FlagEvent("flag.updated", "a", "env-p", 3, 100, "4", 100.0)
    second = FlagEvent("flag.updated", "a", "env-p", 4, 200, "4", 200.0)
    on, off = ValueTransition("a", OFF, ON, "4", 100.5), ValueTransition("a", ON, OFF, "4", 200.5)
    store = FeedStore()
    store.add_row(first)
    store.add_transition(on, first)
    store.add_row(second)
    store.add_transition(off, second)
    rows = exported(store, [first, second], tmp_path / "out.jsonl")
    assert [(r["kind"], r["after"]["value"] if "after" in r else None) for r in rows] == [
        ("event", None),
        ("transition", True),
        ("event", None),
        ("transition", False),
    ]
    assert store.transitions_for(first) == (on,)  # each row shows its own
    assert store.transitions_for(second) == (off,)


def written(store: FeedStore, query: str, path: Path) -> list[dict[str, object]]:
    """What `e` writes of `store` under the filter `query`, as the main screen runs it."""
    from togul_monitor.domain.filters import parse_filter
    from togul_monitor.ui.export import view_export, write_view

    flt = parse_filter(query) if query else None
    write_view(view_export(store), FeedPredicate(flt, environment_names=NAMES), path)
    return [json.loads(line) for line in path.read_text().splitlines()]


class _Log:
    def __init__(self, rows: list[FlagEvent]) -> None:
        self.rows = rows

    def rows_since(self, position: int) -> tuple[list[FlagEvent], int]:
        return self.rows[position:], len(self.rows)


def test_e_writes_the_feeds_found_rows_as_found_in_time_order(tmp_path: Path) -> None:
    """A flag switched off during an outage that lost its event: the feed shows the change as
    a row of its own (view/found.py), and `e` writes it, one line per context, in its place."""
    before = FlagEvent("flag.updated", "b", "env-p", 3, 100, "7", 100.0)
    after = FlagEvent("flag.updated", "b", "env-p", 4, 300, "9", 300.0)
    log = _Log([])
    store = FeedStore()
    store.attach(log, 0)
    store.answers.reset(evaluates=True, environment_id="env-p", contexts=("free", "premium"))
    log.rows.append(before)
    store.add_row(before)
    for context in ("free", "premium"):
        store.add_transition(ValueTransition("a", ON, OFF, None, 200.0, context, True))
    log.rows.append(after)
    store.add_row(after)
    rows = written(store, "", tmp_path / "all.jsonl")
    assert [(r["kind"], r["flag_key"], r.get("context")) for r in rows] == [
        ("event", "b", None),
        ("found", "a", "free"),
        ("found", "a", "premium"),
        ("event", "b", None),
    ]
    assert rows[1] == {
        "kind": "found",
        "flag_key": "a",
        "environment_key": "production",
        "before": {"value": True, "value_type": "boolean", "reason": "default", "enabled": True},
        "after": {"value": False, "value_type": "boolean", "reason": "default", "enabled": True},
        "at": "1970-01-01T00:03:20.000Z",
        "context": "free",
        "includes_unseen": True,
    }
    # The filter keeps it as the feed does: by its flag and environment, never by a type.
    assert [r["kind"] for r in written(store, "flag:a env:prod", tmp_path / "a.jsonl")] == [
        "found",
        "found",
    ]
    assert [r["kind"] for r in written(store, "a type:flag", tmp_path / "t.jsonl")] == []
    assert [r["kind"] for r in written(store, "b", tmp_path / "b.jsonl")] == ["event", "event"]


def test_e_writes_each_events_configuration_diff_after_it(tmp_path: Path) -> None:
    """The feed's rows say what their events changed in the flags' rules: `e` writes those
    diffs (`diff` lines, as `export` writes the journal's), each after its own event only, also
    when a restarted server numbered two events of the flag alike."""
    from togul_monitor.core.updates import ConfigChanged
    from togul_monitor.domain.flag_config import Change, ConfigDiff

    first = FlagEvent("flag.updated", "a", "env-p", 3, 100, "4", 100.0)
    other = FlagEvent("flag.updated", "b", "env-p", 1, 150, "5", 150.0)
    second = FlagEvent("flag.updated", "a", "env-p", 4, 200, "4", 200.0)
    log = _Log([])
    store = FeedStore()
    store.attach(log, 0)
    for event, at in ((first, 100.4), (other, 150.4), (second, 200.4)):
        log.rows.append(event)
        store.add_row(event)
        diff = ConfigDiff(
            event.flag_key, "env-p", "4" if event is not other else "5", event.version,
            (Change("default_value", "changed", event.version - 1, event.version),),
        )  # fmt: skip
        store.diffs.add(ConfigChanged(diff, event, at))
    rows = written(store, "", tmp_path / "all.jsonl")
    assert [(r["kind"], r["flag_key"], r["version"]) for r in rows] == [
        ("event", "a", 3),
        ("diff", "a", 3),
        ("event", "b", 1),
        ("diff", "b", 1),
        ("event", "a", 4),
        ("diff", "a", 4),
    ]
    assert rows[1]["environment_key"] == "production" and rows[1]["at"].endswith("01:40.400Z")
    assert rows[1]["changes"][0]["path"] == "default_value"
    # A filtered `e`: the diffs of the events it writes.
    kept = written(store, "flag:b", tmp_path / "b.jsonl")
    assert [(r["kind"], r["flag_key"]) for r in kept] == [("event", "b"), ("diff", "b")]


def test_e_writes_a_change_no_event_explains_as_found_as_export_does(tmp_path: Path) -> None:
    """A change asked without an event (`r`, an outage) right after an answer that ended the
    wait of the flag's event 34: where events have ids, that change names none, so no event
    explains it (domain/change_owners.py, the journal's rule): `e` writes it as `found`, as
    `export` does, not as event 34's `transition` with a null `event_id`. Without ids it is
    the answered event's, as the journal ties it too."""
    from togul_monitor.core.updates import TransitionRecorded, ValueUpdated
    from togul_monitor.domain.values import FlagValue
    from togul_monitor.ui.view.batch import take_batch

    def kinds(event_id: str | None, path: Path) -> list[tuple[object, object]]:
        event = FlagEvent("flag.updated", "a", "env-p", 2, 100, event_id, 100.0)
        log = _Log([])
        store = FeedStore()
        store.attach(log, 0)
        store.answers.reset(evaluates=True, environment_id="env-p")
        value = FlagValue("a", ON, OFF, 106.0, None, False, False, None)
        change = ValueTransition("a", OFF, ON, None, 106.0)
        for updates in ([event], [ValueUpdated(value), TransitionRecorded(change, False)]):
            log.rows.extend(u for u in updates if type(u) is FlagEvent)
            take_batch(updates, store, environment_names=dict(NAMES), selected=None, watched=set())
        return [(r["kind"], r.get("event_id", r.get("id"))) for r in written(store, "", path)]

    assert kinds("34", tmp_path / "ids.jsonl") == [("event", "34"), ("found", None)]
    assert kinds(None, tmp_path / "none.jsonl") == [("event", None), ("transition", None)]


def test_e_writes_a_private_file_in_a_private_folder(tmp_path: Path) -> None:
    # The export is the change history the journal keeps private (its folder is 0700).
    import os
    import stat

    old = os.umask(0o022)
    try:
        path = tmp_path / "data" / "exports" / "prod-20260101-000000.jsonl"
        exported(FeedStore(), [], path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
