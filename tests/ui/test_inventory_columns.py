"""The inventory's columns at narrow and wide widths, whose value `your value` is, and how a
stale value is cut."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from togul_monitor.domain.values import Evaluation, FlagValue
from togul_monitor.ui.screens.inventory import COLUMNS, row_cells, shown_columns
from togul_monitor.ui.view.config_diffs import ConfigDiffs
from togul_monitor.ui.view.inventory import inventory_rows, value_note
from togul_monitor.ui.view.value_columns import value_cell


def width_of(columns: list[tuple[str, int]]) -> int:
    return sum(width + 2 for _, width in columns) + 2  # cell padding, the scroll bar


def test_a_narrow_inventory_keeps_the_value_and_its_last_change_on_screen() -> None:
    # 80 columns leave the table 74 cells: all nine columns pushed the value, its age and its
    # last change past the right edge.
    for total in (74, 80, 90, 100, 104, 113, 150):
        columns = shown_columns(total)
        labels = [label for label, _ in columns]
        assert width_of(columns) <= total, (total, columns)
        assert {"flag", "on", "default", "your value", "age", "last change"} <= set(labels)
    assert [label for label, _ in shown_columns(74)] == [
        "flag",
        "on",
        "default",
        "your value",
        "age",
        "last change",
    ]
    assert [label for label, _ in shown_columns(113)] == [label for label, _ in COLUMNS]


def test_with_several_contexts_the_header_says_whose_value_is_shown() -> None:
    several: Any = SimpleNamespace(contexts=("default", "free", "eu"))
    one: Any = SimpleNamespace(contexts=("default",))
    assert value_note(several) == " · your value: context default (of 3)"
    assert value_note(one) == value_note(None) == ""


def value_column(total: int) -> int:
    return dict(shown_columns(total))["your value"]


def test_a_wide_inventory_gives_the_value_room_and_80_columns_keep_every_column_they_had() -> None:
    # The value was 10 cells at any width (200 columns: `{"project…` with 70 cells to spare).
    assert value_column(74) == 10
    assert value_column(192) >= 30  # 200 columns
    for total in (74, 113, 150, 192, 250):
        assert width_of(shown_columns(total)) == max(total, width_of(shown_columns(74)))


def stale_cell(value: object, total: int, stale: bool = True) -> str:
    held = FlagValue(
        "tier", Evaluation(value, "string", "rule_match", True), None, 1.0, None, stale, False, None
    )
    (row,) = inventory_rows({}, {"tier": held}, ConfigDiffs())
    columns = shown_columns(total)
    cells = row_cells(row, 2.0, columns)
    return cells[[label for label, _ in columns].index("your value")].plain


def test_a_stale_value_keeps_its_mark_whatever_the_width_as_in_the_values_pane() -> None:
    # `"priority" ⟳` cut to 10 cells read `"priority…`: a current value longer than shown,
    # where the truth is this whole value, being asked for again.
    assert stale_cell("priority", 74) == '"priori… ⟳'
    assert stale_cell("priority", 74, stale=False) == '"priority"'
    assert stale_cell("priority", 192) == '"priority" ⟳'
    assert stale_cell("DEFAULT", 74) == '"DEFAUL… ⟳'
    # One rule: the values pane cuts the same value to the same room alike.
    held = FlagValue(
        "tier", Evaluation("priority", "string", None, True), None, 1.0, None, True, False, None
    )
    assert value_cell(held, 10, flashing=False, evaluates=True).plain == '"priori… ⟳'
