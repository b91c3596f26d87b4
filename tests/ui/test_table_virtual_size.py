"""A table's new rows change its virtual size, which Textual answers with a layout of the whole
screen: a LeanTable of a set height asks for one only when its width changes or its scrollbar
comes or goes (widgets/scroll_size.py), and otherwise moves the scrollbar alone. The history
pane, drawn anew for each flag selected, keeps its scrollbar and its width: showing another
flag lays nothing out."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult

from togul_monitor.domain.events import FlagEvent
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.widgets.lean_table import LeanTable

from .helpers import make_app, make_profile, wait_live
from .test_feed_virtual_size import count_layouts, settled


class Tables(App[None]):
    CSS = "#set { height: 8; } #auto { height: auto; }"

    def compose(self) -> ComposeResult:
        yield LeanTable(id="set")
        yield LeanTable(id="auto")


def add(table: LeanTable, first: int, count: int, width: int = 10) -> None:
    if not table.columns:
        table.add_column("row", key="row", width=width)
    for i in range(first, first + count):
        table.add_row(Text(f"row {i}"), key=str(i))


async def test_rows_within_a_set_height_lay_nothing_out_until_the_scrollbar_comes() -> None:
    app = Tables()
    async with app.run_test(size=(40, 30)) as pilot:
        table = app.query_one("#set", LeanTable)
        add(table, 0, 2)
        layouts = count_layouts(app)
        await settled(pilot, layouts)
        layouts.clear()
        add(table, 2, 3)  # 1 + 5 lines in a window of 8: no scrollbar yet
        await pilot.pause()
        assert layouts == []
        assert table.virtual_size.height == 6
        add(table, 5, 10)  # 16 lines: the scrollbar comes, which narrows the table
        await settled(pilot, layouts)
        assert layouts != []
        assert table.show_vertical_scrollbar
        layouts.clear()
        add(table, 15, 10)  # the scrollbar stays: only its thumb moves
        await pilot.pause()
        assert layouts == []
        assert table.vertical_scrollbar.window_virtual_size == table.virtual_size.height == 26
        table.scroll_end(animate=False)
        await pilot.pause()
        assert table.scroll_y == table.max_scroll_y > 0


async def test_a_table_sized_by_its_rows_grows_with_them() -> None:
    app = Tables()
    async with app.run_test(size=(40, 30)) as pilot:
        table = app.query_one("#auto", LeanTable)
        add(table, 0, 2)
        await pilot.pause()
        before = table.size.height
        layouts = count_layouts(app)
        add(table, 2, 3)
        await pilot.pause()
        assert layouts != []
        assert table.size.height == before + 3


def event(flag: str, version: int) -> FlagEvent:
    at = 100.0 + version
    return FlagEvent("flag.updated", flag, "env-1", version, at, str(version), at)


async def test_the_history_pane_shows_another_flag_without_a_layout(
    emulator: EmulatorHandle,
) -> None:
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        pane = app.main.history_pane
        layouts = count_layouts(app)
        pane.show("short", [event("short", 1)])
        await settled(pilot, layouts)  # what the start still lays out
        layouts.clear()
        width = pane.virtual_size.width
        # reading…, a flag with more rows than the pane shows, and back to one row.
        pane.show("long", [], reading=True)
        await pilot.pause()
        pane.show("long", [event("long", v) for v in range(40, 0, -1)])
        await pilot.pause()
        assert pane.virtual_size.height > pane.scrollable_content_region.height
        pane.show("short", [event("short", 1)])
        await pilot.pause()
        assert layouts == []
        assert pane.virtual_size.width == width
        assert pane.show_vertical_scrollbar
