"""Pilot: `o` on the selected flag opens the coverage screen, which samples on a worker and shows
each context's values and the percentage rule's configured against observed share; `esc`
closes it and cancels the run; without a selected flag nothing opens; a flag edited during the
run is said, and no rule is compared."""

from __future__ import annotations

from dataclasses import replace

import pytest
from textual.geometry import Region
from textual.widgets import Static

from togul_monitor.core import coverage
from togul_monitor.domain.coverage_words import percent
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.screens.coverage import CoverageScreen
from togul_monitor.ui.view.coverage import coverage_tables

from ..integration.test_coverage_changed import patch_open_client
from .helpers import make_app, make_profile, wait_for, wait_live


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(coverage, "MAX_RATE", 100_000.0)


async def test_o_opens_the_coverage_of_the_selected_flag(
    emulator: EmulatorHandle, fast: None
) -> None:
    # A token: the monitor reads the flags' configurations, whose rules the screen shows.
    profile = make_profile(emulator, watch=("checkout-button-color",))
    profile = replace(profile, token=emulator.credentials.org_token)
    app = make_app(profile)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        table = app.main.values_table
        await wait_for(pilot, lambda: "checkout-button-color" in table.values, what="the value")
        monitor = app.monitor
        assert monitor is not None
        configs = lambda: monitor.snapshot().flag_configs  # noqa: E731
        await wait_for(pilot, lambda: "checkout-button-color" in configs(), what="the config")
        table.focus()
        table.move_cursor(row=table.get_row_index("checkout-button-color"))
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, CoverageScreen), what="the screen")
        screen = app.screen
        assert isinstance(screen, CoverageScreen)
        assert screen.flag_key == "checkout-button-color"
        await wait_for(pilot, lambda: screen.result is not None, timeout=10, what="the result")
        result = screen.result
        assert result is not None
        (context,) = result.contexts
        assert context.answered == 200 and context.failed == 0
        assert {v.value for v in context.values} == {"green", "blue"}
        (shown,) = coverage_tables(result)
        assert shown.title.startswith("default (") and "user_id varied" in shown.title
        assert result.config_known
        ((label, status, configured, observed),) = shown.rules
        assert label == 'rule 1: percentage by user_id → "green"' and status == "percentage"
        (rule,) = context.rules
        assert configured == "50 %" and observed == f"{percent(rule.observed)} of 200"
        assert rule.observed is not None and 40 <= rule.observed <= 60
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, CoverageScreen), what="closed")


async def test_escape_cancels_a_run_under_way(emulator: EmulatorHandle) -> None:
    app = make_app(make_profile(emulator))  # new-dashboard watched: a row to select
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        table = app.main.values_table
        await wait_for(pilot, lambda: "new-dashboard" in table.values, what="the value")
        table.focus()
        table.move_cursor(row=table.get_row_index("new-dashboard"))
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, CoverageScreen), what="the screen")
        screen = app.screen
        assert isinstance(screen, CoverageScreen)
        await wait_for(pilot, lambda: screen.done > 0, what="some progress")  # paced: 50/s
        await pilot.press("escape")
        assert screen.run.cancelled
        await wait_for(pilot, lambda: not isinstance(app.screen, CoverageScreen), what="closed")
        await wait_for(pilot, lambda: screen.run.finished, what="the run to end")
        assert screen.result is None  # cancelled: no result
        assert emulator.requests.count("POST", "/api/v1/evaluate") < 200  # stopped early


async def test_a_flag_edited_during_the_run_is_said_and_no_rule_is_compared(
    emulator: EmulatorHandle, fast: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's evaluate client sets rule 2 of checkout-v2 from 90 % to 10 % once 20 answers
    are in (before it returns the 20th): the edit lands during the run, whatever the timing."""
    flag = "checkout-v2"
    world = emulator.world
    world.update_rule("production", flag, 1, rollout_percentage=90)

    patch_open_client(monkeypatch, emulator, 10, coverage)
    profile = make_profile(emulator, watch=(flag,))
    profile = replace(profile, token=emulator.credentials.org_token)
    app = make_app(profile)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        table = app.main.values_table
        await wait_for(pilot, lambda: flag in table.values, what="the value")
        monitor = app.monitor
        assert monitor is not None
        configs = lambda: monitor.snapshot().flag_configs  # noqa: E731
        await wait_for(pilot, lambda: configs().get(flag) is not None, what="the config")
        await wait_for(
            pilot,
            lambda: configs()[flag].rules[1].rollout_percentage == 90,
            what="the 90 % read",
        )
        version = configs()[flag].version
        assert version is not None
        table.focus()
        table.move_cursor(row=table.get_row_index(flag))
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, CoverageScreen), what="the screen")
        screen = app.screen
        assert isinstance(screen, CoverageScreen)
        await wait_for(pilot, lambda: screen.result is not None, timeout=10, what="the result")
        result = screen.result
        assert result is not None
        said = (
            f"{flag} changed during the run (version {version} → {version + 1}): "
            "the samples mix both configurations; run it again"
        )
        await pilot.pause()
        body = screen.query_one("#coverage-body", Static)
        rendered = "\n".join(line.text for line in body.render_lines(Region(0, 0, 110, 30)))
        assert rendered.splitlines()[0].rstrip() == said  # first, above the tables
        assert "configured" not in rendered and "observed" not in rendered
        state = str(screen.query_one("#coverage-state", Static).render())
        assert "the flag changed during the run" in state
        assert all(not table.rules for table in coverage_tables(result))
