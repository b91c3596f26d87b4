"""What an event changed in the flag's configuration, where the event shows: the feed's row (one
line, cut with `…` when narrow), the event detail (every line) and the selected flag's history;
and the flag inventory (`i`): every flag, sortable, live, `enter` selects one."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest
from textual.widgets import DataTable, Static

from togul_monitor.config.profiles import Profile
from togul_monitor.core import configs
from togul_monitor.domain.events import ConnectionState, FlagEvent
from togul_monitor.domain.flag_config import Change, ConfigDiff
from togul_monitor.emulator.harness import EmulatorHandle, running_emulator
from togul_monitor.ui.screens.event_detail import EventDetailScreen
from togul_monitor.ui.screens.inventory import InventoryScreen
from togul_monitor.ui.view.change import Part, cut_cells, fit_parts
from togul_monitor.ui.view.config_diffs import ConfigDiffs, with_diff
from togul_monitor.ui.view.feed_layout import row_text
from togul_monitor.ui.view.inventory import state_line

from .helpers import feed_lines, make_app, make_profile, wait_for, wait_live

DIFF = ConfigDiff(
    "checkout-v2",
    "env",
    "7",
    3,
    (Change("rules[r2].rollout_percentage", "changed", 25, 50, "r2", 2, "percentage by user_id"),),
)


def test_the_value_change_stays_whole_and_the_diff_gets_what_it_leaves() -> None:
    value = (Part("false", "dim", cut=1), Part(" → ", "dim"), Part("true", "bold", cut=1))
    long, _ = with_diff(value, value, DIFF, moved=True)
    assert fit_parts(long, 60).plain == "false → true · rollout 25→50% · rule 2"
    assert fit_parts(long, 22).plain == "false → true · rollou…"
    # No room for a word of the diff: left out, and a `…` says so when a cell is free.
    assert fit_parts(long, 17).plain == "false → true · r…"
    assert fit_parts(long, 16).plain == "false → true · …"
    assert fit_parts(long, 15).plain == "false → true …"
    assert fit_parts(long, 13).plain == "false → true…"
    assert fit_parts(long, 12).plain == "false → true"  # exactly the value change: nothing more
    unchanged = (Part("unchanged", "dim", cut=1),)
    long, _ = with_diff(unchanged, unchanged, DIFF, moved=False)  # the diff is the news
    assert fit_parts(long, 30).plain == "rollout 25→50% · rule 2 · unc…"
    assert fit_parts(long, 12).plain == "rollout 25→…"


def token_profile(emulator: EmulatorHandle) -> Profile:
    """An API key (stream, values) and the organisation's token (the flags' configurations)."""
    profile = make_profile(emulator, watch=("checkout-v2",))
    return dataclasses.replace(profile, name="test-token", token=emulator.credentials.org_token)


def loaded(app: Any) -> bool:
    monitor = app.monitor
    return monitor is not None and monitor.snapshot().config_state == "complete"


def row_of(app: Any, flag: str) -> int:
    view = app.main.store.view
    return max(i for i, row in enumerate(view) if type(row) is FlagEvent and row.flag_key == flag)


def body_of(app: Any) -> str:
    return str(app.screen.query_one("#detail-body", Static).render())


def history(app: Any) -> str:
    """The history pane's rows as one text, spaces squeezed (diff lines wrap to the pane)."""
    pane = app.main.history_pane
    rows = (" ".join(cell.plain for cell in pane.get_row_at(i)) for i in range(pane.row_count))
    return " ".join(" ".join(rows).split())


async def test_a_rule_change_shows_in_the_row_the_detail_and_the_history(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A flag is fetched again at most once a second: the second change's diff comes after its
    # detail is open, and fills it in.
    monkeypatch.setattr(configs, "MIN_INTERVAL", 1.0)
    app = make_app(token_profile(emulator))
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_live(pilot, app)
        await wait_for(pilot, lambda: loaded(app), what="the configurations loaded")
        emulator.world.update_rule("production", "checkout-v2", 1, rollout_percentage=50)
        store = app.main.store
        await wait_for(pilot, lambda: len(store.diffs) == 1, what="the diff")
        await wait_for(
            pilot,
            # The value's answer (it moved for the watched context) and the diff come from two
            # requests in either order: wait for the row to say both before measuring it narrow.
            lambda: any(
                "false → true · rollout 25→50% · rule 2" in line for line in feed_lines(app)
            ),
            what="the row saying the value's change and the diff",
        )
        row = store.view[row_of(app, "checkout-v2")]
        # Narrow, the row still says it began with the diff, cut with `…`.
        narrow = row_text(
            row, 60, time_mode="local", now=app.clock(), environment_names={}, store=store
        ).plain
        assert "rollout" in narrow and narrow.rstrip().endswith("…"), narrow

        app.main.feed.move_to(row_of(app, "checkout-v2"))  # selects the flag: its history
        await wait_for(
            pilot,
            lambda: "config rule 2 (percentage by user_id): rollout 25% → 50%" in history(app),
            what="the history's diff line",
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EventDetailScreen), what="detail")
        body = body_of(app)
        assert "configuration change" in body
        assert "rule 2 (percentage by user_id): rollout 25% → 50%" in body, body
        await pilot.press("escape")

        emulator.world.update_rule("production", "checkout-v2", 1, rollout_percentage=75)
        await wait_for(pilot, lambda: store.shown == 2, what="the second event")
        app.main.feed.move_to(row_of(app, "checkout-v2"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EventDetailScreen), what="detail")
        await wait_for(
            pilot, lambda: "rollout 50% → 75%" in body_of(app), what="the diff filled in"
        )
        assert body_of(app).count("configuration change") == 1


async def test_the_inventory_says_its_values_may_be_stale_while_the_stream_is_not_live(
    emulator: EmulatorHandle,
) -> None:
    """As the values pane's title does (view/status.py), and while the screen stays open."""
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_live(pilot, app)
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, InventoryScreen), what="inventory")
        screen = app.screen
        assert isinstance(screen, InventoryScreen)

        def state() -> str:
            return str(screen.query_one("#inventory-state", Static).render())

        assert "not live" not in state(), state()
        # The next connection is refused for a second: connecting, then retrying, then live.
        emulator.faults.fail_next(1, status=503, retry_after=1)
        emulator.faults.cut_streams()
        await wait_for(pilot, lambda: "not live: may be stale" in state(), what="the stale note")
        assert state().startswith("sort: key · not live: may be stale · "), state()
        await wait_for(
            pilot, lambda: "not live" not in state(), timeout=10, what="the note gone once live"
        )
        assert app.monitor is not None
        assert app.monitor.snapshot().status.state is ConnectionState.LIVE


def test_the_inventory_says_how_complete_it_is() -> None:
    def snap(state: str, loaded: int = 0, total: int = 0) -> Any:
        return SimpleNamespace(
            config_state=state, configs_loaded=loaded, configs_total=total, configs_stopped=None
        )

    assert state_line(snap("loading", 3, 23), 5) == "5 flags · loading configurations… 3 of 23"
    assert "need a token profile" in state_line(snap("needs a token profile"), 1)
    assert state_line(snap("complete"), 23) == "23 flags"


async def test_without_event_ids_the_diff_finds_its_event_by_flag_version_and_time() -> None:
    with running_emulator(seed=0, heartbeat=0.2, replay=1000, ids=False) as emulator:
        app = make_app(token_profile(emulator))
        async with app.run_test(size=(140, 40)) as pilot:
            await wait_live(pilot, app)
            await wait_for(pilot, lambda: loaded(app), what="the configurations loaded")
            emulator.world.update_flag("production", "api-rate-limit", default_value=200)
            await wait_for(
                pilot,
                lambda: any("default 100→200" in line for line in feed_lines(app)),
                what="the row saying the diff",
            )
            (event,) = [row for row in app.main.store.view if type(row) is FlagEvent]
            assert event.event_id is None and app.main.store.diffs.for_event(event) is not None
            app.main.feed.move_to(0)  # its history, read from the journal: the diff under it
            await wait_for(
                pilot,
                lambda: "config default 100 → 200" in history(app),
                what="the history's diff line",
            )


async def test_without_a_token_the_detail_says_so_once_and_the_inventory_lists_known_flags(
    emulator: EmulatorHandle,
) -> None:
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_live(pilot, app)
        emulator.world.update_flag("production", "dark-mode", default_value=False)
        await wait_for(pilot, lambda: app.main.store.shown == 1, what="the event")
        app.main.feed.move_to(0)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EventDetailScreen), what="detail")
        assert body_of(app).count("needs a token profile") == 1, body_of(app)
        await pilot.press("escape")
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, InventoryScreen), what="inventory")
        screen = app.screen
        assert isinstance(screen, InventoryScreen)
        state = str(screen.query_one("#inventory-state", Static).render())
        assert "need a token profile" in state, state
        assert "dark-mode" in screen.keys  # known from its event (and the values)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main, what="the inventory closed")


async def test_the_inventory_sorts_updates_live_and_selects(emulator: EmulatorHandle) -> None:
    app = make_app(token_profile(emulator))
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_live(pilot, app)
        await wait_for(pilot, lambda: loaded(app), what="the configurations loaded")
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, InventoryScreen), what="inventory")
        screen = app.screen
        assert isinstance(screen, InventoryScreen)
        flags = {flag.key for flag in emulator.world.list_flags("production")}
        assert set(screen.keys) == flags and screen.keys == sorted(flags)

        def state() -> str:
            return str(screen.query_one("#inventory-state", Static).render())

        assert state().startswith("sort: key")
        table = screen.query_one(DataTable)
        cells = [cell.plain for cell in table.get_row_at(screen.keys.index("checkout-v2"))]
        assert cells[1:5] == ["boolean", "on", "false", "2"], cells
        assert cells[5].startswith("email ends with") and cells[5].endswith("…"), cells
        (row,) = [row for row in screen.source.read("key").rows if row.key == "checkout-v2"]
        assert "; percentage by user_id 25% → " in row.rules_line, row  # the line, uncut

        await pilot.press("s")
        assert state().startswith("sort: last change")
        emulator.world.update_flag("production", "new-onboarding", default_value=True)

        def changed_first() -> bool:
            # The diff as the row holds it, and its cell that row's text cut to the column: how
            # much of it shows depends on the width the last change gets (shown_columns).
            rows = screen.source.read(screen.sort).rows
            room = dict(screen.columns)["last change"]
            return (
                screen.keys[:1] == ["new-onboarding"] == [row.key for row in rows[:1]]
                and "default false→true" in rows[0].change
                and table.get_row_at(0)[8].plain == cut_cells(rows[0].change, room)
            )

        await wait_for(pilot, changed_first, what="the changed flag first, with its diff")
        await pilot.press("s")
        assert state().startswith("sort: type")
        assert screen.selected_flag == "api-rate-limit"  # the cursor kept on its flag

        table.move_cursor(row=screen.keys.index("new-onboarding"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is app.main, what="the inventory closed")
        assert app.main.selected_flag == "new-onboarding"


def test_a_diff_without_ids_is_kept_by_its_event_s_environment_too() -> None:
    # A token's stream: one read brings the flag's change in two environments, at one time.
    from togul_monitor.core.updates import ConfigChanged

    here = FlagEvent("flag.updated", "checkout-v2", "env", 3, 1, None, 50.0)
    there = FlagEvent("flag.updated", "checkout-v2", "env-2", 3, 1, None, 50.0)
    diffs = ConfigDiffs()
    diffs.add(ConfigChanged(msgspec.structs.replace(DIFF, event_id=None), here, 50.2))
    assert diffs.for_event(here) is not None
    assert diffs.for_event(there) is None


async def test_a_change_a_re_fetch_found_is_a_row_of_the_flags_history(
    emulator: EmulatorHandle,
) -> None:
    """After an outage that lost the events, what the re-fetch found explains no event: the
    history pane shows it as a row of its own, live and (read back) from the journal."""
    app = make_app(token_profile(emulator))
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_live(pilot, app)
        await wait_for(pilot, lambda: loaded(app), what="the configurations loaded")
        await wait_for(pilot, lambda: "checkout-v2" in str(app.main.history_pane.border_title))
        emulator.faults.cut_streams()
        emulator.world.update_rule("production", "checkout-v2", 1, rollout_percentage=60)
        emulator.faults.forget_replay()  # its event is never sent
        found = "config found on a re-fetch rule 2 (percentage by user_id): rollout 25% → 60%"
        await wait_for(pilot, lambda: found in history(app), what="the found change")
        reads = app.main.history
        asked = reads.requested
        reads.dirty = True  # read again: the journal's copy now, shown once
        await wait_for(pilot, lambda: reads.requested > asked and reads.current, what="a read")
        await pilot.pause()
        assert history(app).count(found) == 1, history(app)
