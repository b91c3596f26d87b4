"""The values pane's ages: a row scrolled into view says its age now, not the one it had when
it was last drawn out of view (`0s` for a value evaluated just before)."""

from __future__ import annotations

from textual.app import App, ComposeResult

from togul_monitor.domain.values import Evaluation, FlagValue
from togul_monitor.ui.widgets.values_table import ValuesTable


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


class Pane(App[None]):
    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock

    def compose(self) -> ComposeResult:
        yield ValuesTable(self.clock, id="values")


def value(key: str, at: float) -> FlagValue:
    return FlagValue(
        key, Evaluation(True, "boolean", "default", True), None, at, None, False, False, None
    )


def ages_in_view(table: ValuesTable) -> list[str]:
    age = list(table.columns).index("age")  # type: ignore[arg-type]
    top = round(table.scroll_y)
    rows = table.ordered_rows[top : top + table.size.height - 1]  # under the header
    return [table.get_row(row.key)[age].plain for row in rows]


async def test_rows_scrolled_into_view_show_their_age_now() -> None:
    clock = Clock()
    app = Pane(clock)
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(ValuesTable)
        table.apply([value(f"flag-{n:03}", 100.0) for n in range(60)])
        await pilot.pause()
        clock.now = 113.0  # no tick since: only what scrolling does
        table.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        assert round(table.scroll_y) > 40
        assert set(ages_in_view(table)) == {"13s"}, ages_in_view(table)
