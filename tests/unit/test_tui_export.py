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
