"""`R` reconnects the stream and `r` re-evaluates every value (keys, palette, help)."""

from __future__ import annotations

import pytest

from togul_monitor.domain.events import ConnectionState
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.commands import app_commands
from togul_monitor.ui.screens.help import HelpScreen

from .helpers import make_app, make_profile, wait_for, wait_live


async def test_capital_r_reconnects_the_stream(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    connections: list[str | None] = []  # the emulator's side: one per stream request
    subscribe = emulator.outbox.subscribe

    def counted(environment_id: str | None, credential: str | None, last_event_id: str | None):  # type: ignore[no-untyped-def]
        connections.append(last_event_id)
        return subscribe(environment_id, credential, last_event_id)

    monkeypatch.setattr(emulator.outbox, "subscribe", counted)
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        assert await emulator.await_streams(1)
        monitor = app.monitor
        assert monitor is not None
        assert len(connections) == 1
        before = monitor.snapshot().counters.reconnects
        await pilot.press("R")
        await wait_for(pilot, lambda: len(connections) == 2, what="a new stream connection")
        await wait_for(
            pilot,
            lambda: monitor.snapshot().counters.reconnects == before + 1,
            what="the reconnect counted",
        )
        await wait_live(pilot, app)
        assert await emulator.await_streams(1)  # the old connection closed, a new one open
        # The new connection streams: a change made now reaches the feed.
        emulator.world.update_flag("production", "new-dashboard", enabled=False)
        await wait_for(pilot, lambda: app.main.store.shown == 1, what="an event after it")
        assert monitor.snapshot().status.state is ConnectionState.LIVE


async def test_r_re_evaluates_every_value(emulator: EmulatorHandle) -> None:
    app = make_app(make_profile(emulator))
    notes: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        original_notify = app.notify

        def notify(message: str, **kwargs: object) -> None:
            notes.append(message)
            original_notify(message, **kwargs)  # type: ignore[arg-type]

        app.notify = notify  # type: ignore[method-assign]
        await wait_live(pilot, app)
        monitor = app.monitor
        assert monitor is not None
        await wait_for(
            pilot,
            lambda: monitor.snapshot().evaluate_requests > 0 and monitor.evaluations_idle(),  # type: ignore[attr-defined]
            what="the first evaluations",
        )
        before = monitor.snapshot().evaluate_requests
        await pilot.press("r")
        await wait_for(
            pilot,
            lambda: monitor.snapshot().evaluate_requests > before,
            what="new evaluate requests",
        )
        assert "Re-evaluating every value." in notes


async def test_the_palette_and_help_offer_both(emulator: EmulatorHandle) -> None:
    app = make_app(make_profile(emulator), keymap={"reconnect": "ctrl+r"})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        commands = {title: callback for title, callback, _ in app_commands(app, [])}
        assert {"Reconnect the stream now", "Re-evaluate every value"} <= set(commands)
        monitor = app.monitor
        assert monitor is not None
        before = monitor.snapshot().evaluate_requests
        commands["Re-evaluate every value"]()
        await wait_for(pilot, lambda: monitor.snapshot().evaluate_requests > before)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        rows = {binding_id: (keys, tip) for keys, tip, binding_id in app.screen.rows}
        assert rows["reconnect"] == (
            "ctrl+r",  # the keymap in force
            "Reconnect the stream now (also retries rejected credentials)",
        )
        assert rows["reevaluate"] == ("r", "Re-evaluate every value now")
        await pilot.press("escape")
        reconnects = monitor.snapshot().counters.reconnects
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: monitor.snapshot().counters.reconnects > reconnects)
