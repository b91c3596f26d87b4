"""The history pane says it is reading while the journal read of the selected flag runs (a
large flag's takes a second or two), and "no history" only once the read answered with nothing
(widgets/history_pane.py)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.screens import main_jobs
from togul_monitor.ui.widgets.history_pane import HistoryPane

from .helpers import make_app, make_profile, wait_for, wait_live


def said(pane: HistoryPane) -> list[str]:
    """The pane's rows as text, a line each."""
    rows = (pane.get_row_at(row) for row in range(pane.row_count))
    return [" ".join(str(cell) for cell in row).strip() for row in rows]


async def test_the_pane_says_reading_until_the_read_answers(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()  # the journal read waits on it, as a slow read of a large flag
    read = main_jobs.read_history

    def slow_read(*args: Any) -> None:
        gate.wait(10)  # bounded: a failing test does not hold its worker
        read(*args)

    app = make_app(make_profile(emulator))  # new-dashboard watched: valued, no event
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        emulator.world.update_flag("production", "dark-mode", enabled=False)
        main, pane = app.main, app.main.history_pane
        await wait_for(pilot, lambda: main.store.shown == 1, what="the event")
        # The feed follows: its newest row's flag is selected, and read.
        await wait_for(pilot, lambda: pane.flag_key == "dark-mode", what="dark-mode selected")
        await wait_for(pilot, lambda: main.history.current, what="its read")
        monkeypatch.setattr(main_jobs, "read_history", slow_read)
        await wait_for(pilot, lambda: "new-dashboard" in main.keys.flag_keys(), what="a value")
        for flag, found in (("new-dashboard", False), ("dark-mode", True)):
            gate.clear()
            await pilot.press("g", *flag, "enter")
            await wait_for(pilot, lambda f=flag: pane.flag_key == f, what=f"{flag} selected")
            await pilot.pause()
            assert said(pane) == ["reading…"]  # not "no history": the read runs
            gate.set()
            await wait_for(pilot, lambda: said(pane) != ["reading…"], what="the answer")
            if found:
                assert any("flag.updated" in line for line in said(pane))
            else:
                assert said(pane) == ["no history"]
