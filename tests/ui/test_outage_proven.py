"""A reconnect on a quiet stream is marked `may be missing` (nothing proved it whole then); the
next event, whose id follows the last one's, proves it whole (client/outages.py): the feed's
marker and the history pane's outage say so, in place."""

from __future__ import annotations

import pytest

from togul_monitor.client import outages
from togul_monitor.domain.events import Outage
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.view.rows import PROVEN_LATER, row_marker

from .helpers import feed_lines, make_app, make_profile, wait_first_value, wait_for, wait_live


async def test_a_quiet_reconnect_proved_whole_later_is_marked_so(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outages, "DECISION_DELAY", 0.1)
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        await wait_first_value(pilot, app)
        store = app.main.store
        emulator.world.update_flag("production", "new-dashboard", enabled=False)
        await wait_for(pilot, lambda: store.shown == 1, what="the first event")
        await pilot.press("R")  # nothing comes after the reconnect: no proof then
        await wait_for(
            pilot,
            lambda: any(row_marker(row) == "outage-missing" for row in store.view),
            what="the may-be-missing marker",
        )
        markers = len(store.view)
        emulator.world.update_flag("production", "new-dashboard", enabled=True)  # id L + 1
        await wait_for(pilot, lambda: store.shown == 2, what="the next event")
        await wait_for(
            pilot,
            lambda: not any(row_marker(row) == "outage-missing" for row in store.view),
            what="the marker revised",
        )
        assert len(store.view) == markers + 1  # revised in place: only the event was added
        lines = feed_lines(app)
        assert any("disconnected" in line for line in lines)
        assert any(PROVEN_LATER.strip() in line for line in lines)
        assert not any("may be missing" in line for line in lines)
        pane = app.main.history_pane
        await wait_for(
            pilot,
            lambda: any(isinstance(e, Outage) and e.proven_at for e in pane.entries),
            what="the outage proved whole in the flag's history",
        )
        (outage,) = [e for e in pane.entries if isinstance(e, Outage)]  # in place: one row
        assert outage.may_have_missed is False
