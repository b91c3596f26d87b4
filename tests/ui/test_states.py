"""Truthful states: outages inline, rejected credentials, an empty environment, server text."""

from __future__ import annotations

from textual.content import Content

from togul_monitor.config.entry import ProfileEntry
from togul_monitor.config.profiles import ProfileStore
from togul_monitor.config.resolve import resolve_profile
from togul_monitor.domain.events import ConnectionState
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.screens.event_detail import EventDetailScreen
from togul_monitor.ui.screens.profile_switcher import ProfileFormScreen
from togul_monitor.ui.view.rows import row_marker
from togul_monitor.ui.widgets.notice_panel import NoticePanel

from .helpers import feed_lines, make_app, make_profile, wait_first_value, wait_for, wait_live

MARKUP_KEY = "[bold red]x[/]"
ESCAPE_KEY = "esc\x1b[31mred\x07"


def screen_text(app) -> str:  # type: ignore[no-untyped-def]
    """What the terminal shows, as plain text lines."""
    feed = app.main.feed
    return "\n".join(feed.render_line(y).text for y in range(feed.size.height))


async def test_an_outage_is_marked_inline(emulator: EmulatorHandle) -> None:
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        emulator.world.update_flag("production", "new-dashboard", enabled=False)
        await wait_for(pilot, lambda: app.main.store.shown == 1)
        emulator.faults.cut_streams()
        emulator.world.update_flag("production", "new-dashboard", enabled=True)  # while down
        await wait_for(
            pilot,
            lambda: any(
                (row_marker(item) or "").startswith("outage") for item in app.main.store.view
            ),
            what="the outage marker",
        )
        marker = next(i for i in app.main.store.view if (row_marker(i) or "").startswith("outage"))
        assert "disconnected" in marker.text
        # "1 event replayed" is singular now (it said "1 events replayed").
        assert "replayed" in marker.text or "may be missing" in marker.text
        await wait_for(pilot, lambda: app.main.store.received == 2, what="the replayed event")
        assert "disconnected" in screen_text(app)


async def test_a_restart_without_replay_says_changes_may_be_missing_and_shows_what_changed(
    emulator: EmulatorHandle,
) -> None:
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        await wait_first_value(pilot, app)  # or the change may be its first value, no change
        emulator.world.update_flag("production", "new-dashboard", enabled=False)
        await wait_for(pilot, lambda: app.main.store.shown == 1)
        await wait_for(pilot, lambda: app.main.store.changes, what="its value change")
        # Down a second (its next request refused), and the change made meanwhile is lost.
        emulator.faults.fail_next(1, status=503, retry_after=1)
        emulator.faults.cut_streams()
        emulator.world.update_flag("production", "new-dashboard", enabled=True)
        emulator.faults.forget_replay()
        await wait_for(
            pilot,
            lambda: any(row_marker(item) == "outage-missing" for item in app.main.store.view),
            what="the may-be-missing marker",
        )
        markers = [
            i.text for i in app.main.store.view if row_marker(i) in ("outage-missing", "continued")
        ]
        assert "disconnected" in markers[0]
        assert "changes in this window may be missing; every value asked again" in markers[1]
        assert "changes in this window may be missing" in screen_text(app)
        # The re-evaluation finds the change no event showed: a row of the feed says it.
        await wait_for(
            pilot,
            lambda: any(row_marker(item) == "found" for item in app.main.store.view),
            timeout=10,
            what="the change found on re-evaluation",
        )
        await pilot.pause()
        lines = screen_text(app).splitlines()
        (line,) = [line for line in lines if " re-evaluated " in line]
        assert "new-dashboard" in line and "false → true +unseen" in line
        # Selected (the feed follows), it is shown whole under itself.
        expanded = " ".join(" ".join(lines[lines.index(line) + 1 :]).split())
        assert "found on re-evaluation" in expanded
        assert app.main.store.received == 1  # no event came for it
        # `w`, `o` and `y` act on its flag, whatever else is selected elsewhere.
        assert app.main.painter.focused_flag(app.main.focused, "beta-search") == "new-dashboard"
        # Until the environment's id is known, `env:` matches it by the profile's key.
        assert app.main.store.answers.environment_key == "production"


async def test_rejected_credentials_show_a_panel_with_a_key_to_edit(
    emulator: EmulatorHandle,
) -> None:
    store = ProfileStore()
    store.add(
        ProfileEntry(
            name="wrong-key",
            base_url=emulator.base_url,
            environment_key="production",
            api_key="tgl_sdk_" + "0" * 32,
        )
    )
    app = make_app(resolve_profile("wrong-key"))
    async with app.run_test(size=(120, 40)) as pilot:
        notice = app.query_one(NoticePanel)
        await wait_for(pilot, lambda: notice.has_class("-shown"), what="the credentials panel")
        text = str(notice.render())
        assert "Credentials rejected for profile wrong-key" in text
        assert "E: edit this profile" in text
        assert "0000000000" not in text  # the secret is never shown
        await pilot.press("E")
        assert isinstance(app.screen, ProfileFormScreen)
        # Fix the key in the form: the app saves, switches to the fixed profile, goes live.
        app.screen.query_one("#field-api_key").value = emulator.credentials.keys["production"][
            "sdk"
        ]
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, ProfileFormScreen))
        await wait_live(pilot, app)
        await wait_for(pilot, lambda: not notice.has_class("-shown"), what="the panel to go")
        assert app.profile.api_key == emulator.credentials.keys["production"]["sdk"]


async def test_an_empty_environment_says_so(emulator: EmulatorHandle) -> None:
    app = make_app(make_profile(emulator, watch=()))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        await wait_for(pilot, lambda: app.main.feed.empty_message.startswith("Live."))
        assert "No changes in production yet" in screen_text(app)
        empty = app.query_one("#values-empty")
        await wait_for(pilot, lambda: empty.has_class("-shown"))
        assert "No flag values yet for production" in str(empty.render())

        # After `C` the empty view says it was cleared, not that nothing happened.
        for enabled in (False, True):
            emulator.world.update_flag("production", "dark-mode", enabled=enabled)
        await wait_for(pilot, lambda: app.main.store.shown == 2, what="the events")
        app.main.time_mode = "utc"
        await pilot.press("C")
        await wait_for(pilot, lambda: "cleared" in app.main.feed.empty_message, what="the text")
        text = " ".join(screen_text(app).split())
        assert "No changes in production yet" not in text
        assert "View cleared at " in text and "Z (the 2 events before it are kept in" in text
        assert "New changes in production appear here" in text, text


async def test_server_text_is_shown_literally_everywhere(emulator: EmulatorHandle) -> None:
    app = make_app(make_profile(emulator, watch=()))
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_live(pilot, app)
        emulator.world.create_flag("production", MARKUP_KEY)
        emulator.world.create_flag("production", ESCAPE_KEY)
        await wait_for(pilot, lambda: app.main.store.shown == 2)
        await wait_for(pilot, lambda: len(app.main.values_table.values) == 2, what="both values")
        shown = screen_text(app)
        assert MARKUP_KEY in shown
        assert "esc\\x1b[31m" in shown and "\x1b" not in shown and "\x07" not in shown
        # values table cells
        cells = [app.main.values_table.get_row(key)[0].plain for key in (MARKUP_KEY, ESCAPE_KEY)]
        assert any(MARKUP_KEY in c for c in cells)
        assert any("esc\\x1b[31mred" in c for c in cells) and not any("\x1b" in c for c in cells)
        # the detail screen
        await pilot.press("up")  # the markup flag's row
        await pilot.press("enter")
        assert isinstance(app.screen, EventDetailScreen)
        assert MARKUP_KEY in app.screen.body.plain
        await pilot.press("escape")
        # the history pane title
        assert app.main.selected_flag == MARKUP_KEY
        title = Content.from_markup(str(app.main.history_pane.border_title)).plain
        assert title == f"history: {MARKUP_KEY}"  # the border title renders the key literally
        assert "x" in feed_lines(app)[0]


async def test_stream_states_reach_the_status_bar(emulator: EmulatorHandle) -> None:
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        status = app.query_one("#status")
        await wait_for(pilot, lambda: "● live" in str(status.render()))
        assert "test-production" in str(status.render())
        emulator.faults.fail_next(50, status=503, retry_after=5)
        emulator.faults.cut_streams()
        await wait_for(
            pilot,
            lambda: app.monitor.snapshot().status.state is ConnectionState.RETRYING,
            what="retrying",
        )
        await wait_for(pilot, lambda: "retrying" in str(status.render()))
