"""The main screen's footer at the width it has now: a terminal narrowed to 80 columns after
the start shows every key's label whole (the palette's key goes, as when it starts narrow)."""

from __future__ import annotations

from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.app import TogulMonitorApp

from .helpers import make_app, make_profile, wait_for, wait_live


def palette_shown(app: TogulMonitorApp) -> bool:
    keys = app.main.query_one(Footer).query(FooterKey)
    return any(key.has_class("-command-palette") for key in keys)


def quit_whole(app: TogulMonitorApp) -> bool:
    footer = app.main.query_one(Footer)
    quit_key = next(key for key in footer.query(FooterKey) if key.description == "Quit")
    return quit_key.region.right <= footer.region.right and "Quit" in str(quit_key.render())


async def test_narrowing_the_terminal_drops_the_palette_key_and_keeps_quit_whole(
    emulator: EmulatorHandle,
) -> None:
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        assert palette_shown(app)
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: not palette_shown(app), what="the palette key gone")
        await pilot.pause()
        assert quit_whole(app)
        await pilot.resize_terminal(120, 40)
        await wait_for(pilot, lambda: palette_shown(app), what="the palette key back")
