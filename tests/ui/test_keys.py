"""Pilot tests: every key of the TUI (README.md, "Using it") against the real MonitorThread and
emulator."""

from __future__ import annotations

import json
from pathlib import Path

from textual.command import CommandList, CommandPalette
from textual.containers import VerticalScroll
from textual.geometry import Region

from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.protocol import EVENT_TYPES
from togul_monitor.ui.screens.event_detail import EventDetailScreen
from togul_monitor.ui.screens.help import HelpScreen
from togul_monitor.ui.view.found import FoundChange
from togul_monitor.ui.view.rows import row_event
from togul_monitor.ui.widgets.filter_bar import FilterBar

from .helpers import (
    accounted,
    feed_lines,
    make_app,
    make_profile,
    wait_first_value,
    wait_for,
    wait_live,
)


async def test_feed_values_and_history_follow_the_stream(emulator: EmulatorHandle) -> None:
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        emulator.world.update_flag("production", "new-dashboard", enabled=False)
        await wait_for(pilot, lambda: app.main.store.shown == 1, what="the event in the feed")
        assert "flag.updated" in feed_lines(app)[0]
        assert "new-dashboard" in feed_lines(app)[0]
        assert "production" in feed_lines(app)[0]
        # The value table gets the flag (watched) and its re-evaluated value.
        await wait_for(
            pilot,
            lambda: (
                "new-dashboard" in app.main.values_table.values
                and app.main.values_table.values["new-dashboard"].current is not None
                and app.main.values_table.values["new-dashboard"].current.enabled is False
            ),
            what="the re-evaluated value",
        )
        # The history pane shows the selected (watched) flag's event and transition.
        await wait_for(
            pilot,
            lambda: any(
                getattr(e, "type", None) == "flag.updated" for e in app.main.history_pane.entries
            ),
            what="the history pane",
        )
        assert app.main.history_pane.flag_key == "new-dashboard"


async def test_filter_bar_applies_valid_filters_and_keeps_them_on_error(
    emulator: EmulatorHandle,
) -> None:
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        emulator.world.update_flag("production", "new-dashboard", enabled=False)
        emulator.world.update_flag("production", "checkout-v2", enabled=False)
        await wait_for(pilot, lambda: app.main.store.received == 2)
        await pilot.press("slash")
        bar = app.query_one(FilterBar)
        assert bar.has_class("-open") and app.focused is bar.input
        await pilot.press(*"checkout")
        await wait_for(pilot, lambda: app.main.store.filtered == 1, what="the filter applied")
        assert [line for line in feed_lines(app) if "checkout-v2" in line]
        assert not [line for line in feed_lines(app) if "new-dashboard" in line]
        # An invalid filter is reported in place; the one in force stays. (Typed key by key,
        # "tpye" alone would be a valid bare word: paste the whole text at once.)
        bar.input.value = "checkout tpye:x"
        await wait_for(pilot, lambda: bar.has_class("-error"), what="the error shown")
        assert "tpye" in str(bar.query_one("#filter-message").render())
        assert app.main.filter.text == "checkout"
        assert app.main.store.filtered == 1
        await pilot.press("escape")
        assert not bar.has_class("-open")
        assert app.main.filter.text == "checkout"
        assert accounted(app)


async def test_number_keys_toggle_each_event_type(emulator: EmulatorHandle) -> None:
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        for index, event_type in enumerate(EVENT_TYPES):
            await pilot.press(str(index + 1))
            assert app.main.predicate.hides(event_type)
        assert app.main.predicate.hidden_types == frozenset(EVENT_TYPES)
        emulator.world.update_flag("production", "new-dashboard", enabled=False)
        await wait_for(pilot, lambda: app.main.store.received == 1)
        assert app.main.store.filtered == 1 and app.main.store.shown == 0
        await pilot.press("2")  # flag.updated shown again: the hidden event comes back
        assert not app.main.predicate.hides("flag.updated")
        await wait_for(pilot, lambda: app.main.store.shown == 1)
        assert app.main.store.filtered == 0 and accounted(app)


async def test_space_pauses_with_a_new_counter_and_end_follows(emulator: EmulatorHandle) -> None:
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        await pilot.press("space")
        assert app.main.store.paused and app.main.has_class("-paused")
        for enabled in (False, True, False):
            emulator.world.update_flag("production", "checkout-v2", enabled=enabled)
        await wait_for(pilot, lambda: app.main.store.pending_events == 3, what="3 pending")
        assert app.main.store.shown == 0
        label = app.query_one("#new-count")
        await wait_for(pilot, lambda: "+3 new" in str(label.render()))
        assert accounted(app)
        await pilot.press("space")  # resume: the pending rows are shown
        assert not app.main.store.paused and app.main.store.shown == 3
        # Moving up stops following; new rows are counted; `end` follows again.
        await pilot.press("up")
        assert not app.main.feed.following
        emulator.world.update_flag("production", "checkout-v2", enabled=True)
        await wait_for(pilot, lambda: app.main.feed.unseen == 1, what="+1 new while not following")
        await pilot.press("end")
        assert app.main.feed.following and app.main.feed.unseen == 0
        assert app.main.feed.cursor == len(app.main.store.view) - 1


async def test_enter_opens_the_event_detail(emulator: EmulatorHandle) -> None:
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        await wait_first_value(pilot, app)
        emulator.world.update_flag("production", "new-dashboard", enabled=False)
        await wait_for(pilot, lambda: app.main.store.shown == 1 and app.main.store.changes)
        await pilot.press("enter")
        assert isinstance(app.screen, EventDetailScreen)
        body = app.screen.body.plain
        event = row_event(app.main.store.view[-1])
        assert event is not None and event.event_id is not None
        assert f"event id    {event.event_id}" in body
        assert "before" in body and "after" in body
        assert '"flag_key": "new-dashboard"' in body
        # Not "raw": `id` and `received_at` are the monitor's, not in the server's data line.
        assert "raw JSON" not in body
        assert "\nevent JSON\nthe fields the monitor keeps; id is the SSE event id" in body
        assert "server time" in body and "received" in body
        await pilot.press("escape")
        assert not isinstance(app.screen, EventDetailScreen)


async def test_t_cycles_local_utc_relative(emulator: EmulatorHandle) -> None:
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        emulator.world.update_flag("production", "new-dashboard", enabled=False)
        await wait_for(pilot, lambda: app.main.store.shown == 1)
        seen = []
        for _ in range(3):
            await pilot.press("t")
            seen.append((app.main.time_mode, feed_lines(app)[0]))
        assert [mode for mode, _ in seen] == ["utc", "relative", "local"]
        utc, relative, local = (line.split() for _, line in seen)
        assert utc[0].endswith("Z") and ":" in utc[0]
        assert relative[0][-1] in "smhd" and relative[1] == "ago"  # "0s ago"
        assert ":" in local[0] and not local[0].endswith("Z") and "ago" not in local
        await pilot.press("t", "t")
        assert "ago" in feed_lines(app)[0]


async def test_e_exports_what_the_filter_shows(emulator: EmulatorHandle, tmp_path: Path) -> None:
    app = make_app(make_profile(emulator), export_dir=tmp_path / "exports")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        emulator.world.update_flag("production", "new-dashboard", enabled=False)
        emulator.world.update_flag("production", "checkout-v2", enabled=False)
        emulator.world.update_flag("production", "checkout-v2", enabled=True)
        await wait_for(pilot, lambda: app.main.store.received == 3)
        # Every event's own answer first: the silent change below must be news to `r` alone.
        await wait_for(pilot, app.monitor.evaluations_idle)
        # Switched off with no event (as in an outage that lost it): `r` finds it, a row of its own.
        emulator.world.update_flag("production", "checkout-v2", enabled=False, publish=False)
        await pilot.press("r")
        await wait_for(pilot, lambda: any(isinstance(r, FoundChange) for r in app.main.store.view))
        await pilot.press("slash", *"checkout", "enter")
        await pilot.press("e")
        await wait_for(pilot, lambda: getattr(app.main, "last_export", None) is not None)
        rows = [json.loads(line) for line in app.main.last_export.read_text().splitlines()]
        assert [r["kind"] for r in rows].count("event") == 2
        assert {r["flag_key"] for r in rows} == {"checkout-v2"}  # its value changes too
        found = [r for r in rows if r["kind"] == "found"]
        assert [(r["environment_key"], r["after"]["enabled"]) for r in found] == [
            ("production", False)
        ]
        assert rows[-1] == found[0]  # in time order: after the events
        assert app.main.last_export.parent == tmp_path / "exports"


async def test_capital_c_clears_the_view_not_the_log(emulator: EmulatorHandle) -> None:
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        emulator.world.update_flag("production", "new-dashboard", enabled=False)
        await wait_for(pilot, lambda: app.main.store.shown == 1)
        await pilot.press("C")
        assert app.main.store.shown == 0 and app.main.store.received == 0
        assert len(app.monitor.events()) == 1  # the monitor's log keeps it
        emulator.world.update_flag("production", "new-dashboard", enabled=True)
        await wait_for(pilot, lambda: app.main.store.shown == 1, what="new events after a clear")


async def test_question_mark_and_f1_open_help(emulator: EmulatorHandle) -> None:
    app = make_app(make_profile(emulator), keymap={"pause": "x"})
    async with app.run_test(size=(120, 40)) as pilot:
        for key in ("question_mark", "f1"):
            await pilot.press(key)
            assert isinstance(app.screen, HelpScreen)
            rows = {binding_id: keys for keys, _tip, binding_id in app.screen.rows}
            assert rows["pause"] == "x"  # the keymap in force, not the default
            assert rows["help"] == "? f1"
            box = app.screen.query_one(VerticalScroll)
            (bottom,) = box.render_lines(Region(0, box.outer_size.height - 1, 120, 1))
            assert "ids remap keys in profiles.toml [keymap]" in bottom.text
            await pilot.press("escape")
            assert not isinstance(app.screen, HelpScreen)


async def test_keys_are_remappable_by_binding_id(emulator: EmulatorHandle) -> None:
    app = make_app(make_profile(emulator), keymap={"pause": "x", "time_format": "ctrl+t"})
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("space")
        assert not app.main.store.paused
        await pilot.press("x")
        assert app.main.store.paused
        await pilot.press("ctrl+t")
        assert app.main.time_mode == "utc"


async def test_keymap_is_read_from_the_profiles_file(
    emulator: EmulatorHandle, isolated_home: Path
) -> None:
    from togul_monitor.config import paths

    path = paths.profiles_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[keymap]\npause = "z"\n')
    app = make_app(make_profile(emulator), keymap=None)
    async with app.run_test(size=(120, 40)) as pilot:
        # Read on a worker (not on the event loop), then applied.
        await wait_for(pilot, lambda: app.keymap.get("pause") == "z", what="the keymap read")
        await pilot.press("z")
        assert app.main.store.paused


async def test_ctrl_p_palette_offers_commands_for_the_state(emulator: EmulatorHandle) -> None:
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"Pause")
        await wait_for(
            pilot, lambda: app.screen.query_one(CommandList).option_count > 0, what="hits"
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.main.store.paused, what="the palette command ran")
        # Now the palette offers Resume, not Pause.
        from togul_monitor.ui.commands import app_commands

        titles = [title for title, _, _ in app_commands(app, [])]
        assert "Resume the feed" in titles and "Pause the feed" not in titles


async def test_w_watches_the_selected_flag_and_rings_on_change(
    emulator: EmulatorHandle,
) -> None:
    # new-dashboard's value really changes with its enabled state (false when disabled, true by
    # its premium rule): a change of reason alone no longer rings (test_watch_rings.py).
    app = make_app(make_profile(emulator, watch=()))
    bells: list[int] = []
    notes: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
        original_notify = app.notify

        def notify(message: str, **kwargs: object) -> None:
            notes.append(message)
            original_notify(message, **kwargs)  # type: ignore[arg-type]

        app.notify = notify  # type: ignore[method-assign]
        await wait_live(pilot, app)
        emulator.world.update_flag("production", "new-dashboard", enabled=False)
        await wait_for(pilot, lambda: app.main.store.shown == 1)
        await wait_for(pilot, lambda: "new-dashboard" in app.main.values_table.values)
        assert not bells
        await pilot.press("up")  # the cursor selects the row (and its flag)
        await pilot.press("w")
        assert "new-dashboard" in app.main.watched
        await wait_for(
            pilot,
            lambda: "new-dashboard" in app.monitor.snapshot().watched,
            what="the monitor watching",
        )
        emulator.world.update_flag("production", "new-dashboard", enabled=True)
        await wait_for(pilot, lambda: bells, what="the bell")
        # Named: the profile and the environment whose value changed (changed expectation: it
        # was "new-dashboard: …" alone).
        assert "test-production / production · new-dashboard: false → true" in notes
        await pilot.press("w")  # unwatch: no bell any more
        assert "new-dashboard" not in app.main.watched


async def test_q_quits_and_stops_the_monitor(emulator: EmulatorHandle) -> None:
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        assert await emulator.await_streams(1)
        monitor = app.session.runner
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, what="the app to exit")
    assert monitor._thread is not None and not monitor._thread.is_alive()
    assert await emulator.await_streams(0)


async def test_keys_typed_right_after_slash_land_in_the_filter_bar(
    emulator: EmulatorHandle,
) -> None:
    """A paste or `tmux send-keys '/text'`: every key is queued before `/` is handled."""
    from textual import events

    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        await pilot.press("/", "a", "b")
        bar = app.query_one(FilterBar)
        assert bar.input.value == "ab"
        await pilot.press("escape")
        # All at once, with no pause in between: `q` must be text here, not quit.
        for key in ("slash", "q", "u", "i", "t"):
            app.post_message(events.Key(key, "/" if key == "slash" else key))
        # The filter applies a message later than the Input shows the text: wait for both.
        await wait_for(
            pilot,
            lambda: bar.input.value == "abquit" and app.main.filter.text == "abquit",
            what="the keys in the bar and the filter applied",
        )
        assert bar.input.value == "abquit" and app.main.filter.text == "abquit" and app.is_running
        await pilot.press("slash")  # inside the bar `/` is text (a `/regex/` term)
        assert bar.input.value == "abquit/" and app.focused is bar.input
