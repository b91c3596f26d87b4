"""Flag and environment keys that look like markup are shown as they are in the titles and the
column headers of the screens over the main one: `x[/]` crashed the app (MarkupError),
`[bold red]y[/]` was shown bold red without its brackets, `[@click=app.quit]z[/]` became an
action link."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.containers import Vertical, VerticalScroll
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import DataTable

from togul_monitor.emulator.harness import EmulatorHandle, running_emulator
from togul_monitor.emulator.seed import seed_state
from togul_monitor.ui.screens.coverage import CoverageScreen
from togul_monitor.ui.screens.env_diff import EnvDiffScreen
from togul_monitor.ui.screens.env_matrix import EnvMatrixScreen

from .helpers import make_app, make_profile, wait_for, wait_live

KEYS = ("x[/]", "[bold red]y[/]", "[@click=app.quit]z[/]")


@pytest.fixture
def markup_emulator(tmp_path: Path) -> Iterator[EmulatorHandle]:
    """The seeded world with staging renamed `[bold red]y[/]`, and two more environments,
    `x[/]` and `[@click=app.quit]z[/]` (without flags)."""
    state = seed_state(0)
    renamed = KEYS[1]
    for item in (*state["flags"], *state["api_keys"]):
        if item["environment"] == "staging":
            item["environment"] = renamed
    state["environments"][1]["key"] = renamed
    for number, key in enumerate((KEYS[0], KEYS[2])):
        state["environments"].append({"id": f"env-markup-{number}", "key": key, "name": key})
    path = tmp_path / "state.json"
    path.write_text(json.dumps(state))
    with running_emulator(heartbeat=0.2, state_file=path) as emu:
        yield emu


def top_line(widget: Widget) -> str:
    """What the widget's first line shows as Textual paints it (a box's border and title, a
    table's column headers)."""
    (line,) = widget.render_lines(Region(0, 0, widget.outer_size.width, 1))
    return line.text


async def test_markup_in_keys_is_shown_literally_in_titles_and_columns(
    markup_emulator: EmulatorHandle,
) -> None:
    emulator = markup_emulator
    profile = dataclasses.replace(
        make_profile(emulator, watch=()), token=emulator.credentials.org_token
    )
    app = make_app(profile)
    async with app.run_test(size=(220, 40)) as pilot:
        await wait_live(pilot, app)
        for key in KEYS:
            emulator.world.create_flag("production", key)
        values = app.main.values_table
        await wait_for(pilot, lambda: set(KEYS) <= set(values.values), what="their values")
        values.focus()
        values.move_cursor(row=values.get_row_index(KEYS[0]))

        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, CoverageScreen), what="coverage")
        await pilot.pause()
        assert "coverage · x[/]" in top_line(app.screen.query_one(VerticalScroll))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main, what="back to the main screen")

        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, EnvMatrixScreen), what="matrix")
        matrix = app.screen
        assert isinstance(matrix, EnvMatrixScreen)
        await wait_for(pilot, lambda: set(KEYS) <= set(matrix.keys), what="the first read")
        header = top_line(matrix.table)
        assert all(key in header for key in KEYS), header
        matrix.table.move_cursor(row=matrix.keys.index(KEYS[2]))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EnvDiffScreen), what="the diff")
        await pilot.pause()
        diff = app.screen
        title = f"{KEYS[2]}: production ↔ {KEYS[1]}"
        assert title in top_line(diff.query_one(Vertical))
        assert KEYS[1] in top_line(diff.query_one(DataTable))
        await pilot.press("escape", "escape")
        await wait_for(pilot, lambda: app.screen is app.main, what="back to the main screen")
        assert app.is_running
