"""Values never look current when they may not be (view/doubt.py): while the live stream is
silent (the status bar's `no data Ns`), down, or no monitor runs, the values pane's title, the
inventory's header and a values row's detail say why, and `lag` vouches for no stream that has
measured nothing since; a stale value's words say whether it was asked again or waits for the
stream. No value is marked for it: the view says it."""

from __future__ import annotations

import dataclasses
import io
import time
from typing import Any

from msgspec.structs import replace
from rich.console import Console
from textual.widgets import Static

from togul_monitor.config.resolve import resolve_profile
from togul_monitor.domain.events import ConnectionState, Status
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.app import TogulMonitorApp
from togul_monitor.ui.screens.inventory import InventoryScreen
from togul_monitor.ui.screens.values_detail import ValuesDetailScreen
from togul_monitor.ui.view.doubt import (
    BLIND_WORDS,
    CURRENT_WORDS,
    DOWN,
    SILENT,
    STALE_NOTE,
    STALE_WORDS,
    STOPPED,
    STOPPED_NOTE,
    STOPPED_WORDS,
    Doubt,
    doubt_of,
    state_words,
)
from togul_monitor.ui.view.status import values_titles
from togul_monitor.ui.view.value_columns import NOTHING_RUNS, STALE_MARK

from .helpers import make_app, make_profile, wait_first_value, wait_for, wait_live
from .test_stream_silence import snapshot
from .test_switch import save_profiles, save_wrong_environment

FLAG = "new-dashboard"


def test_the_doubt_follows_the_bars_silence_the_stream_and_the_monitor() -> None:
    live = snapshot(1_000.0)
    assert doubt_of(live, None) is None
    assert doubt_of(live, 50.4) == Doubt(SILENT, silent=50.4)
    lost = replace(live, status=Status(ConnectionState.RETRYING, at=1.0), blind=True)
    assert doubt_of(lost, None) == Doubt(DOWN, blind=True)
    starting = replace(live, status=Status(ConnectionState.CONNECTING, at=1.0))
    assert doubt_of(starting, None) == Doubt(DOWN)  # never live: what it asked, it asked
    assert doubt_of(None, None) is None and doubt_of(None, None, stopped=True) == Doubt(STOPPED)

    assert values_titles(("default",), live, doubt=Doubt(SILENT, silent=50.4)) == (
        "values · no data 50s: may be stale",
        "",
    )
    assert values_titles(("default",), None, doubt=Doubt(STOPPED))[0] == f"values · {STOPPED_NOTE}"
    assert values_titles(("default",), lost, doubt=Doubt(DOWN))[0] == f"values · {STALE_NOTE}"


def test_a_values_state_says_what_is_true_of_it() -> None:
    assert state_words(False, None) == CURRENT_WORDS
    silent = state_words(False, Doubt(SILENT, silent=50.0))
    assert silent.startswith("may be stale: the stream has been silent 50s"), silent
    assert state_words(True, None) == STALE_WORDS  # asked again: a request is out
    assert state_words(True, Doubt(SILENT, silent=50.0)) == STALE_WORDS  # evaluate answers
    assert state_words(True, Doubt(DOWN)) == STALE_WORDS  # asked at the start, not live yet
    assert state_words(True, Doubt(DOWN, blind=True)) == BLIND_WORDS
    assert state_words(True, Doubt(STOPPED)) == STOPPED_WORDS


def text_of(static: Static) -> str:
    console = Console(width=200, file=io.StringIO(), color_system=None, legacy_windows=False)
    with console.capture() as captured:
        console.print(static.content)
    return captured.get()


async def open_values_detail(pilot: Any, app: TogulMonitorApp) -> Static:
    """`enter` on FLAG's values row: the detail's body."""
    table = app.main.values_table
    table.focus()
    table.move_cursor(row=table.get_row_index(FLAG))
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ValuesDetailScreen), what="values")
    return app.screen.query_one("#values-detail-body", Static)


async def test_a_stalled_live_stream_says_its_values_may_be_stale(
    emulator: EmulatorHandle,
) -> None:
    """A heartbeat of 30 s: the read timeout calls the stream dead only after 90 s of silence.
    The bar said `● live · no data 50s` while the values pane's title was plain, the detail said
    `current` and the bar `lag <1s`. The app's clock is moved 50 s on while the emulator
    stalls: the silence the bar counts, without waiting for it."""
    ahead = [0.0]
    profile = dataclasses.replace(make_profile(emulator), heartbeat_seconds=30.0)
    app = make_app(profile, clock=lambda: time.time() + ahead[0])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        await wait_first_value(pilot, app, FLAG)
        emulator.world.update_flag("production", "checkout-v2", enabled=False)
        await wait_for(pilot, lambda: app.main.store.shown == 1, what="an event: a lag")
        painter, pane = app.main.painter, app.query_one("#values-pane")
        await wait_for(pilot, lambda: painter.status_bar.info.lag is not None, what="its lag")
        assert pane.border_title == "values"

        emulator.faults.stall(30.0)
        emulator.world.update_flag("production", FLAG, enabled=False)  # held by the stall
        ahead[0] = 50.0
        await wait_for(pilot, lambda: painter.status_bar.info.silent is not None, what="silent")
        await wait_for(pilot, lambda: "no data" in str(pane.border_title), what="the title")
        assert str(pane.border_title).startswith("values · no data 5"), pane.border_title
        bar = painter.status_bar.render().plain
        assert "● live · no data 5" in bar and " lag - " in bar, bar
        body = await open_values_detail(pilot, app)
        await wait_for(pilot, lambda: "may be stale" in text_of(body), what="the detail")
        assert "may be stale: the stream has been silent 5" in text_of(body), text_of(body)
        assert "current" not in text_of(body)
        assert not any(value.stale for value in app.main.values_table.values.values())
        await pilot.press("escape")
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, InventoryScreen), what="inventory")
        header = app.screen.query_one("#inventory-state", Static)
        await wait_for(pilot, lambda: "no data 5" in text_of(header), what="its header")
        await pilot.press("escape")

        emulator.faults.stall(0.0)  # data again: the held change comes, the notes go
        emulator.world.update_flag("production", "checkout-v2", enabled=True)
        await wait_for(pilot, lambda: pane.border_title == "values", what="the title plain")
        body = await open_values_detail(pilot, app)
        await wait_for(pilot, lambda: CURRENT_WORDS in text_of(body), what="current again")


async def test_an_outage_says_its_values_wait_for_the_stream(emulator: EmulatorHandle) -> None:
    """During an outage every value is ⟳, and its detail said `asked again, not answered yet`
    for the whole outage: nothing is asked until the stream is back."""
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        await wait_first_value(pilot, app, FLAG)
        emulator.faults.fail_next(50, status=503, retry_after=5)
        emulator.faults.cut_streams()
        table, pane = app.main.values_table, app.query_one("#values-pane")
        await wait_for(pilot, lambda: table.values[FLAG].stale, what="the value ⟳")
        await wait_for(pilot, lambda: STALE_NOTE in str(pane.border_title), what="the title")
        assert " lag - " in app.main.painter.status_bar.render().plain
        body = await open_values_detail(pilot, app)
        await wait_for(pilot, lambda: BLIND_WORDS in text_of(body), what="the detail")
        assert "asked again, not answered yet" not in text_of(body)


async def test_after_a_failed_switch_the_values_say_nothing_runs(
    emulator: EmulatorHandle,
) -> None:
    """The profile before's values stayed ⟳, each saying `asked again, not answered yet` for
    good, with no monitor running."""
    save_profiles(emulator)
    save_wrong_environment(emulator)
    app = make_app(resolve_profile("prod"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        await wait_first_value(pilot, app, FLAG)
        table, pane = app.main.values_table, app.query_one("#values-pane")
        await wait_for(pilot, lambda: not table.values[FLAG].stale, what="its value")
        app.switch_profile("wrongenv")
        await wait_for(pilot, lambda: not app.session.switching, what="the switch over")
        await wait_for(pilot, lambda: table.values[FLAG].stale, what="the value ⟳")
        await wait_for(pilot, lambda: STOPPED_NOTE in str(pane.border_title), what="the title")
        # The profile before's value, ⟳ on screen; or, when the failing profile's monitor had
        # been adopted before its check failed, its blank one, which says it will not come.
        held = table.values[FLAG].current is not None
        row = " ".join(cell.plain for cell in table.get_row(FLAG))
        assert (STALE_MARK in row) if held else ("not evaluated" in row), row  # cut to fit
        body = await open_values_detail(pilot, app)
        said = STOPPED_WORDS if held else NOTHING_RUNS
        await wait_for(pilot, lambda: said in text_of(body), what="the detail")
        assert "asked again, not answered yet" not in text_of(body)
