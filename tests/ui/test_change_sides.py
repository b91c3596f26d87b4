"""A before → after cut to its width keeps some of both sides (view/change.py): the after side
is kept whole only when that leaves the before *value* a few cells, not the context's name; a
row of several contexts shows as many changes as fit, and never counts a value change as `more`
(view/contexts.py)."""

from __future__ import annotations

from rich.cells import cell_len

from tests.ui.test_contexts_view import ENV, event, feed, says, store_of
from togul_monitor.core import TransitionRecorded
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.ui.view.change import ARROW, ELLIPSIS, Part, change_text, fit_parts
from togul_monitor.ui.view.contexts import named_change
from togul_monitor.ui.view.feed_layout import row_forms

LIST = ["hero", "features", "pricing"]  # `["hero","features","pricing"]`: 30 cells
VARIANT = {"variant": "B", "weight": 0.1}  # `{"variant":"B","weight":0.1}`: 28 cells


def ev(value: object) -> Evaluation:
    return Evaluation(value, "json", "rule_match", True)


def sides(plain: str, name: str = "[default] ") -> tuple[str, str]:
    """The before and after values as shown (the name and anything after the value left out)."""
    body = plain.removeprefix(name)
    before, after = body.split(ARROW, 1)
    return before, after.split(" +", 1)[0]


def test_the_context_name_does_not_eat_the_before_value() -> None:
    """80 columns: the demo's `homepage-layout` row was `[defa… → {"variant":"B",…}…`."""
    change = ValueTransition("homepage-layout", ev(LIST), ev(VARIANT), "7", 1.0, "default")
    counted = (*named_change(change), Part(" +2 changed", "dim", cut=3))
    for width in range(24, 71):
        plain = fit_parts(counted, width).plain
        assert cell_len(plain) <= width, (width, plain)
        assert plain.startswith("[default] "), (width, plain)
        before, after = sides(plain)
        # Some of each side, and never one side at length beside a stub of the other.
        assert len(before.rstrip(ELLIPSIS)) >= 3 and len(after.rstrip(ELLIPSIS)) >= 3, plain
        if after.endswith(ELLIPSIS) or before.endswith(ELLIPSIS):
            assert min(cell_len(before), cell_len(after)) >= 5, (width, plain)
    assert sides(fit_parts(counted, 39).plain) == ('["hero","fea…', '{"variant":"…')


def test_a_short_after_side_is_still_kept_whole_beside_a_cut_before_value() -> None:
    change = ValueTransition("f", ev("x" * 40), ev(False), "7", 1.0, "default")
    assert change_text(change, 24, "default").plain == '[default] "xxxx… → false'
    plain = change_text(change, 21, "default").plain  # the before value: 2 cells or fewer
    before, after = sides(plain)
    assert before and before != ELLIPSIS and after, plain


def test_too_narrow_for_the_name_the_name_gives_way_to_the_values() -> None:
    change = ValueTransition("homepage-layout", ev(LIST), ev(VARIANT), "7", 1.0, "premium")
    for width in range(12, 20):  # narrower, a name and an arrow are all there is room for
        plain = change_text(change, width, "premium").plain
        assert cell_len(plain) <= width and ARROW in plain, (width, plain)
        before, after = plain.split(ARROW, 1)
        assert before.endswith(ELLIPSIS) and after.strip(ELLIPSIS), (width, plain)
        assert before.startswith("["), (width, plain)  # still reads as a context's name


def test_a_one_cell_before_value_is_kept_when_the_name_gives_way() -> None:
    # `1` needs one cell, not `x…`'s two: `[… 1 → deleted` fits 14 cells.
    change = ValueTransition(
        "f", Evaluation(1, "number", "default", True), None, "7", 1.0, "premium"
    )
    for width in (14, 15, 16):
        plain = change_text(change, width, "premium").plain
        assert cell_len(plain) <= width and " 1" + ARROW in plain, (width, plain)


def test_a_wide_row_shows_a_second_context_s_value_change_rather_than_hide_it() -> None:
    """200 columns (a feed of 118 cells): the demo's `api-rate-limit [default] 1000 → 100 +2
    more` hid eu's 1000 → 100 (free changed only its reason)."""
    key = "api-rate-limit"
    store = store_of(("default", "free", "eu"))
    store.answers.environment_id = ENV
    row = event(key)
    feed(store, row)
    off = Evaluation(1000, "number", "disabled", False)
    number = Evaluation(1000, "number", "rule_match", True)
    for name, before, after in (
        ("default", number, Evaluation(100, "number", "default", True)),
        ("free", number, off),
        ("eu", number, Evaluation(100, "number", "default", True)),
    ):
        feed(store, TransitionRecorded(ValueTransition(key, before, after, "7", 2.0, name), False))
    long = "[default] 1000 → 100; [free] 1000 (rule_match → disabled); [eu] 1000 → 100"
    assert says(store, row, 160).endswith(long)
    middle = "[default] 1000 → 100; [eu] 1000 → 100 +1 more"
    short = "[default] 1000 → 100 +1 changed +1 more"
    assert ["".join(p.text for p in form) for form in row_forms(row, store)] == [
        long,
        middle,
        short,
    ]
    for width in range(70, 120):
        line = says(store, row, width)
        assert "[eu] 1000 → 100" in line or "+1 changed" in line, (width, line)
        assert "more" not in line or "+1 more" in line, (width, line)
    assert says(store, row, 84).endswith(middle)  # 45 cells for the change
