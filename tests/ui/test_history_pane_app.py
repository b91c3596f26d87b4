"""The history pane in the real app: a value change with its context's name is whole at 80×24
as at 120×40, and `enter` on a row opens its event's detail, as the feed's `enter` does."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import ValueTransition
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.app import TogulMonitorApp
from togul_monitor.ui.screens.event_detail import EventDetailScreen
from togul_monitor.ui.view.change import change_text

from .helpers import CONTEXT, make_app, make_profile, wait_first_value, wait_for, wait_live


def premium_app(emulator: EmulatorHandle) -> TogulMonitorApp:
    """The profile's context and one named `premium`: value changes name their context."""
    profile = make_profile(emulator)
    return make_app(replace(profile, contexts={"premium": dict(CONTEXT, user_id="u-2")}))


def premium_change(app: TogulMonitorApp) -> ValueTransition | None:
    entries = app.main.history_pane.entries
    changes = (e for e in entries if isinstance(e, ValueTransition) and e.context == "premium")
    return next(changes, None)


async def premium_changed(pilot: Any, app: TogulMonitorApp, emulator: EmulatorHandle) -> None:
    """new-dashboard switched off once the app is live with its first value: the pane shows
    premium's change."""
    await wait_live(pilot, app)
    await wait_first_value(pilot, app)
    emulator.world.update_flag("production", "new-dashboard", enabled=False)
    await wait_for(pilot, lambda: premium_change(app) is not None, what="the change")


def lines(app: TogulMonitorApp) -> list[str]:
    pane = app.main.history_pane
    return [pane.get_row_at(row)[1].plain.rstrip() for row in range(pane.row_count)]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_a_context_s_change_is_whole(emulator: EmulatorHandle, size: tuple[int, int]) -> None:
    app = premium_app(emulator)
    async with app.run_test(size=size) as pilot:
        await premium_changed(pilot, app, emulator)
        change = premium_change(app)
        assert change is not None and change.before is not None
        said = change_text(change, 0, "premium").plain  # `[premium] true → false`, whole
        assert any(line.startswith("value ") and line.endswith(said) for line in lines(app))


async def test_enter_on_a_history_row_opens_its_event_s_detail(emulator: EmulatorHandle) -> None:
    app = premium_app(emulator)
    async with app.run_test(size=(80, 24)) as pilot:
        await premium_changed(pilot, app, emulator)
        pane = app.main.history_pane
        # The merge ties changes to the profile's environment's events (view/history.py).
        assert app.main.history.answers is app.main.store.answers
        assert app.main.history.names is app.main.environment_names
        pane.focus()
        await pilot.pause()
        event = next(e for e in pane.entries if isinstance(e, FlagEvent))
        assert event.event_id is not None
        for row in range(pane.row_count):  # the event's row, and each of its value changes'
            pane.move_cursor(row=row)
            await pilot.press("enter")
            assert isinstance(app.screen, EventDetailScreen), lines(app)[row]
            assert f"event id    {event.event_id}" in app.screen.body.plain
            await pilot.press("escape")
            assert app.screen is app.main and pane.has_focus


async def test_enter_on_a_history_row_of_an_id_less_event_shows_what_it_changed() -> None:
    """A server that sends no ids (the documented stream, the demo's): the pane's events are the
    journal's copies, and the view knows an id-less event by its own row, so the detail said
    `not known (received before this view)` of a change the feed's row showed."""
    from togul_monitor.emulator.harness import running_emulator

    with running_emulator(seed=0, heartbeat=0.2) as emulator:
        app = premium_app(emulator)
        async with app.run_test(size=(120, 40)) as pilot:
            await premium_changed(pilot, app, emulator)
            main, pane = app.main, app.main.history_pane
            main.selected_flag = "dark-mode"  # the flag read again: its rows the journal's
            main.selected_flag = "new-dashboard"
            await wait_for(
                pilot,
                lambda: premium_change(app) is not None and main.history.current,
                what="the journal's rows",
            )
            pane.focus()
            await pilot.pause()
            for row in range(pane.row_count):  # the event's row, and each of its value changes'
                pane.move_cursor(row=row)
                await pilot.press("enter")
                assert isinstance(app.screen, EventDetailScreen), lines(app)[row]
                body = app.screen.body.plain
                assert "(none: the server sent no id)" in body
                assert "received before this view" not in body and "  premium\n" in body, body
                await pilot.press("escape")
