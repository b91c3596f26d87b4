"""LeanTable paints what DataTable paints: its direct cell render and its row-only updates.

DataTable's own rendering is the reference: the same rows are put in a DataTable and a
LeanTable side by side, and every line of both is compared cell by cell (character and style),
with the cursor on and off, focused and not, after updates and after moving the cursor.
"""

from __future__ import annotations

from typing import Any

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widgets import DataTable

from togul_monitor.ui.widgets.lean_table import LeanTable

COLUMNS = (("flag", 14), ("value", 12), ("age", 5))


def rows() -> list[tuple[str, tuple[Text, ...]]]:
    star = Text("★ ", style="yellow").append("checkout-v2", style="bold")
    return [
        ("a", (star, Text("true", style="bold green"), Text("3s", style="dim"))),
        ("b", (Text("plain"), Text(""), Text("12m", style="dim"))),
        # Wider than its column: cut by DataTable itself (the lean render leaves it to it).
        ("c", (Text("a-very-long-flag-key-indeed"), Text("v"), Text("1s"))),
        ("d", (Text("日本語キー"), Text("→ x", style="reverse"), Text("-", style="dim"))),
        ("e", (Text("two\nlines"), Text("right", justify="right"), Text("tab\tx"))),
        ("f", (Text.assemble(("mix", "red"), (" of ", ""), ("spans", "u")), Text("1"), Text(""))),
        # Left-justified: Rich pads it in its own style (DataTable's render, not the lean one).
        ("g", (Text("left", style="on red", justify="left"), Text("x"), Text("y"))),
    ]


class Side(App[None]):
    AUTO_FOCUS = None  # neither table focused unless a test says so: focus changes the styles

    def __init__(self, padding: int) -> None:
        super().__init__()
        self.padding = padding

    def compose(self) -> ComposeResult:
        yield DataTable(id="reference", cursor_type="row", cell_padding=self.padding)
        yield LeanTable(id="lean", cursor_type="row", cell_padding=self.padding)


def fill(table: DataTable[Any]) -> None:
    for key, width in COLUMNS:
        table.add_column(key, key=key, width=width)
    for key, cells in rows():
        table.add_row(*cells, key=key)


def cells_of(table: DataTable[Any]) -> list[list[tuple[str, Any]]]:
    """Every line of the table as (character, style) pairs: segment boundaries aside."""
    lines = table.render_lines(Region(0, 0, table.size.width, table.size.height))
    out = []
    for strip in lines:
        out.append([(ch, seg.style) for seg in strip for ch in seg.text if not seg.control])
    return out


async def _compare(app: Side, pilot: Any, *, focused: bool = False) -> None:
    """`focused`: each table is compared while it has the focus."""
    reference, lean = app.query_one("#reference", DataTable), app.query_one("#lean", LeanTable)
    app.set_focus(reference if focused else None)
    await pilot.pause()
    want = cells_of(reference)
    if focused:
        lean.focus()
        await pilot.pause()
    got = cells_of(lean)
    for y, (a, b) in enumerate(zip(got, want, strict=True)):
        for x, (ca, cb) in enumerate(zip(a, b, strict=True)):
            assert ca == cb, f"line {y}, cell {x}: {ca!r} != {cb!r}"
    assert got == want


@pytest.mark.parametrize("padding", [0, 1])
async def test_lean_cells_paint_what_data_table_paints(padding: int) -> None:
    app = Side(padding)
    async with app.run_test(size=(60, 24)) as pilot:
        reference, lean = app.query_one("#reference", DataTable), app.query_one("#lean", LeanTable)
        fill(reference)
        fill(lean)
        await _compare(app, pilot)
        for table in (reference, lean):
            table.move_cursor(row=3)
        await _compare(app, pilot)
        await _compare(app, pilot, focused=True)
        for table in (reference, lean):
            table.show_cursor = False
        await _compare(app, pilot)


async def test_the_lean_render_is_used_for_one_line_cells_only() -> None:
    app = Side(0)
    async with app.run_test(size=(60, 24)) as pilot:
        lean = app.query_one("#lean", LeanTable)
        fill(lean)
        await pilot.pause()
        style = lean.rich_style
        # a: fits (lean); c: cut; e: two lines, right-justified, a tab (all DataTable's).
        assert lean._lean_cell(0, 0, style, 14, False, False) is not None
        assert lean._lean_cell(2, 0, style, 14, False, False) is None
        assert all(
            lean._lean_cell(4, col, style, w, False, False) is None
            for col, w in ((0, 14), (1, 12), (2, 5))
        )


async def _filled(app: Side, pilot: Any) -> tuple[DataTable[Any], LeanTable]:
    """Both tables filled alike and compared once."""
    reference, lean = app.query_one("#reference", DataTable), app.query_one("#lean", LeanTable)
    fill(reference)
    fill(lean)
    await _compare(app, pilot)
    return reference, lean


async def test_replace_cells_repaints_as_update_cell_does_and_keeps_other_rows_renders() -> None:
    app = Side(0)
    async with app.run_test(size=(60, 24)) as pilot:
        reference, lean = await _filled(app, pilot)
        row_b = lean._render_line_in_row(
            lean._row_locations.get_key(1),
            0,
            lean.rich_style,
            lean.cursor_coordinate,
            lean.hover_coordinate,
        )
        new = {
            "a": {"value": Text("false", style="red"), "age": Text("0s")},
            "d": {"age": Text("9s")},
        }
        for row, cells in new.items():
            for column, cell in cells.items():
                reference.update_cell(row, column, cell)
        lean.replace_cells(new)
        await _compare(app, pilot)
        # Row b was not touched: its cached render is the one from before (not made again).
        again = lean._render_line_in_row(
            lean._row_locations.get_key(1),
            0,
            lean.rich_style,
            lean.cursor_coordinate,
            lean.hover_coordinate,
        )
        assert again is row_b
        # Sorted (other row lines): still the same picture.
        for table in (reference, lean):
            table.sort("age", key=lambda cell: cell.plain)
        await _compare(app, pilot)
        lean.replace_cells({"b": {"flag": Text("renamed", style="italic")}})
        reference.update_cell("b", "flag", Text("renamed", style="italic"))
        await _compare(app, pilot)


async def test_replace_cells_of_a_cell_data_table_renders_and_of_rows_under_a_taller_one() -> None:
    app = Side(0)
    async with app.run_test(size=(60, 24)) as pilot:
        reference, lean = await _filled(app, pilot)
        # Row c's flag is cut (DataTable renders it): the new cell shows, not the old one cached.
        wide = Text("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz")
        reference.update_cell("c", "flag", wide)
        lean.replace_cells({"c": {"flag": wide}})
        await _compare(app, pilot)
        for table in (reference, lean):
            table.add_row(Text("two\nlines"), Text(""), Text(""), key="tall", height=2)
            table.add_row(Text("old"), Text(""), Text(""), key="under")
            table.sort("flag", key=lambda cell: cell.plain)  # the tall row above others
        await _compare(app, pilot)
        reference.update_cell("under", "flag", Text("new"))
        lean.replace_cells({"under": {"flag": Text("new")}})
        await _compare(app, pilot)


async def test_remove_rows_paints_what_remove_row_leaves() -> None:
    app = Side(0)
    async with app.run_test(size=(60, 24)) as pilot:
        reference, lean = await _filled(app, pilot)
        for table in (reference, lean):
            table.move_cursor(row=5)
        await _compare(app, pilot, focused=True)
        for key in ("b", "d"):
            reference.remove_row(key)
        lean.remove_rows(["b", "d", "not-a-row"])
        await _compare(app, pilot, focused=True)
        assert [row.key for row in lean.ordered_rows] == [row.key for row in reference.ordered_rows]
        assert lean.cursor_coordinate == reference.cursor_coordinate
        for key in ("f", "g"):  # the cursor's row and the last: the cursor stays in the table
            reference.remove_row(key)
        lean.remove_rows(["f", "g"])
        await _compare(app, pilot, focused=True)
        assert lean.cursor_coordinate == reference.cursor_coordinate
        lean.replace_cells({"e": {"age": Text("0s")}})  # rows numbered anew: updates find them
        reference.update_cell("e", "age", Text("0s"))
        await _compare(app, pilot)
