"""A token the server refuses mid-run stops the configuration diffs: the main screen says so (the
status bar's third line while it lasts, a notification once), the inventory marks the rules and
defaults it still shows as the last read, and all of it goes when the server takes the token
again (view/config_stop.py, core/config_refusal.py)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from textual.widgets import Static

from togul_monitor.config.profiles import Profile
from togul_monitor.core.updates import ConfigsStopped
from togul_monitor.emulator.harness import running_emulator
from togul_monitor.ui.screens.inventory import STALE_STYLE, InventoryScreen, row_cells
from togul_monitor.ui.view.config_stop import TITLE, notice, stale_configs, stopped_note
from togul_monitor.ui.view.inventory import InventoryRow

from .helpers import make_app, make_profile, wait_for, wait_live

HINT = (
    "the token expired at 2025-01-01 02:38:01Z; there is no refresh token to renew it; "
    "log in again: togul-monitor login --profile ttl"
)
ERROR = "management API answered HTTP 401 for /api/v1/projects/p/flags/f"


def test_the_note_says_what_to_do_first_and_how_long_ago() -> None:
    profile = Profile("ttl", "http://x", "production", source_file=Path("/p.toml"))
    stopped = ConfigsStopped(ERROR, HINT, at=100.0)
    text, short = stopped_note(stopped, profile, 142.0)
    assert text == (
        "configuration diffs stopped 42s ago: log in again: togul-monitor login --profile ttl "
        f"(the token expired at 2025-01-01 02:38:01Z; there is no refresh token to renew it; "
        f"{ERROR})"
    )
    assert short == "config diffs stopped 42s ago: log in again: togul-monitor login --profile ttl"
    assert len(short) <= 79  # the narrow bar (80 columns) keeps the command whole
    said = notice(stopped, profile, "p", "R")
    assert said.startswith("The server refused the token: the token expired at 2025-"), said
    assert said.endswith(
        "To resume, log in again: togul-monitor login --profile ttl, then reopen the profile "
        "(p, enter); R tries again."
    )
    assert ERROR in notice(ConfigsStopped(ERROR), profile, "p", "R")  # nothing says more
    assert stale_configs(None, 90.0, 142.0) == ""
    # The age of the last read (before the refusal), not of the refusal.
    assert (
        stale_configs(stopped, 90.0, 400.0) == "rules and defaults last read 5m ago (diffs stopped)"
    )


def test_the_inventory_marks_the_configuration_it_no_longer_follows() -> None:
    row = InventoryRow("f", "f", "boolean", True, "false", 2, "plan = x → true", "true", None, "")
    columns = [("on", 3), ("default", 10), ("rules", 5), ("your value", 10)]
    current = row_cells(row, 0.0, columns)
    stale = row_cells(row, 0.0, columns, stale=True)
    assert [cell.plain for cell in stale] == [cell.plain for cell in current]
    assert [str(cell.style) for cell in stale[:3]] == [STALE_STYLE] * 3
    assert STALE_STYLE not in {str(cell.style) for cell in current}
    assert str(stale[3].style) == "bold"  # the value is the monitor's own: not marked


async def test_a_token_refused_mid_run_is_said_and_cleared_when_taken_again() -> None:
    shift = [0.0]  # the server's clock: moved past the token's expiry, then back

    def clock() -> float:
        return time.time() + shift[0]

    with running_emulator(seed=0, heartbeat=0.2, ids=True, clock=clock, token_ttl=3600) as emu:
        profile = make_profile(emu, watch=("checkout-v2",))
        profile = dataclasses.replace(profile, name="test-ttl", token=emu.credentials.org_token)
        app = make_app(profile)
        said: list[tuple[str, str]] = []
        async with app.run_test(size=(120, 40)) as pilot:
            original = app.notify

            def notify(message: str, **kwargs: Any) -> None:
                said.append((str(kwargs.get("title", "")), message))
                original(message, **kwargs)

            app.notify = notify  # type: ignore[method-assign]
            await wait_live(pilot, app)
            monitor = app.monitor
            assert monitor is not None
            await wait_for(
                pilot, lambda: monitor.snapshot().config_state == "complete", what="configs"
            )
            status = app.main.painter.status_bar

            def third_line() -> str:
                notes = status.info.notes
                return notes[0].text if notes else ""

            assert "diffs stopped" not in third_line()
            shift[0] = 7200.0  # the token has expired for the server
            emu.world.update_flag("production", "checkout-v2", default_value=True)
            await wait_for(
                pilot, lambda: "configuration diffs stopped" in third_line(), what="the note"
            )
            assert "give a fresh token (--token-file or TOGUL_TOKEN)" in third_line(), third_line()
            assert "HTTP 401" in third_line()
            await wait_for(pilot, lambda: any(t == TITLE for t, _ in said), what="the toast")
            emu.world.update_flag("production", "checkout-v2", default_value=False)
            await wait_for(pilot, lambda: app.main.store.shown == 2, what="the second event")
            await pilot.press("i")
            await wait_for(pilot, lambda: isinstance(app.screen, InventoryScreen), what="inv")
            screen = app.screen
            assert isinstance(screen, InventoryScreen)
            header = str(screen.query_one("#inventory-state", Static).render())
            assert "rules and defaults last read" in header and "(diffs stopped)" in header, header
            # checkout-v2's second change came after its last read (its re-fetch refused).
            assert "1 flag changed since read" in header, header
            await pilot.press("escape")

            shift[0] = 0.0  # the server takes the token again: `R` tries once more
            await pilot.press("R")
            await wait_for(
                pilot,
                lambda: monitor.snapshot().configs_stopped is None,
                timeout=10,
                what="the diffs followed again",
            )
            await wait_for(pilot, lambda: "diffs stopped" not in third_line(), what="note gone")
            assert [t for t, _ in said].count(TITLE) == 1  # said once, for the one stop
