"""Recorded rows say what they said live: the value change (before → after) and the diff of the
flag's configuration, journalled by an earlier run, in the row (dimmed) and in its detail; with
event ids and in the documented stream form (none)."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Static

from togul_monitor.config.profiles import Profile
from togul_monitor.core import Monitor
from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.emulator.harness import EmulatorHandle, running_emulator
from togul_monitor.store.files import journal_path
from togul_monitor.store.journal import Journal
from togul_monitor.ui.screens.event_detail import EventDetailScreen

from .helpers import feed_lines, make_app, make_profile, wait_for
from .test_backfill import until

FLAG = "new-dashboard"  # true for the test context (plan premium); switched off: false


@pytest.fixture(params=["ids", "no ids"])
def emu(request: pytest.FixtureRequest) -> Iterator[EmulatorHandle]:
    with running_emulator(seed=0, heartbeat=0.2, replay=1000, ids=request.param == "ids") as e:
        yield e


def token_profile(emulator: EmulatorHandle) -> Profile:
    """An API key (stream, values) and the organisation's token (the configurations)."""
    profile = make_profile(emulator, name="recorded-changes", watch=(FLAG,))
    return dataclasses.replace(profile, token=emulator.credentials.org_token)


async def record_switch_off(emulator: EmulatorHandle) -> None:
    """An earlier run: the flag is switched off (a value change and a diff), then it stops."""
    monitor = Monitor(token_profile(emulator), record=True)
    await monitor.start()
    try:
        await until(lambda: emulator.open_streams == 1, "the stream")
        await until(lambda: monitor.snapshot().config_state == "complete", "the configurations")
        await until(lambda: monitor.values().get(FLAG) is not None, "the first value")
        emulator.world.update_flag("production", FLAG, enabled=False)

        def recorded() -> bool:
            snapshot = monitor.snapshot()
            value = snapshot.values.get(FLAG)
            config = snapshot.flag_configs.get(FLAG)
            # The transition and the diff are journalled in the call that publishes these.
            return (
                value is not None
                and value.previous is not None
                and config is not None
                and not config.enabled
            )

        await until(recorded, "the value change and the diff")
    finally:
        await monitor.stop()
    await until(lambda: emulator.open_streams == 0, "the stream closed")


async def test_a_recorded_row_says_its_value_change_and_diff(emu: EmulatorHandle) -> None:
    await record_switch_off(emu)
    app = make_app(token_profile(emu))
    async with app.run_test(size=(160, 40)) as pilot:
        store = app.main.store
        await wait_for(pilot, lambda: store.recorded == 1, what="the recorded row")
        (event,) = [row for row in store.view if type(row) is FlagEvent]
        assert (event.event_id is None) == (emu.ids is False)
        line = feed_lines(app)[0]
        assert FLAG in line and "true → false" in line and "switched off" in line, line
        assert "recorded earlier (journal)" in feed_lines(app)[1]

        app.main.feed.move_to(0)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EventDetailScreen), what="detail")
        body = str(app.screen.query_one("#detail-body", Static).render())
        change = " ".join(body.split())  # its columns are aligned with spaces
        assert "before true" in change and "after false" in change, body
        assert "configuration change flag switched off" in change, body


async def test_a_restart_shows_the_changes_an_earlier_run_found_and_e_exports_them(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """An earlier run found checkout-v2 changed after an outage that lost its event: the feed
    opens on it again, a recorded `re-evaluated` row where it came, and `e` writes it."""
    profile = make_profile(emulator, name="found-earlier")
    env = emulator.credentials.environment_ids["production"]
    t = time.time() - 60  # within the journal's retention
    journal = Journal.open(journal_path(profile.name))
    journal.append_events([FlagEvent("flag.updated", FLAG, env, 2, t, "1", t)])
    journal.append_outage(Outage(t + 5, t + 10, 0, True, t + 10))
    off, on = (Evaluation(v, "boolean", "default", True) for v in (False, True))
    journal.append_transition(
        ValueTransition("checkout-v2", off, on, None, t + 11, "default", True)
    )
    journal.close()
    app = make_app(profile, export_dir=tmp_path / "exports")
    async with app.run_test(size=(160, 40)) as pilot:
        store = app.main.store
        await wait_for(pilot, lambda: store.recorded == 4, what="the recorded rows")
        lines = feed_lines(app)
        assert "re-evaluated checkout-v2" in lines[3] and "false → true +unseen" in lines[3]
        assert "recorded earlier (journal)" in lines[4]
        app.main.feed.move_to(3)  # `w`, `o`, `y` and `enter` act on its flag
        assert app.main.painter.focused_flag(app.main.feed, FLAG) == "checkout-v2"
        await pilot.press("slash", *"checkout", "enter")
        await pilot.press("e")
        await wait_for(pilot, lambda: getattr(app.main, "last_export", None) is not None)
        rows = [json.loads(line) for line in app.main.last_export.read_text().splitlines()]
        found = [(r["flag_key"], r["includes_unseen"]) for r in rows if r["kind"] == "found"]
        assert found == [("checkout-v2", True)]
