"""Several named contexts without Textual: what a feed row says each context did (view/contexts.py,
honest about contexts still evaluating), how the store keeps a change per context, how the values
pane's columns give way at narrow widths (view/value_columns.py), what the detail lists."""

from __future__ import annotations

from msgspec.structs import replace
from rich.cells import cell_len

from togul_monitor.core import TransitionRecorded, ValueUpdated
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import Evaluation, FlagValue, ValueTransition
from togul_monitor.ui.screens.event_detail import ContextWords, detail_text
from togul_monitor.ui.view.batch import take_batch
from togul_monitor.ui.view.contexts import context_states
from togul_monitor.ui.view.feed_layout import row_text
from togul_monitor.ui.view.feed_store import FeedStore
from togul_monitor.ui.view.status import values_titles
from togul_monitor.ui.view.value_columns import column_widths, context_widths, value_key

ENV = "f7c1bd87-0000-4000-8000-000000000001"
NAMES = {ENV: "production"}
THREE = ("premium", "free", "eu")


def event(key: str = "new-dashboard", event_id: str | None = "7") -> FlagEvent:
    return FlagEvent("rule.updated", key, ENV, 2, 1_700_000_000.0, event_id, 1_700_000_000.5)


def ev(value: object) -> Evaluation:
    return Evaluation(value, "boolean", "rule_match", True)


def value(
    context: str, current: object, *, stale: bool = False, key: str = "new-dashboard"
) -> FlagValue:
    return FlagValue(key, ev(current), None, 1.0, None, stale, False, None, context)


def change(
    context: str, before: object, after: object, event_id: str | None = "7"
) -> ValueTransition:
    return ValueTransition("new-dashboard", ev(before), ev(after), event_id, 2.0, context)


def store_of(contexts: tuple[str, ...] = THREE) -> FeedStore:
    store = FeedStore()
    store.answers.reset(evaluates=True, contexts=contexts)
    feed(store, *(ValueUpdated(value(name, False)) for name in contexts))  # known before
    return store


def feed(store: FeedStore, *updates: object) -> None:
    take_batch(updates, store, environment_names=dict(NAMES), selected=None, watched=set())


def says(store: FeedStore, row: FlagEvent, width: int = 160) -> str:
    text = row_text(row, width, time_mode="utc", now=0.0, environment_names=NAMES, store=store)
    return text.plain


def test_a_row_names_exactly_the_contexts_that_changed_and_the_unchanged_ones() -> None:
    store = store_of()
    row = event()
    feed(store, row, *(ValueUpdated(value(name, False, stale=True)) for name in THREE))
    assert says(store, row).endswith("evaluating…")  # nobody answered yet
    feed(
        store,
        ValueUpdated(value("premium", True)),
        TransitionRecorded(change("premium", False, True), False),
        ValueUpdated(value("free", False)),
    )
    # eu has not answered: it is not called unchanged.
    assert says(store, row).endswith("[premium] false → true; [free] unchanged; [eu] evaluating…")
    feed(store, ValueUpdated(value("eu", False)))
    assert says(store, row).endswith("[premium] false → true; [free, eu] unchanged")
    assert [t.context for t in store.transitions_for(row)] == ["premium"]


def test_at_80_columns_a_row_shows_the_first_change_and_how_many_more() -> None:
    store = store_of()
    store.answers.environment_id = ENV  # the profile's own: no environment column
    row = event("search-algorithm")
    feed(store, *(ValueUpdated(value(name, False, key="search-algorithm")) for name in THREE))
    feed(store, row)
    feed(
        store,
        ValueUpdated(value("premium", True, key="search-algorithm")),
        TransitionRecorded(
            replace(change("premium", False, True), flag_key="search-algorithm"), False
        ),
        ValueUpdated(value("free", True, key="search-algorithm")),
        TransitionRecorded(
            replace(change("free", False, True), flag_key="search-algorithm"), False
        ),
        ValueUpdated(value("eu", False, key="search-algorithm")),
    )
    line = says(store, row, 78)
    assert cell_len(line) <= 78
    # free's value changed too: counted as changed, never under `more`; what is left out
    # after it (eu, unchanged) is marked whole words first, no count without its word.
    assert line.endswith("[premium] false → true +1 changed …")
    assert "free" not in line and "more" not in line
    assert says(store, row, 82).endswith("[premium] false → true +1 changed +1 more")
    wide = says(store, row, 160)
    assert wide.endswith("[premium] false → true; [free] false → true; [eu] unchanged")


def test_at_80_columns_contexts_left_out_that_are_alike_are_named_by_what_they_are() -> None:
    def row_where(changed: tuple[str, ...]) -> str:
        store = store_of()
        store.answers.environment_id = ENV
        key = "search-algorithm"
        row = event(key)
        feed(store, *(ValueUpdated(value(name, False, key=key)) for name in THREE))
        feed(store, row)
        for name in THREE:
            feed(store, ValueUpdated(value(name, name in changed, key=key)))
            if name in changed:
                feed(
                    store,
                    TransitionRecorded(replace(change(name, False, True), flag_key=key), False),
                )
        return says(store, row, 78)

    assert row_where(("premium",)).endswith("[premium] false → true +2 unchanged")
    assert row_where(THREE).endswith("[premium] false → true +2 changed")
    # A value change left out is counted as changed, apart from the others.
    assert row_where(("premium", "free")).endswith("[premium] false → true +1 changed …")


def test_at_80_columns_a_context_whose_reason_alone_changed_is_not_counted_as_changed() -> None:
    store = store_of()
    store.answers.environment_id = ENV
    key = "api-rate-limit"
    row = event(key)
    feed(store, *(ValueUpdated(value(name, 100, key=key)) for name in THREE), row)
    disabled = Evaluation(100, "number", "disabled", False)
    for name, after in (("premium", ev(1000)), ("free", disabled), ("eu", ev(1000))):
        moved = ValueTransition(key, ev(100), after, "7", 2.0, name)
        feed(store, TransitionRecorded(moved, False))
    assert "[free] 100 (rule_match → disabled)" in says(store, row)
    # eu's value changed: `changed`; free's reason alone: `more` (not "+2 more", nor "+2 changed")
    assert says(store, row, 78).endswith("[premium] 100 → 1000 +1 changed +1 more")


def test_at_80_columns_a_first_value_or_a_second_state_is_not_counted_as_alike() -> None:
    key = "search-algorithm"
    store = store_of()
    store.answers.environment_id = ENV
    row = event(key)
    feed(store, *(ValueUpdated(value(name, False, key=key)) for name in ("premium", "eu")))
    feed(store, row)  # free has no value yet: its answer is its first
    feed(store, ValueUpdated(value("premium", True, key=key)))
    feed(store, TransitionRecorded(replace(change("premium", False, True), flag_key=key), False))
    feed(store, ValueUpdated(value("free", True, key=key)))
    feed(store, ValueUpdated(value("eu", True, key=key)))
    feed(store, TransitionRecorded(replace(change("eu", False, True), flag_key=key), False))
    assert "[free] now true" in says(store, row)
    # eu changed, free's first value is not counted as changed.
    assert says(store, row, 82).endswith("[premium] false → true +1 changed +1 more")
    store = store_of()
    store.answers.environment_id = ENV
    row = event()
    feed(store, row, ValueUpdated(value("premium", False)), ValueUpdated(value("free", False)))
    feed(store, ValueUpdated(value("eu", False, stale=True)))
    assert says(store, row, 70).endswith("[premium, free] unchanged +1 more")


def test_every_context_alike_and_one_context_read_as_before() -> None:
    store = store_of()
    row = event()
    feed(store, row, *(ValueUpdated(value(name, False)) for name in THREE))
    assert says(store, row).endswith("unchanged for all 3 contexts")
    single = store_of(("default",))
    one = event("new-dashboard", "8")
    feed(single, one, ValueUpdated(value("default", False)))
    assert says(single, one).endswith("value unchanged for your context")
    feed(
        single,
        ValueUpdated(value("default", True)),
        TransitionRecorded(change("default", False, True, "8"), False),
    )
    assert says(single, one).endswith("false → true") and "default" not in says(single, one)


def test_the_store_keeps_one_change_per_context_per_event_bounded() -> None:
    store = FeedStore(view_size=2)
    store.answers.reset(evaluates=True, contexts=THREE)
    row = event()
    for name in reversed(THREE):  # in any order: shown in the profile's
        store.add_transition(change(name, False, True))
    store.add_transition(change("free", True, False))  # a later one of the same context
    found = store.transitions_for(row)
    assert [t.context for t in found] == list(THREE)
    assert found[1].after == ev(False)
    for n in range(10):
        store.add_transition(change("eu", False, True, f"other-{n}"))
    assert len(store.changes) == 4  # 2 × view_size events, however many contexts each
    assert store.transitions_for(row) == ()


def test_without_ids_each_context_ties_its_change_to_the_event_it_answered() -> None:
    store = store_of(("premium", "free"))
    row = event(event_id=None)
    feed(store, row)
    feed(
        store,
        ValueUpdated(value("premium", True)),
        TransitionRecorded(change("premium", False, True, None), False),
        ValueUpdated(value("free", True)),
        TransitionRecorded(change("free", False, True, None), False),
    )
    assert [t.context for t in store.transitions_for(row)] == ["premium", "free"]


def test_narrow_values_columns_drop_reason_and_type_before_a_context() -> None:
    needs, names = [27, 5, 5], [7, 4, 2]  # a JSON value, `false`
    wide = context_widths(120, 20, needs, names)
    assert [k for k in wide] == [
        "flag",
        *(value_key(i) for i in range(3)),
        "type",
        "reason",
        "enabled",
        "age",
    ]
    for inner in (78, 60, 46, 38, 34):
        widths = context_widths(inner, 24, needs, names)
        assert sum(widths.values()) == inner
        assert all(value_key(i) in widths for i in range(3)), inner
        if "type" in widths or "reason" in widths:
            assert "enabled" in widths and "age" in widths
    assert "reason" not in context_widths(46, 24, needs, names)
    # A pane far too narrow keeps the first contexts, not a sliver of each.
    assert list(context_widths(20, 24, needs, names)) == ["flag", "value-0"]
    # One context: the single value column as ever.
    assert list(column_widths(60, 20, 5)) == ["flag", "value", "type", "reason", "enabled", "age"]


def test_the_flag_key_grows_with_the_values_not_after_them() -> None:
    """Keys of 22 characters (`★ ` and the key: 24 cells) and JSON values wider than any
    column: the key's column grows with theirs, by what each still needs."""
    two = context_widths(45, 24, [34, 34], [7, 4])  # a 120-column terminal
    assert two["flag"] >= 16 and {"enabled", "age"} <= set(two), two  # was 13: `check…olor`
    assert two["flag"] >= two["value-0"] - 2, two
    three = context_widths(77, 24, [34, 34, 34], [7, 4, 2])  # 200 columns: every key whole
    assert three["flag"] == 25 and min(three[value_key(i)] for i in range(3)) >= 12, three
    assert sum(three.values()) == 77


def test_the_pane_title_counts_contexts_and_requests() -> None:
    assert values_titles(("default",), None) == ("values", "")
    assert values_titles(THREE, None, 3) == ("values · 3 contexts", "0 evaluate requests")
    assert values_titles(THREE, None, 2) == (
        "values · 3 contexts (2 shown)",
        "not shown: eu (widen, or y copies all) · 0 evaluate requests",
    )


def premium_changed_free_not() -> tuple[FeedStore, FlagEvent]:
    """A store with one event: premium's value changed by it, free's not, eu's not answered."""
    store = store_of()
    row = event()
    feed(store, row)
    feed(
        store,
        ValueUpdated(value("premium", True)),
        TransitionRecorded(change("premium", False, True), False),
        ValueUpdated(value("free", False)),
    )
    return store, row


def test_the_detail_lists_each_context_and_says_unchanged_only_when_it_is() -> None:
    store, row = premium_changed_free_not()
    changes = store.transitions_for(row)
    states = context_states(row, store.answers, changes)
    assert states == {"free": "unchanged", "eu": "evaluating…"}
    text = detail_text(row, changes, "utc", NAMES, contexts=ContextWords(THREE, states)).plain
    assert "values for this profile's 3 contexts" in text
    section = text[text.index("values for") : text.index("event JSON")]
    lines = [line.strip() for line in section.splitlines() if line.strip()]
    assert lines[1] == "premium"
    assert lines[2].startswith("before false") and lines[3].startswith("after  true")
    assert lines[4].split() == ["free", "unchanged"]
    assert lines[5].split() == ["eu", "evaluating…"]
    one = detail_text(row, (change("default", False, True),), "utc", NAMES).plain
    assert "value for this profile's context\n  before false" in one  # one context: as ever


def test_a_watched_flag_rings_once_per_event_naming_its_context() -> None:
    from togul_monitor.ui.view.rings import WatchRings

    now = [100.0]
    rings = WatchRings("p / production", clock=lambda: now[0])
    for name in THREE:  # one event, three contexts changed
        rings.add(change(name, False, True))
    ready = rings.due()
    assert [ring.message for ring in ready] == [
        "p / production · new-dashboard: false → true (premium)"
    ]
    now[0] += 10
    assert rings.due() == []  # nothing counted as "more changes"


def test_the_history_pane_names_a_change_s_context_when_there_are_several() -> None:
    from togul_monitor.ui.widgets.history_pane import entry_cells

    _, what, detail = entry_cells(change("eu", False, True), "utc", 0.0, 40, contexts=True)
    assert (what.plain, detail.plain) == ("value", "[eu] false → true")
    _, _, one = entry_cells(change("default", False, True), "utc", 0.0, 40)
    assert one.plain == "false → true"  # one context: as ever


def test_an_event_evaluated_only_with_the_next_is_not_called_unchanged() -> None:
    """Two edits that cancel out, one re-evaluation after the second: what the first did alone
    was never evaluated (the value may have flipped in between), so it says so, row and detail."""
    store = store_of()
    first, second = event(event_id="4"), event(event_id="5")
    feed(store, first, *(ValueUpdated(value(name, False, stale=True)) for name in THREE))
    feed(store, second)
    feed(store, *(ValueUpdated(value(name, False)) for name in THREE))  # one answer: unchanged
    assert says(store, first).endswith("evaluated with the next change")
    assert says(store, second).endswith("unchanged for all 3 contexts")
    states = context_states(first, store.answers, ())
    assert set(states.values()) == {"evaluated with the next change"}
    text = detail_text(first, (), "utc", NAMES, contexts=ContextWords(THREE, states)).plain
    assert "unchanged" not in text
    alone = ContextWords((), context_states(first, store.answers, ()))
    one = detail_text(first, (), "utc", NAMES, contexts=alone).plain
    assert "value for this profile's context\n  evaluated with the next change" in one


def test_a_deleted_value_keeps_to_its_column() -> None:
    """`deleted` in a column narrower than the word is cut like any value, leaving the gap
    (it ran into the next column: `deleteddeleted`)."""
    from togul_monitor.ui.view.value_columns import value_cell

    gone = FlagValue("sim-experiment-4", None, None, 1.0, None, False, True, None, "free")
    assert value_cell(gone, 6, flashing=False, evaluates=True).plain == "delet…"
    assert value_cell(gone, 7, flashing=False, evaluates=True).plain == "deleted"


def test_a_value_not_answered_yet_never_looks_like_a_cut_one() -> None:
    """In a narrow context column a value cut to nothing is a lone `…`: a value still being
    asked for must look otherwise at every width, in one cell, dim."""
    from togul_monitor.ui.view.value_columns import value_cell

    asked = FlagValue("f", None, None, 1.0, None, False, False, None, "free")  # no answer yet
    cut_shapes = set()
    for room in range(1, 12):
        for current in (True, "blue", 1000, {"a": [1, 2]}):
            shown = value_cell(value("free", current), room, flashing=False, evaluates=True)
            cut_shapes.add(shown.plain)
        for waiting in (None, asked):
            cell = value_cell(waiting, room, flashing=False, evaluates=True)
            assert cell.plain not in cut_shapes and "…" not in cell.plain, (room, cell.plain)
            assert cell_len(cell.plain) == 1 and cell.style == "dim"
    stale = value_cell(replace(asked, stale=True), 5, flashing=False, evaluates=True)
    assert "…" not in stale.plain and stale.plain.endswith("⟳")


def test_every_header_of_one_context_fits_its_column_with_a_gap() -> None:
    # An empty pane (nothing to measure) gave the value column one cell: its header ran into
    # the next one (`vtype`), as it did beside values of fewer cells than `value`.
    from togul_monitor.ui.view.value_columns import COLUMNS

    labels = dict(COLUMNS)
    for inner, flag_need, value_need in ((38, 0, 0), (38, 14, 3), (78, 22, 4), (60, 20, 5)):
        widths = column_widths(inner, flag_need, value_need)
        assert sum(widths.values()) == inner
        for key, width in widths.items():
            assert width >= len(labels[key]) + 1, (inner, flag_need, value_need, key, width)


def test_once_no_monitor_runs_a_waiting_context_is_not_evaluated_and_an_answer_stays() -> None:
    """A profile that could not be opened stopped the monitor before it (ui/app.py): nothing
    answers the contexts still waiting, and the row and the detail must not say `evaluating…`
    for good. They read as when evaluate refuses the credentials."""
    store, row = premium_changed_free_not()
    store.answers.stop()
    assert says(store, row).endswith("[premium] false → true; [free] unchanged; [eu] not evaluated")
    changes = store.transitions_for(row)
    states = context_states(row, store.answers, changes)
    assert states == {"free": "unchanged", "eu": "not evaluated"}
