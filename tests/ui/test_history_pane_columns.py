"""The history pane's details line up after the widest what of all its entries, not of the
rows drawn: unfocused it draws its first rows only, and `tab` (every row) moved every detail
when a wider what (an event's type) came further down."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets.data_table import ColumnKey

from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.ui.widgets.history_pane import WHAT, HistoryPane

OFF, ON = Evaluation(False, "boolean", "rule", True), Evaluation(True, "boolean", "rule", True)
# A flag's value flipping back and forth on re-evaluations of its own, and its creation below.
CHANGES = [ValueTransition("x", OFF, ON, None, 100.0 - n) for n in range(30)]
CREATED = FlagEvent("flag.created", "x", "env-1", 1, 50.0, "1", 50.0)


class Short(App[None]):
    CSS = "HistoryPane { width: 60; height: 10; }"

    def compose(self) -> ComposeResult:
        yield HistoryPane(lambda: 100.0)
        yield HistoryPane(lambda: 100.0, id="other")  # where the focus starts


def lines(pane: HistoryPane) -> list[str]:
    return [pane.get_row_at(row)[1].plain.rstrip() for row in range(pane.row_count)]


async def test_the_columns_stay_when_the_pane_takes_the_focus() -> None:
    app = Short()
    async with app.run_test(size=(120, 24)) as pilot:
        app.query_one("#other").focus()
        await pilot.pause()
        pane = app.query(HistoryPane).first()
        assert not pane.has_focus
        pane.show("x", [*CHANGES, CREATED])
        await pilot.pause()
        unfocused = lines(pane)
        assert len(unfocused) < len(CHANGES)  # the event's row is not drawn yet
        header = pane.columns[ColumnKey("entry")].label.plain
        pane.focus()
        await pilot.pause()
        focused = lines(pane)
        assert focused[-1].startswith("flag.created ")
        assert focused[: len(unfocused)] == unfocused
        assert pane.columns[ColumnKey("entry")].label.plain == header
        assert unfocused[0] == "value".ljust(WHAT) + "false → true"
