"""The values pane's cursor stays on its flag while rows are added and the columns laid out
again: `w`, `o` and `y` act on the flag under it (a jump to a flag gives that row the focus)."""

from __future__ import annotations

from textual.app import App, ComposeResult

from togul_monitor.domain.values import Evaluation, FlagValue
from togul_monitor.ui.widgets.values_table import ValuesTable


class One(App[None]):
    def compose(self) -> ComposeResult:
        yield ValuesTable(lambda: 100.0, id="values")


def value(key: str, current: object = True) -> FlagValue:
    now = Evaluation(current, "string", "default", True)
    return FlagValue(key, now, None, 99.0, None, False, False, None, "default")


async def test_the_cursor_stays_on_its_flag_when_rows_come_above_it() -> None:
    app = One()
    async with app.run_test(size=(100, 20)) as pilot:
        table = app.query_one(ValuesTable)
        table.set_contexts(("default",))
        table.apply([value("m-flag"), value("n-flag")])
        table.focus()
        table.move_cursor(row=table.get_row_index("n-flag"))
        await pilot.pause()
        assert table.selected_flag == "n-flag"
        table.apply([value("a-flag")])  # sorted above it
        await pilot.pause()
        assert table.selected_flag == "n-flag"
        widths = dict(table.widths)
        table.apply([value("b-flag", "a value long enough to widen its column")])
        await pilot.pause()
        assert table.widths != widths  # the columns laid out again, every row put back
        assert table.selected_flag == "n-flag"
