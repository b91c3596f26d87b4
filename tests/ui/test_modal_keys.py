"""The inventory (`i`), the environment matrix (`c`), the coverage (`o`), the profile switcher
(`p`), a feed row's detail (`enter`), the jump finder (`g`) and the profile form: their own
footer lists their own keys (not the main screen's, which do nothing there), `esc` closes them
(`q` too where no text box takes it), and the help opens over them, listing their keys."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from rich.text import Text
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Footer, Input
from textual.widgets._footer import FooterKey

from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.app import TogulMonitorApp
from togul_monitor.ui.screens.coverage import CoverageScreen
from togul_monitor.ui.screens.env_matrix import EnvMatrixScreen
from togul_monitor.ui.screens.event_detail import EventDetailScreen
from togul_monitor.ui.screens.help import HelpScreen
from togul_monitor.ui.screens.inventory import InventoryScreen
from togul_monitor.ui.screens.jump import JumpScreen
from togul_monitor.ui.screens.profile_form import ProfileFormScreen
from togul_monitor.ui.screens.profile_switcher import ProfileSwitcherScreen

from .helpers import make_app, make_profile, wait_for, wait_live

MAIN_ONLY = {"Filter", "Pause", "Detail", "Profiles", "Watch", "Export", "Quit"}


def footer_labels(screen: Screen[Any]) -> set[str]:
    return {key.description for key in screen.query_one(Footer).query(FooterKey)}


async def open_screen(pilot: Pilot[Any], app: TogulMonitorApp, key: str) -> Screen[Any]:
    if key == "o":  # the coverage of the selected flag: select one first
        table = app.main.values_table
        await wait_for(pilot, lambda: "new-dashboard" in table.values, what="the value")
        table.focus()
        table.move_cursor(row=table.get_row_index("new-dashboard"))
    await pilot.press(key)
    await wait_for(pilot, lambda: app.screen is not app.main, what="the screen")
    return app.screen


MAIN_TIPS = ("Filter the feed", "Pause/resume the feed", "Watch/unwatch the selected flag")


@pytest.mark.parametrize(
    ("key", "kind", "own", "tips"),
    [
        (
            "i",
            InventoryScreen,
            {"Close", "Sort", "Help"},
            ("Sort by key, last change or type", "Select the flag in the main screen"),
        ),
        (
            "c",
            EnvMatrixScreen,
            {"Close", "Only differing", "Env A", "Env B", "Refresh", "Help"},
            ("Environment A: the next one", "The flag side by side in environments A and B"),
        ),
        ("o", CoverageScreen, {"Close", "Help"}, ("Close and stop sampling",)),
        (
            "p",
            ProfileSwitcherScreen,
            {"Close", "Add", "Edit", "Help"},
            ("Add a profile", "Switch to it"),
        ),
    ],
)
async def test_a_screen_over_the_main_one_shows_its_keys_and_answers_q_and_help(
    emulator: EmulatorHandle,
    key: str,
    kind: type[Screen[Any]],
    own: set[str],
    tips: tuple[str, ...],
) -> None:
    profile = make_profile(emulator)
    if key == "c":  # the matrix offers its keys only with a token (they read)
        profile = dataclasses.replace(profile, token=emulator.credentials.org_token)
    app = make_app(profile)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        screen = await open_screen(pilot, app, key)
        assert isinstance(screen, kind)
        await pilot.pause()
        # The bottom row the user sees is the screen's own footer, with its own keys.
        bottom, _ = screen.get_widget_at(60, 39)
        assert isinstance(bottom, (Footer, FooterKey))
        assert footer_labels(screen) == own and not footer_labels(screen) & MAIN_ONLY

        await pilot.press("question_mark")  # the help, over the screen: its keys, no others
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help")
        listed = "\n".join(what for _keys, what, _id in app.screen.rows)
        assert all(tip in listed for tip in tips), listed
        assert not any(tip in listed for tip in MAIN_TIPS), listed
        await pilot.press("question_mark")  # closes the help: back to the screen
        await wait_for(pilot, lambda: app.screen is screen, what="the help closed")
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help (f1)")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, what="the help closed")

        await pilot.press("q")  # closes the screen, not the app
        await wait_for(pilot, lambda: app.screen is app.main, what="the screen closed")
        assert app.is_running


async def test_the_detail_the_jump_finder_and_the_profile_form_show_their_own_keys(
    emulator: EmulatorHandle,
) -> None:
    """Before, these three showed the main screen's footer (`/ Filter  space Pause ...`), none
    of whose keys worked there, and `?` did nothing over the detail. The finder and the form take
    `?` and `q` as text: their help is `f1`, and their footer says so."""
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screens: list[tuple[Screen[Any], set[str], str]] = [
            (EventDetailScreen(Text("flag.updated  new-dashboard")), {"Close", "Help"}, "?"),
            (JumpScreen(["new-dashboard"]), {"Close", "Help"}, "f1"),
            (ProfileFormScreen(None), {"Cancel", "Save", "Help"}, "f1"),
        ]
        for screen, own, help_key in screens:
            app.push_screen(screen)
            await wait_for(pilot, lambda s=screen: app.screen is s, what="the screen")
            await pilot.pause()
            bottom, _ = screen.get_widget_at(60, 39)
            assert isinstance(bottom, (Footer, FooterKey)), (screen, bottom)
            assert footer_labels(screen) == own, screen
            shown = {key.key_display for key in screen.query_one(Footer).query(FooterKey)}
            assert help_key in shown, shown
            if help_key == "f1":  # typed as text, not the help
                await pilot.press("question_mark")
                assert app.screen is screen and "?" in screen.query_one(Input).value
            await pilot.press(help_key)
            await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help")
            listed = "\n".join(what for _keys, what, _id in app.screen.rows)
            assert not any(tip in listed for tip in MAIN_TIPS), listed
            await pilot.press("escape")
            await wait_for(pilot, lambda s=screen: app.screen is s, what="the help closed")
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is app.main, what="the screen closed")
