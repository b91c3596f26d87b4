"""The feed's rows without Textual: what a row says of the value (view/answers.py), how a change
is cut (view/change.py) and how the row's width is shared (view/feed_layout.py)."""

from __future__ import annotations

from rich.cells import cell_len

from togul_monitor.core import ConfigChanged, EvaluatorStatus, TransitionRecorded, ValueUpdated
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_config import Change, ConfigDiff
from togul_monitor.domain.values import Evaluation, FlagValue, ValueTransition
from togul_monitor.ui.view.batch import take_batch
from togul_monitor.ui.view.change import Part, change_parts, fit_parts
from togul_monitor.ui.view.feed_layout import (
    RowNeeds,
    fitting,
    layout_for,
    lead,
    row_forms,
    row_text,
)
from togul_monitor.ui.view.feed_store import FeedStore

ENV = "f7c1bd87-0000-4000-8000-000000000001"
NAMES = {ENV: "production"}


def event(key: str = "new-dashboard", event_id: str | None = None, type_: str = "rule.updated"):  # type: ignore[no-untyped-def]
    return FlagEvent(type_, key, ENV, 2, 1_700_000_000.0, event_id, 1_700_000_000.5)


def ev(value: object, reason: str = "rule_match") -> Evaluation:
    return Evaluation(value, "boolean", reason, True)


def value(key: str, current: Evaluation | None, *, stale: bool = False) -> FlagValue:
    return FlagValue(key, current, None, 1.0, None, stale, False, None)


def feed(store: FeedStore, *updates: object) -> None:
    take_batch(updates, store, environment_names=dict(NAMES), selected=None, watched=set())


def says(store: FeedStore, row: FlagEvent, width: int = 120) -> str:
    text = row_text(row, width, time_mode="utc", now=0.0, environment_names=NAMES, store=store)
    return text.plain


def test_a_row_says_evaluating_then_what_the_answer_was() -> None:
    store = FeedStore()
    feed(store, ValueUpdated(value("new-dashboard", ev(True))))  # known before the event
    row = event(event_id="7")
    feed(store, row, ValueUpdated(value("new-dashboard", ev(True), stale=True)))
    assert says(store, row).endswith("evaluating…")
    feed(store, ValueUpdated(value("new-dashboard", ev(True))))  # answered, the same value
    assert says(store, row).endswith("value unchanged for your context")


def test_an_earlier_event_of_a_burst_that_left_the_value_as_it_was_is_not_unchanged() -> None:
    store = FeedStore()
    feed(store, ValueUpdated(value("new-dashboard", ev(True))))  # known before the events
    first, last = event(event_id="4"), event(event_id="5")
    feed(store, first, ValueUpdated(value("new-dashboard", ev(True), stale=True)), last)
    feed(store, ValueUpdated(value("new-dashboard", ev(True))))  # one answer for both
    assert says(store, first).endswith("evaluated with the next change")
    assert says(store, last).endswith("value unchanged for your context")


def test_without_event_ids_a_change_is_tied_to_the_event_its_answer_answered() -> None:
    """The server may send no ids (docs/protocol.md): the change was never shown."""
    store = FeedStore()
    feed(store, ValueUpdated(value("new-dashboard", ev(True))))
    first, last, other = event(), event(), event("checkout-v2")
    feed(store, first, last, other, ValueUpdated(value("new-dashboard", ev(True), stale=True)))
    change = ValueTransition("new-dashboard", ev(True), ev(False, "disabled"), None, 2.0)
    # Published in one call (core/evaluation.py): the value, then the transition, one batch.
    feed(
        store,
        ValueUpdated(value("new-dashboard", ev(False, "disabled"))),
        TransitionRecorded(change, False),
    )
    assert store.transitions_for(last) == (change,)
    assert store.transitions_for(first) == () and store.transitions_for(other) == ()
    assert says(store, last).endswith("true → false")
    assert says(store, first).endswith("evaluated with the next change")  # one burst
    # A change of its own (an outage's re-evaluation) names no row.
    alone = ValueTransition("checkout-v2", ev(False), ev(True), None, 3.0)
    feed(store, TransitionRecorded(alone, False))
    assert store.transitions_for(other) == ()


def test_a_first_value_is_not_called_unchanged_and_a_profile_without_key_says_so() -> None:
    store = FeedStore()
    created = event("search", "1", "flag.created")
    feed(store, created, ValueUpdated(value("search", ev("bm25"))))
    assert says(store, created).endswith('∅ → "bm25"')
    updated = event("other", "2", "rule.created")
    feed(store, updated, ValueUpdated(value("other", ev(1))))
    assert says(store, updated).endswith("first value: 1")  # nothing to compare with
    halted = event("third", "3")
    feed(store, halted, EvaluatorStatus(False, "401", credentials_rejected=True))
    assert says(store, halted).endswith("not evaluated")
    store.answers.reset(evaluates=False)
    row = event("x", "4")
    feed(store, row)
    assert says(store, row).endswith("not evaluated")


def test_beyond_the_flag_limit_a_row_says_it_is_not_evaluated_instead_of_waiting() -> None:
    store = FeedStore()
    held = {"seeded": value("seeded", ev(True))}  # in the monitor's values from the start
    store.answers.limit_values = held
    new_held = event("taken-on", "1")
    left_out, seeded = event("left-out", "2"), event("seeded", "3")
    # A flag the monitor takes on publishes its (stale) value right after its first event.
    feed(store, new_held, ValueUpdated(value("taken-on", None, stale=True)), left_out, seeded)
    assert says(store, new_held).endswith("evaluating…")
    assert says(store, seeded).endswith("evaluating…")
    assert says(store, left_out).endswith("not evaluated: flag limit reached")
    assert not store.answers.waiting(left_out)  # nothing waits for an answer that never comes


def test_a_change_python_calls_equal_is_still_shown_as_a_change() -> None:
    # `True == 1` in Python, but the user's value did change; `25` and `25.0` are one JSON
    # number: only the reason changed.
    assert fit_parts(change_parts(ev(True), ev(1)), 40).plain == "true → 1"
    assert fit_parts(change_parts(ev(25), ev(25.0, "x")), 40).plain == "25.0 (rule_match → x)"
    no_reason = Evaluation(25, "number", None, True)
    assert fit_parts(change_parts(no_reason, ev(25, "default")), 40).plain == "25 (? → default)"
    switched = Evaluation(25, "number", "rule_match", False)
    assert fit_parts(change_parts(ev(25), switched), 60).plain == "25 (now disabled)"


def test_a_reason_only_change_too_wide_says_the_new_reason_whole_not_two_stubs() -> None:
    parts = change_parts(ev("bm25", "default"), ev("bm25", "disabled"))
    assert fit_parts(parts, 27).plain == '"bm25" (default → disabled)'
    for width in range(21, 27):  # was `"bm25" (defa… → disa…)`
        assert fit_parts(parts, width).plain == '"bm25" (now disabled)', width
    assert fit_parts(parts, 19).plain == '"bm25" (now disab…)'
    # A count after it gets what the change leaves, once the change is said whole.
    counted = (*parts, Part(" +2 changed", "dim", cut=3))
    assert fit_parts(counted, 36).plain == '"bm25" (default → disabled) +2 chan…'
    assert fit_parts(counted, 26).plain == '"bm25" (now disabled) +2 …'


def test_a_cut_change_says_so_on_each_side_and_keeps_a_short_side_whole() -> None:
    parts = change_parts(ev("bm25", "default"), ev("bm25", "rule_match"))
    assert fit_parts(parts, 40).plain == '"bm25" (default → rule_match)'
    cut = fit_parts(parts, 20).plain
    assert cell_len(cut) <= 20 and cut.count("…") >= 1 and cut.startswith('"bm25" (')
    long = change_parts(ev("x" * 60), ev(False))
    assert fit_parts(long, 20).plain == '"' + "x" * 10 + "… → false"  # the short side whole
    assert fit_parts(change_parts(ev(True), None), 8).plain == "true → …"
    wide = (Part("日本語のキー", cut=1), Part(" → "), Part("値", cut=1))
    assert cell_len(fit_parts(wide, 9).plain) <= 9  # cells, not characters


def test_the_change_is_given_its_width_first_and_a_narrow_row_says_what_it_cut() -> None:
    needs = RowNeeds(flag=13, env=10, version=2, change=46)
    wide, narrow = layout_for(200, needs), layout_for(69, needs)
    assert (wide.flag, wide.env, wide.version) == (13, 10, 2)  # everything whole
    assert narrow.flag == 13 and narrow.env == 0  # the own environment gives way first
    store = FeedStore()
    store.answers.environment_id = ENV  # the profile's own: the column may give way
    row = event("search-ranking-with-a-long-key", "9", "flag.updated")
    store.add_transition(ValueTransition(row.flag_key, ev("a" * 30), ev("b" * 30), "9", 1.0))
    line = says(store, row, 69)
    # The key is cut in the middle (keys often share a prefix), the values at their end.
    assert cell_len(line) <= 69 and "search-r…ong-key" in line and line.count("…") == 3


def test_flag_keys_that_share_a_prefix_stay_apart_when_cut() -> None:
    from togul_monitor.ui.view.change import cut_middle

    cuts = {key: cut_middle(key, 10) for key in ("checkout-button-color", "checkout-v2")}
    assert cuts == {"checkout-button-color": "check…olor", "checkout-v2": "check…t-v2"}
    assert cut_middle("日本語-フラグ-キー", 9) == "日本…キー" and cut_middle("short", 9) == "short"
    assert cut_middle("checkout-v2", 4) == "che…"  # too narrow for both ends


def test_a_change_that_may_include_unseen_ones_keeps_its_mark_when_the_row_is_narrow() -> None:
    store = FeedStore()
    row = event("search-ranking-with-a-long-key", "9", "flag.updated")
    marked = ValueTransition(row.flag_key, ev("a" * 30), ev("b" * 30), "9", 1.0, "default", True)
    store.add_transition(marked)
    assert says(store, row, 200).endswith(f'"{"a" * 30}" → "{"b" * 30}" +unseen')
    narrow = says(store, row, 69)
    assert cell_len(narrow) <= 69 and narrow.endswith("… +unseen")
    other = event("checkout-v2", "10")
    store.add_transition(ValueTransition(other.flag_key, ev(True), ev(False), "10", 2.0))
    assert "+unseen" not in says(store, other)


def diffed_row_of_three_contexts() -> tuple[FeedStore, FlagEvent]:
    """A rule added to checkout-v2 that moved the value of each of three contexts."""
    contexts, key = ("default", "free", "eu"), "checkout-v2"
    store = FeedStore()
    store.answers.reset(evaluates=True, contexts=contexts)
    store.answers.environment_id = ENV  # the profile's own: no environment column

    def valued(context: str, current: bool) -> FlagValue:
        return FlagValue(key, ev(current), None, 1.0, None, False, False, None, context)

    feed(store, *(ValueUpdated(valued(name, False)) for name in contexts))
    row = event(key, "7", "rule.created")
    feed(store, row)
    for name in contexts:
        moved = ValueTransition(key, ev(False), ev(True), "7", 2.0, name)
        feed(store, ValueUpdated(valued(name, True)), TransitionRecorded(moved, False))
    added = Change("rules[r2]", "added", None, {"rule_type": "segment"}, "r2", 2)
    store.diffs.add(ConfigChanged(ConfigDiff(key, ENV, "7", 2, (added,)), row, 2.0))
    return store, row


def test_a_narrow_row_of_contexts_keeps_the_values_whole_and_marks_what_it_left_out() -> None:
    store, row = diffed_row_of_three_contexts()
    needs = RowNeeds(flag=21)  # another row on screen has a longer key: the flag column is 16
    needs.add(row, store, NAMES)

    def change_in(room: int) -> str:
        """The change column of the row laid out with `room` cells for it."""
        width = lead("local") + 16 + 1 + room
        layout = layout_for(width, needs, "local")
        plain = row_text(
            row,
            width,
            time_mode="local",
            now=0.0,
            environment_names=NAMES,
            store=store,
            layout=layout,
        ).plain
        return plain[plain.index("[default] ") :]

    wide = "[default] false → true; [free] false → true; [eu] false → true · rule 2 added"
    assert change_in(200) == wide
    short = "[default] false → true +2 changed · rule 2 added"
    assert change_in(len(short)) == short
    values = "[default] false → true"
    for room in range(len(values) + 1, len(short)):
        shown = change_in(room)
        # The values whole (they are the news); the rest cut, and a `…` says so.
        assert shown.startswith(values) and shown.endswith("…"), (room, shown)
        assert cell_len(shown) <= room and short.startswith(shown[:-1].rstrip(" ·")), shown
    room = len("[default] false → true +2 changed")  # was `[default] fal… → tr… +2 changed`
    assert change_in(room - 1) == "[default] false → true +2 chang…"
    assert change_in(room + 2) == "[default] false → true +2 changed …"  # the diff left out
    assert change_in(room + 4) == "[default] false → true +2 changed · …"
    assert change_in(room + 6) == "[default] false → true +2 changed · ru…"


def test_a_diff_never_makes_a_row_hide_a_change_it_has_room_for() -> None:
    # Three contexts changed their value, and a rule was added: with room for two changes and
    # the count, the diff gets what is left, cut, rather than a change hidden (it was
    # `[default] false → true +2 changed · rule 2 added` up to 73 cells).
    store, row = diffed_row_of_three_contexts()
    middle = "[default] false → true; [free] false → true +1 changed"
    for room in range(len(middle) + 3, len(middle) + 20):  # 3: the ` · ` before the diff
        plain = fit_parts(fitting(row_forms(row, store), room), room).plain
        assert plain.startswith(middle[: middle.index(" +")]), (room, plain)  # two changes


def test_the_context_named_default_never_reads_as_the_flag_s_default_value() -> None:
    """A context is named in brackets, as `y` and `tail` name it; a bare `default` on the row
    is the configuration's (the flag's default value), at every width."""
    store, row = diffed_row_of_three_contexts()
    moved = Change("default_value", "changed", False, True)
    store.diffs.add(ConfigChanged(ConfigDiff(row.flag_key, ENV, "7", 2, (moved,)), row, 3.0))
    wide = says(store, row, 200)
    assert wide.endswith("[eu] false → true · default false→true"), wide
    assert wide.count("[default]") == 1 and wide.count("default") == 2
    for width in range(50, 120):
        narrow = says(store, row, width)
        # Cut, the bracket still says a context (`[de… false → true`: the name gives way to
        # the values, never the before value to the name).
        assert "[de" in narrow and narrow.count("default") <= 2, (width, narrow)
        assert " f" in narrow and "→ t" in narrow, (width, narrow)


def test_a_marked_row_too_narrow_for_its_values_still_says_it_left_the_rest_out() -> None:
    """`+unseen` is never cut: when the values must be cut to keep it, the count and the diff
    behind it are left out, and a `…` says so."""
    store, row = diffed_row_of_three_contexts()
    marked = ValueTransition(row.flag_key, ev(False), ev(True), "7", 3.0, "default", True)
    store.add_transition(marked)
    plain = says(store, row, 200)
    wide = "[default] false → true +unseen; [free] false → true; [eu] false → true · rule 2 added"
    assert plain.endswith(wide), plain
    for width in range(60, 77):  # narrower, the row is cut once at its end (`fit_parts`)
        narrow = says(store, row, width)
        assert cell_len(narrow) <= width and "+unseen" in narrow, narrow
        # The values exactly, or too narrow for the mark and a `…`: the mark wins.
        assert narrow.endswith(("…", "+unseen")) and "……" not in narrow, (width, narrow)
    # The after side whole, and the before value beside it, not the name alone.
    assert says(store, row, 62).endswith("[def… false → true +unseen…")


def test_only_the_time_of_a_row_is_dim_not_its_type_or_key() -> None:
    from rich.console import Console

    from togul_monitor.ui.view.feed_expanded import full_text

    store = FeedStore()
    row = event(event_id="7")
    feed(store, row)
    console = Console(width=200)
    line = row_text(row, 120, time_mode="utc", now=0.0, environment_names=NAMES, store=store)
    for text in (line, full_text(row, NAMES, store)):  # a Text's own style is its spans' base
        segments = [seg for seg in text.render(console) if seg.text.strip()]
        key = next(seg.style for seg in segments if "new-dashboard" in seg.text)
        assert key is None or not key.dim, text.plain
    kind = next(seg.style for seg in line.render(console) if "rule.updated" in seg.text)
    assert kind is not None and kind.bold and not kind.dim


def test_a_change_shown_short_leaves_the_room_its_long_form_would_take_to_the_key() -> None:
    store, row = diffed_row_of_three_contexts()
    needs = RowNeeds(flag=30)  # another row on screen has a long key
    needs.add(row, store, NAMES)
    short = "[default] false → true +2 changed · rule 2 added"  # the long form is 77 cells
    width = lead("local") + 16 + 1 + len(short) + 2  # a pane too narrow for the long form
    layout = layout_for(width, needs, "local")
    assert layout.flag == 18  # was 16, and the two cells after the short form stood blank
    text = row_text(
        row, width, time_mode="local", now=0.0, environment_names=NAMES, store=store, layout=layout
    ).plain
    assert text.endswith(short), text


def test_a_wide_feed_gives_the_key_a_quarter_of_its_room_first() -> None:
    # `realtime-notifications` beside a change wider than any pane: at 200 columns the feed is
    # 118 cells, and its keys were cut to 16 (`realtime…cations`) for the change's sake.
    needs = RowNeeds(flag=22, change=200)
    assert layout_for(118, needs).flag == 22
    # At 80 and 120 columns (feeds of 78 and 68 cells) the key keeps its 16.
    assert layout_for(78, needs).flag == layout_for(68, needs).flag == 16
