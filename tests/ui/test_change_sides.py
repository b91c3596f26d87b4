"""A before → after cut to its width keeps some of both sides (view/change.py): the after side
is kept whole only when that leaves the before *value* a few cells, not the context's name."""

from __future__ import annotations

from rich.cells import cell_len

from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.ui.view.change import ARROW, ELLIPSIS, Part, change_text, fit_parts
from togul_monitor.ui.view.contexts import named_change

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
