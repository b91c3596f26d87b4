"""Deleted flags past the monitor's bound (core/deleted_flags.py, lowered here) leave the values
pane and the inventory; the feed keeps their rows (they are history), and the values pane's
cursor stays on a row that is there."""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App, ComposeResult

from togul_monitor.core import deleted_flags
from togul_monitor.domain.values import Evaluation, FlagValue
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.view.inventory import InventorySource
from togul_monitor.ui.view.rows import row_event
from togul_monitor.ui.widgets.values_table import ValuesTable

from .helpers import make_app, make_profile, wait_for, wait_live


def shown_rows(table: ValuesTable) -> set[str]:
    return {str(row.key.value) for row in table.ordered_rows}


async def test_forgotten_flags_leave_the_values_pane_and_the_inventory(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deleted_flags, "MAX_DELETED_FLAGS", 2)
    world = emulator.world
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        table = app.main.values_table
        keys = [f"churn-{i}" for i in range(4)]
        for key in keys:
            world.create_flag("production", key)
        await wait_for(pilot, lambda: set(keys) <= shown_rows(table), what="their rows")

        def answered() -> bool:  # before they go: an answer then is a deletion out of order
            values = app.monitor.snapshot().values if app.monitor is not None else {}
            return all(key in values and values[key].current is not None for key in keys)

        await wait_for(pilot, answered, what="their values")
        table.focus()
        table.move_cursor(row=table.get_row_index("churn-0"))  # on a row that goes
        await wait_for(pilot, lambda: app.main.selected_flag == "churn-0", what="selected")
        for key in keys:
            world.delete_flag("production", key)
        await wait_for(
            pilot,
            lambda: not {"churn-0", "churn-1"} & shown_rows(table),
            timeout=10,
            what="the two deleted first gone",
        )
        await wait_for(pilot, lambda: not app.main.painter.held, what="the values applied")
        assert {"churn-2", "churn-3"} <= shown_rows(table) == set(table.flags)
        assert table.values["churn-3"].deleted
        # The cursor on a row that is there, which is the selected flag.
        assert table.selected_flag in table.flags
        await wait_for(pilot, lambda: app.main.selected_flag == table.selected_flag)
        # The feed keeps every row: history.
        events = [row_event(row) for row in app.main.store.view]
        gone = [e.type for e in events if e is not None and e.flag_key == "churn-0"]
        assert gone == ["flag.created", "flag.deleted"]
        # The inventory lists neither (not from the values, not from their last events).
        source = InventorySource(lambda: app.monitor, app.main.store.diffs, app.clock)
        listed = {row.key for row in source.read("key").rows}
        assert {"churn-2", "churn-3"} <= listed and not {"churn-0", "churn-1"} & listed


class One(App[None]):
    def compose(self) -> ComposeResult:
        yield ValuesTable(lambda: 100.0, id="values")


def value(key: str, context: str, deleted: bool = False) -> FlagValue:
    answer = Evaluation(True, "boolean", "default", True)
    current, previous = (None, answer) if deleted else (answer, None)
    return FlagValue(key, current, previous, 99.0, None, False, deleted, None, context)


async def test_a_flag_leaves_the_table_once_no_context_holds_it() -> None:
    app = One()
    async with app.run_test(size=(100, 20)) as pilot:
        table = app.query_one(ValuesTable)
        table.set_contexts(("premium", "free"))
        table.apply([value(k, c, k == "b") for k in ("a", "b", "c") for c in table.contexts])
        table.focus()
        table.move_cursor(row=table.get_row_index("c"))
        await pilot.pause()
        table.forget([("premium", ("b",))])  # free still holds it: the row stays
        await pilot.pause()
        assert shown_rows(table) == {"a", "b", "c"} and "b" not in table.values
        assert table.selected_flag == "c"
        table.forget([("free", ("b",)), ("free", ("zz-never-held",))])
        await pilot.pause()
        assert shown_rows(table) == {"a", "c"} == set(table.flags)
        assert table.selected_flag == "c"  # kept on its flag, one row up now
        table.forget([("premium", ("c",)), ("free", ("c",))])
        await pilot.pause()
        assert shown_rows(table) == {"a"} and table.selected_flag == "a"


async def test_forgetting_what_the_table_never_held_changes_nothing() -> None:
    app = One()
    async with app.run_test(size=(100, 20)) as pilot:
        table: Any = app.query_one(ValuesTable)
        table.set_contexts(("default",))
        table.apply([value("a", "default")])
        await pilot.pause()
        table.forget([("default", ("x",)), ("other", ("a",))])
        assert shown_rows(table) == {"a"}
