"""What a hostile user found: small terminals, long filters (each test failed before its fix)."""

from __future__ import annotations

from togul_monitor.emulator.harness import EmulatorHandle

from .helpers import make_app, make_profile, wait_for, wait_live


async def test_a_crowded_status_line_never_pushes_the_counts_off_an_80x24_bar(
    emulator: EmulatorHandle,
) -> None:
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_live(pilot, app)
        status = app.query_one("#status")
        await pilot.press("space", "1", "2")  # paused, two types hidden: a long first line
        await wait_for(pilot, lambda: "hidden" in status.render_line(0).text, what="hidden")
        first, second = (status.render_line(y).text for y in range(2))
        assert "PAUSED" in first and "…" in first.rstrip()[-3:]  # cut, not wrapped
        assert "shown" in second and "drop" in second  # the counts stay visible
