"""The history pane says, under an event evaluated with its flag's next change, what `history`
prints under it: by the journal's answers read with the entries, and for this run's rows by what
the feed's row says (widgets/history_pane.py)."""

from __future__ import annotations

from textual.app import App, ComposeResult

from togul_monitor.domain.events import FlagEvent
from togul_monitor.ui.widgets.history_pane import HistoryPane


def event(version: int, received_at: float) -> FlagEvent:
    return FlagEvent("flag.updated", "k", "env-1", version, received_at - 0.5, None, received_at)


V5, V6, V7 = event(5, 10.0), event(6, 20.0), event(7, 21.0)


class Pane(App[None]):
    def compose(self) -> ComposeResult:
        yield HistoryPane(lambda: 100.0)


def said(pane: HistoryPane) -> list[str]:
    rows = (pane.get_row_at(row) for row in range(pane.row_count))
    return [" ".join(" ".join(str(cell) for cell in row[1:]).split()) for row in rows]


async def test_the_pane_says_it_under_the_event_as_history_does() -> None:
    app = Pane()
    async with app.run_test(size=(100, 24)) as pilot:
        pane = app.query_one(HistoryPane)
        pane.show("k", [V7, V6, V5], with_next={V6: ("default",)})  # a read's marks
        await pilot.pause()
        assert said(pane) == [
            "flag.updated v7",
            "flag.updated v6",
            "value evaluated with the next change",
            "flag.updated v5",
        ]
        pane.show("k", [V7, V6, V5])  # rows joined since: the read's marks stand
        await pilot.pause()
        assert said(pane)[2] == "value evaluated with the next change"
        pane.contexts = ("free", "premium")
        pane.live_with_next = lambda e: ("premium",) if e is V5 else ()  # this run's row
        pane.show("k", [V7, V6, V5], with_next={})
        await pilot.pause()
        assert said(pane)[-2:] == [
            "flag.updated v5",
            "value [premium] evaluated with the next change",
        ]
        pane.show("other", [], reading=True)  # another flag: the marks were the last one's
        assert pane.read_with_next == {}
