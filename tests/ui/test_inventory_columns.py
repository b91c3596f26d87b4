"""The inventory's columns at narrow widths, and whose value `your value` is."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from togul_monitor.ui.screens.inventory import COLUMNS, shown_columns
from togul_monitor.ui.view.inventory import value_note


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
