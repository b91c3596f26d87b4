"""`enter` on a value change in the history pane opens the event the change belongs to: of the
profile's environment, as the journal's readers tie it (domain/change_owners.py). A token's
stream carries every environment, whose event ids repeat: the pane tied a production change to
staging's event of the same id, received later."""

from __future__ import annotations

from textual.app import App, ComposeResult

from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.history import merge_history
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.ui.view.answers import ValueAnswers
from togul_monitor.ui.view.history import HistoryReads
from togul_monitor.ui.widgets.history_pane import MAX_ROWS, HistoryPane

OFF, ON = Evaluation(False, "boolean", "rule", True), Evaluation(True, "boolean", "rule", True)
NAMES = {"env-prod": "production", "env-stag": "staging"}
PROD = FlagEvent("flag.updated", "x", "env-prod", 7, 10.0, "42", 10.0)
STAGING = FlagEvent("flag.updated", "x", "env-stag", 3, 11.0, "42", 11.0)  # the same id
CHANGE = ValueTransition("x", OFF, ON, "42", 11.5)  # production's: computed after both came
# A change the journal recorded as staging's (the profile was edited from staging since).
STAGED = ValueTransition("x", ON, OFF, "42", 11.6, "premium", environment_key="staging")


class Pane(App[None]):
    CSS = "HistoryPane { width: 100; height: 12; }"

    def compose(self) -> ComposeResult:
        yield HistoryPane(lambda: 100.0)


def reads() -> HistoryReads:
    answers = ValueAnswers()
    answers.environment_id = "env-prod"  # the profile's, as the snapshot says it
    return HistoryReads(answers, NAMES)


async def test_a_value_change_opens_its_own_environment_s_event() -> None:
    # The monitor's answer: the journal and memory merged for the profile's environment.
    read = merge_history([STAGED, CHANGE, STAGING, PROD], limit=10, environment_id="env-prod")
    app = Pane()
    async with app.run_test(size=(120, 24)) as pilot:
        pane = app.query_one(HistoryPane)
        pane.show("x", *reads().merged(read, [], MAX_ROWS))
        await pilot.pause()
        assert pane.entries == [STAGED, CHANGE, STAGING, PROD]
        opened = []
        for row in range(pane.row_count):
            pane.move_cursor(row=row)
            opened.append(pane.selected_event)
        assert opened == [STAGING, PROD, STAGING, PROD]


async def test_rows_merged_in_memory_keep_their_event() -> None:
    # The change arrived after the read (view/history.py keeps it until the next merge).
    history = reads()
    app = Pane()
    async with app.run_test(size=(120, 24)) as pilot:
        pane = app.query_one(HistoryPane)
        pane.show("x", *history.merged([STAGING, PROD], [], MAX_ROWS))
        history.new.append(CHANGE)
        pane.show("x", *history.merged(None, pane.entries, MAX_ROWS))
        await pilot.pause()
        pane.move_cursor(row=0)
        assert pane.selected_entry == CHANGE and pane.selected_event is PROD
