"""An export ties a change to an event another recorder stamped a little after it (a shared
journal written by recorders whose clocks are apart), as the TUI's rows do (store/recorded.py),
and writes it right after that event (store/export_window.py)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from itertools import count

from togul_monitor.domain.change_owners import CLOCKS_APART
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.filters import parse_filter
from togul_monitor.domain.flag_config_model import Change, ConfigDiff
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.store.export import write_jsonl
from togul_monitor.store.export_window import window_items
from togul_monitor.store.model import StoredDiff
from togul_monitor.store.recorded import tie_changes

T = 1000.0
NAMES = {"env-prod": "production", "env-dev": "development"}
OFF = Evaluation(False, "boolean", "default", True)
ON = Evaluation(True, "boolean", "default", True)
EARLIER = FlagEvent("flag.updated", "g", "env-prod", 1, T, "6", T - 1.0)
# Stamped by a recorder whose clock is 2 s ahead of the one that computed the change.
AHEAD = FlagEvent("flag.updated", "f", "env-prod", 2, T, "7", T + 2.0)
OTHER = FlagEvent("flag.updated", "f", "env-dev", 2, T, "7", T + 1.0)  # same id, not its env
CHANGE = ValueTransition("f", OFF, ON, "7", T + 0.5)
DIFF = StoredDiff(
    ConfigDiff("f", "env-prod", "7", 2, (Change("enabled", "changed", False, True),)), T + 0.4
)


def rows(query: str | None = None) -> list[tuple[str, str | None, str | None]]:
    out = io.StringIO()
    flt = None if query is None else parse_filter(query)
    write_jsonl(
        [EARLIER, OTHER, AHEAD],
        out,
        NAMES,
        [DIFF],
        transitions=[CHANGE],
        keep=None if flt is None else (lambda e: flt.matches(e, NAMES)),
        environment_id="env-prod",
    )
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    return [(r["kind"], r.get("flag_key"), r.get("environment_key")) for r in lines]


def test_a_change_goes_after_its_event_stamped_by_a_clock_ahead_as_the_tui_ties_it() -> None:
    recorded = tie_changes([EARLIER, OTHER, AHEAD], [CHANGE], [DIFF], "env-prod")
    assert recorded.transitions == ((AHEAD, CHANGE),)
    assert recorded.diffs == ((AHEAD, DIFF),)
    assert rows() == [
        ("event", "g", "production"),
        ("event", "f", "development"),
        ("event", "f", "production"),
        ("diff", "f", "production"),
        ("transition", "f", "production"),
    ]


def test_a_filtered_export_keeps_the_change_and_the_diff_of_such_an_event() -> None:
    assert rows("env:production") == [
        ("event", "g", "production"),
        ("event", "f", "production"),
        ("diff", "f", "production"),
        ("transition", "f", "production"),
    ]
    assert rows("env:development") == [("event", "f", "development")]


def test_an_event_stamped_more_than_clocks_apart_later_explains_no_change() -> None:
    late = FlagEvent("flag.updated", "f", "env-prod", 2, T, "7", CHANGE.at + CLOCKS_APART + 0.1)
    out = list(window_items([late], transitions=[CHANGE], environment_id="env-prod"))
    assert [(type(x.item).__name__, x.environment_id) for x in out] == [
        ("ValueTransition", None),  # a bare `transition`: its event is not in the window
        ("FlagEvent", None),
    ]


def test_the_export_reads_ahead_only_what_the_journal_holds_for_clocks_apart() -> None:
    """A journal of millions of events is streamed: a change looks ahead a few seconds only."""
    read: list[float] = []

    def journal() -> Iterator[FlagEvent]:
        for n in count():  # one event a second, without end
            read.append(float(n))
            yield FlagEvent("flag.updated", "f", "env-prod", n, T, str(n), float(n))

    change = ValueTransition("f", OFF, ON, "12", 10.0)  # its event is stamped 2 s later
    items = window_items(journal(), transitions=[change], environment_id="env-prod")
    for exported in items:
        if exported.item is change:
            break
    assert exported.environment_id == "env-prod"
    assert len(read) <= 10.0 + CLOCKS_APART + 3


def test_two_server_lives_diffs_each_go_with_their_own_event_as_the_tui_ties_them() -> None:
    # A restarted server numbers its events from 1 again, at the versions of its earlier life
    # (a seeded world): each life's diff of event 1 is written after its own event, and a
    # filter that keeps one life's event keeps that life's diff only, as the backfill ties it.
    lives = [
        FlagEvent(kind, "f", "env-prod", 1, t, "1", t)
        for kind, t in (("flag.created", T), ("flag.updated", T + 60.0))
    ]
    diffs = [
        StoredDiff(
            ConfigDiff("f", "env-prod", "1", 1, (Change("enabled", "changed", i, 1 - i),)),
            e.received_at + 0.5,
        )
        for i, e in enumerate(lives)
    ]
    tied = tie_changes(lives, [], diffs).diffs
    assert [(e, s) for e, s in tied] == list(zip(lives, diffs, strict=True))
    every = [x.item for x in window_items(lives, diffs=diffs)]
    assert every == [lives[0], diffs[0], lives[1], diffs[1]]
    for kept in lives:
        only = [x.item for x in window_items(lives, diffs=diffs, keep=lambda e, k=kept: e is k)]
        assert only == [kept, diffs[lives.index(kept)]]
