"""Pilot tests for the UI findings of the code review (each failed before its fix)."""

from __future__ import annotations

import pytest
from textual.command import CommandList, CommandPalette

from togul_monitor.emulator.harness import EmulatorHandle

from .helpers import inject_rows, make_app, make_profile, wait_first_value, wait_for, wait_live


async def test_palette_shows_a_markup_like_flag_key_literally(emulator: EmulatorHandle) -> None:
    """Palette titles carry the selected flag key; `a[/]b` crashed the app."""
    app = make_app(make_profile(emulator, watch=()))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        emulator.world.create_flag("production", "a[/]b")
        await wait_for(pilot, lambda: app.main.store.shown == 1, what="the event in the feed")
        await pilot.press("up")
        assert app.main.selected_flag == "a[/]b"
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await wait_for(
            pilot, lambda: app.screen.query_one(CommandList).option_count > 0, what="commands"
        )
        prompts = [
            str(app.screen.query_one(CommandList).get_option_at_index(i).prompt)
            for i in range(app.screen.query_one(CommandList).option_count)
        ]
        assert any("Watch a[/]b" in p for p in prompts), prompts
        await pilot.press(*"Watch a")
        await wait_for(
            pilot,
            lambda: any(
                "a[/]b" in str(app.screen.query_one(CommandList).get_option_at_index(i).prompt)
                for i in range(app.screen.query_one(CommandList).option_count)
            ),
            what="the search hit",
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: "a[/]b" in app.main.watched, what="the watch command ran")
        assert app.is_running


async def test_a_huge_server_timestamp_shows_a_question_mark(emulator: EmulatorHandle) -> None:
    """A finite but huge timestamp (1e300) crashed the feed row and `enter`.

    The stream now rejects it as malformed, so the event is handed to the monitor directly: the
    formatters are the second line of defence.
    """
    from togul_monitor.domain.events import FlagEvent
    from togul_monitor.ui.screens.event_detail import EventDetailScreen

    app = make_app(make_profile(emulator, watch=()))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        huge = FlagEvent("flag.updated", "far-future", "env", 1, 1e300, "9", app.clock())
        received = app.main.store.received
        inject_rows(app, [huge])
        await wait_for(pilot, lambda: app.main.store.received == received + 1, what="the event")
        app.main.feed.sync()
        app.main.feed.follow()
        await pilot.pause()
        for mode in ("utc", "relative", "local"):
            await pilot.press("t")
            assert app.main.time_mode == mode
            await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EventDetailScreen), what="detail")
        body = str(app.screen.query_one("#detail-body").render())
        assert "server time ?" in body
        assert app.is_running


async def test_quick_switches_never_run_two_monitors_at_once(emulator: EmulatorHandle) -> None:
    """Overlapping switch workers started a monitor while another still ran (two journal
    writers on one file), and a stale MonitorReady replaced one without stopping it."""
    from togul_monitor.core import MonitorThread

    profiles = {
        "prod": make_profile(emulator, name="prod"),
        "stage": make_profile(emulator, "staging", name="stage"),
    }
    created: list[MonitorThread] = []
    overlaps: list[str] = []

    def factory(profile, clock):  # type: ignore[no-untyped-def]
        alive = [m.profile.name for m in created if m._thread and m._thread.is_alive()]
        if alive:
            overlaps.append(f"{profile.name} created while {alive} ran")
        monitor = MonitorThread(profile, clock=clock)
        created.append(monitor)
        return monitor

    app = make_app(profiles["prod"], monitor_factory=factory, profile_resolver=profiles.__getitem__)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        for name in ("stage", "prod", "stage", "prod"):
            app.switch_profile(name)  # back to back: the earlier workers are only flagged
        await wait_live(pilot, app)
        await wait_for(
            pilot, lambda: app.session.runner is created[-1], what="the last monitor shown"
        )
        assert app.profile.name == "prod" and not app.switching
        assert overlaps == []
        assert await emulator.await_streams(1)
        assert [m for m in created[:-1] if m._thread and m._thread.is_alive()] == []


async def test_enter_opens_at_once_and_fills_in_the_journal_transition(
    emulator: EmulatorHandle,
) -> None:
    """A transition not in memory was read from the journal on the event loop."""
    import threading

    from togul_monitor.ui.screens.event_detail import EventDetailScreen

    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        await wait_first_value(pilot, app)
        emulator.world.update_flag("production", "new-dashboard", enabled=False)
        await wait_for(pilot, lambda: app.main.store.changes, what="the transition")
        # Gone from the view's memory, its answer too (one it saw answered changed nothing
        # but what it holds): only the monitor has it.
        store = app.main.store
        store.changes.clear()
        answers = store.answers
        answers.reset(
            evaluates=True, environment_id=answers.environment_id, contexts=answers.contexts
        )
        monitor = app.monitor
        assert monitor is not None
        release = threading.Event()
        screen_open_when_asked: list[bool] = []
        real = monitor.transitions_for

        def slow_lookup(event):  # type: ignore[no-untyped-def]
            screen_open_when_asked.append(isinstance(app.screen, EventDetailScreen))
            release.wait(3)  # a journal under backlog
            return real(event)

        monitor.transitions_for = slow_lookup  # type: ignore[method-assign]
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen_open_when_asked, what="the lookup")
        assert screen_open_when_asked == [True]
        body = app.screen.query_one("#detail-body")
        assert "looking it up" in str(body.render())
        release.set()
        await wait_for(pilot, lambda: "after" in str(body.render()), what="the transition")
        assert "looking it up" not in str(body.render())


async def test_export_writes_a_lone_surrogate_flag_key(emulator, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """ensure_ascii=False + UTF-8 raised UnicodeEncodeError in the export worker, which
    failed silently and left a half-written file."""
    import json

    from togul_monitor.domain.events import FlagEvent

    app = make_app(make_profile(emulator, watch=()), export_dir=tmp_path / "exports")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        emulator.world.update_flag("production", "checkout-v2", enabled=False)
        await wait_for(pilot, lambda: app.main.store.shown == 1)
        odd = FlagEvent("flag.updated", "bad\ud800key", "env", 2, 1.0, "x1", app.clock())
        # The stream rejects it now; the exporter must cope anyway. Handed to the monitor's
        # event log on its loop, as the stream's rows are.
        inject_rows(app, [odd])
        await wait_for(pilot, lambda: app.main.store.received == 2, what="the odd event")
        await pilot.press("e")
        await wait_for(pilot, lambda: getattr(app.main, "last_export", None) is not None)
        lines = app.main.last_export.read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in lines]
        events = [r["flag_key"] for r in rows if r["kind"] == "event"]
        assert events == ["checkout-v2", "bad\ud800key"]
        assert [p.name for p in app.main.last_export.parent.iterdir()] == [
            app.main.last_export.name
        ]


async def test_a_failing_worker_is_reported(emulator: EmulatorHandle) -> None:
    """A worker that raised (exit_on_error=False) failed invisibly."""
    app = make_app(make_profile(emulator))
    notes: list[tuple[str, str]] = []
    async with app.run_test(size=(120, 40)) as pilot:
        original_notify = app.notify

        def notify(message: str, **kwargs: object) -> None:
            notes.append((str(kwargs.get("title", "")), message))
            original_notify(message, **kwargs)  # type: ignore[arg-type]

        app.notify = notify  # type: ignore[method-assign]
        await wait_live(pilot, app)
        monitor = app.monitor
        assert monitor is not None

        def broken(flag_key: str, limit: int = 500) -> list[object]:
            raise RuntimeError("journal exploded")

        monitor.history = broken  # type: ignore[method-assign,assignment]
        emulator.world.update_flag("production", "checkout-v2", enabled=False)
        await wait_for(pilot, lambda: app.main.store.shown == 1)
        await pilot.press("up")  # selects checkout-v2: its history is read
        await wait_for(pilot, lambda: notes, what="the failure notified")
        assert notes[0] == (
            "Reading the flag's history failed",
            "RuntimeError: journal exploded",
        )
        assert app.is_running


async def test_history_is_read_once_per_selection_then_kept_in_memory(
    emulator: EmulatorHandle,
) -> None:
    """Every event of the selected flag made the pane read the journal again (a flush and a
    fresh SQLite connection, 4 times a second)."""
    from togul_monitor.domain.events import FlagEvent
    from togul_monitor.domain.values import ValueTransition

    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        await wait_for(
            pilot,
            lambda: (
                app.main.history.requested
                and app.main.history.answered == app.main.history.requested
            ),
            what="the first read",
        )
        await wait_first_value(pilot, app)  # so the first change has a before
        monitor = app.monitor
        assert monitor is not None
        reads: list[str] = []
        real = monitor.history

        def counted(flag_key: str, limit: int = 500):  # type: ignore[no-untyped-def]
            reads.append(flag_key)
            return real(flag_key, limit)

        monitor.history = counted  # type: ignore[method-assign]

        def pane_kinds() -> tuple[int, int]:
            entries = app.main.history_pane.entries
            events = sum(isinstance(e, FlagEvent) for e in entries)
            return events, sum(isinstance(e, ValueTransition) for e in entries)

        for n, enabled in enumerate((False, True, False), 1):
            emulator.world.update_flag("production", "new-dashboard", enabled=enabled)
            await wait_for(pilot, lambda n=n: pane_kinds() == (n, n), what=f"{n} changes")
        assert reads == []
        assert app.main.history_pane.flag_key == "new-dashboard"
        entries = app.main.history_pane.entries
        times = [getattr(e, "received_at", getattr(e, "at", 0)) for e in entries]
        assert times == sorted(times, reverse=True)  # newest first
        # The feed follows: its newest row, checkout-v2's, is selected, and read once.
        emulator.world.update_flag("production", "checkout-v2", enabled=False)
        await wait_for(pilot, lambda: app.main.store.shown == 4)
        await wait_for(pilot, lambda: reads == ["checkout-v2"], what="one read")
        assert app.main.history_pane.flag_key == "checkout-v2"


async def test_profiles_and_keymap_are_read_off_the_event_loop(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The switcher, the form and the keymap read profiles.toml on the event loop."""
    import threading

    from togul_monitor.config import resolve
    from togul_monitor.config.entry import ProfileEntry
    from togul_monitor.config.profiles import ProfileStore
    from togul_monitor.ui.screens.profile_switcher import ProfileFormScreen, ProfileSwitcherScreen

    ProfileStore().add(
        ProfileEntry(
            name="saved",
            base_url=emulator.base_url,
            environment_key="staging",
            api_key=emulator.credentials.keys["staging"]["sdk"],
        )
    )
    reads: list[tuple[str, bool]] = []

    def on_loop() -> bool:
        return threading.current_thread() is threading.main_thread()

    real_list, real_keymap = resolve.list_profiles, getattr(resolve, "load_keymap", None)

    def list_profiles():  # type: ignore[no-untyped-def]
        reads.append(("profiles", on_loop()))
        return real_list()

    def load_keymap():  # type: ignore[no-untyped-def]
        reads.append(("keymap", on_loop()))
        return real_keymap() if real_keymap else {}

    monkeypatch.setattr(resolve, "list_profiles", list_profiles)
    monkeypatch.setattr(resolve, "load_keymap", load_keymap)
    import togul_monitor.config.profiles as profiles_module

    real_load = profiles_module.load_config

    def load_config(*args, **kwargs):  # type: ignore[no-untyped-def]
        reads.append(("entry", on_loop()))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(profiles_module, "load_config", load_config)
    app = make_app(make_profile(emulator, name="saved"), keymap=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: ("keymap", False) in reads, what="the keymap read")
        await pilot.press("p")
        assert isinstance(app.screen, ProfileSwitcherScreen)
        screen = app.screen
        await wait_for(pilot, lambda: screen.loaded, what="the profiles read")
        await pilot.press("e")  # edit "saved" (the current one, highlighted)
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileFormScreen), what="the form")
        form = app.screen
        assert form.query_one("#field-environment_key").value == "staging"
        assert {kind for kind, _ in reads} == {"keymap", "profiles", "entry"}
        assert [kind for kind, loop in reads if loop] == []


async def test_environment_names_come_from_the_monitor(emulator: EmulatorHandle) -> None:
    """The view names environments as the monitor does (no guess of its own)."""
    from dataclasses import replace

    from .helpers import feed_lines

    profile = replace(make_profile(emulator, watch=()), environment_names={})
    app = make_app(profile)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        emulator.world.update_flag("production", "checkout-v2", enabled=False)
        await wait_for(pilot, lambda: app.main.store.shown == 1)
        monitor = app.monitor
        assert monitor is not None
        env_id = emulator.credentials.environment_ids["production"]
        await wait_for(pilot, lambda: env_id in app.main.environment_names, what="the name")
        assert app.main.environment_names == monitor.snapshot().environment_names
        assert app.main.environment_names[env_id] == "production"
        assert "production" in feed_lines(app)[0]
