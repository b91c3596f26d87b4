"""`p`: the profile switcher: the old stream closes, the new one is live, the UI never waits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.widgets import Input, OptionList, Static

from togul_monitor.config.entry import ProfileEntry
from togul_monitor.config.profiles import Profile, ProfileStore
from togul_monitor.config.resolve import resolve_profile
from togul_monitor.core import MonitorThread
from togul_monitor.domain.values import FlagValue
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.screens.event_detail import EventDetailScreen
from togul_monitor.ui.screens.profile_switcher import ProfileFormScreen, ProfileSwitcherScreen
from togul_monitor.ui.widgets.notice_panel import NoticePanel
from togul_monitor.ui.widgets.values_table import ValuesTable

from .helpers import feed_lines, make_app, wait_first_value, wait_for, wait_live


def save_profiles(emu: EmulatorHandle) -> None:
    store = ProfileStore()
    for name, env in (("prod", "production"), ("stage", "staging")):
        store.add(
            ProfileEntry(
                name=name,
                base_url=emu.base_url,
                environment_key=env,
                api_key=emu.credentials.keys[env]["sdk"],
                watch=("new-dashboard",),
                heartbeat_seconds=0.2,
            )
        )


def save_wrong_environment(emu: EmulatorHandle) -> None:
    """Profile `wrongenv`: a key of staging for production, which cannot be opened."""
    ProfileStore().add(
        ProfileEntry(
            name="wrongenv",
            base_url=emu.base_url,
            environment_key="production",
            api_key=emu.credentials.keys["staging"]["sdk"],  # another environment's
            heartbeat_seconds=0.2,
        )
    )


async def fail_switch(pilot: Any, app: Any) -> str:
    """Switch to `wrongenv` (`save_wrong_environment`) and wait until it has failed: the bar
    then says stopped; its text."""
    app.switch_profile("wrongenv")
    status = app.query_one("#status")
    await wait_for(pilot, lambda: not app.session.switching, what="the switch over")
    await wait_for(pilot, lambda: "stopped" in str(status.render()), what="the bar")
    return str(status.render())


async def test_switching_profile_closes_the_old_stream_and_opens_the_new(
    emulator: EmulatorHandle,
) -> None:
    save_profiles(emulator)
    app = make_app(resolve_profile("prod"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        assert await emulator.await_streams(1)
        emulator.world.update_flag("production", "new-dashboard", enabled=False)
        await wait_for(pilot, lambda: app.main.store.shown == 1)
        old = app.session.runner

        await pilot.press("p")
        assert isinstance(app.screen, ProfileSwitcherScreen)  # at once; the list fills in
        screen = app.screen
        await wait_for(pilot, lambda: screen.loaded, what="the profiles read")
        options = app.screen.query_one(OptionList)
        names = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert names[:2] == ["prod", "stage"]
        assert {"demo-production", "demo-staging"} <= set(names)  # the demo is always offered
        await pilot.press("down", "enter")
        # The UI keeps running while the old monitor stops on a worker thread.
        await wait_for(pilot, lambda: app.profile.name == "stage", what="the switch")
        await wait_live(pilot, app)
        assert app.session.runner is not old
        assert old._thread is not None and not old._thread.is_alive()
        assert await emulator.await_streams(1)  # the old stream closed, the new one open
        assert app.main.store.shown == 0  # the view belongs to the new profile

        emulator.world.update_flag("staging", "checkout-v2", enabled=False)
        emulator.world.update_flag("production", "checkout-v2", enabled=False)  # not ours now
        await wait_for(pilot, lambda: app.main.store.shown == 1, what="the staging event")
        assert "staging" in feed_lines(app)[0] and "checkout-v2" in feed_lines(app)[0]
        status = str(app.query_one("#status").render())
        assert "stage / staging" in status


async def test_the_switcher_adds_a_profile_with_validation(emulator: EmulatorHandle) -> None:
    save_profiles(emulator)
    app = make_app(resolve_profile("prod"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        await pilot.press("p", "a")
        assert isinstance(app.screen, ProfileFormScreen)
        form = app.screen
        form.query_one("#field-name").value = "added"
        form.query_one("#field-base_url").value = "http://example.com"  # plain http, remote
        form.query_one("#field-environment_key").value = "staging"
        form.query_one("#field-api_key").value = emulator.credentials.keys["staging"]["sdk"]
        await pilot.press("ctrl+s")
        error = form.query_one("#form-error")
        await wait_for(pilot, lambda: str(error.render()).strip(), what="the validation error")
        assert "http" in str(error.render()).lower()
        assert isinstance(app.screen, ProfileFormScreen)  # still open, nothing saved
        form.query_one("#field-base_url").value = emulator.base_url
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.profile.name == "added", what="switch to the new one")
        await wait_live(pilot, app)
        assert "added" in ProfileStore().load().profiles


async def test_a_switch_that_fails_leaves_the_bar_saying_stopped_and_e_edits_the_failed_one(
    emulator: EmulatorHandle,
) -> None:
    """The old stream is closed before the new profile opens: when it cannot open, nothing
    streams, and the bar must not go on saying the old profile is live, nor the values pane
    showing the old profile's values as followed: its title says they may be stale and each is
    ⟳ (they kept their looks, ages counting, with only the bar saying stopped). The notice's
    "E: edit this profile" edits the profile it names, the one that failed, not the one
    before."""
    save_profiles(emulator)
    save_wrong_environment(emulator)
    app = make_app(resolve_profile("prod"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        status = app.query_one("#status")
        await wait_for(pilot, lambda: "live" in str(status.render()), what="the bar")
        values, pane = app.query_one("#values", ValuesTable), app.query_one("#values-pane")

        def answered() -> list[FlagValue]:
            return [value for value in values.values.values() if value.current is not None]

        await wait_for(
            pilot, lambda: answered() and "stale" not in str(pane.border_title), what="values"
        )
        app.switch_profile("wrongenv")
        notice = app.query_one(NoticePanel)
        await wait_for(pilot, lambda: notice.has_class("-shown"), what="the panel")
        assert "Profile wrongenv could not be opened" in str(notice.render())
        await wait_for(pilot, lambda: not app.session.switching, what="the switch over")
        await wait_for(pilot, lambda: "stopped" in str(status.render()), what="the bar")
        assert "live" not in str(status.render()).split("stopped")[0]
        assert await emulator.await_streams(0)  # the old stream closed: nothing streams
        assert pane.border_title == "values · stopped: not followed, may be stale"
        assert all(value.stale for value in answered())

        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileFormScreen), what="the form")
        form = app.screen
        await pilot.pause()
        assert form.query_one("#field-name", Input).value == "wrongenv"


def patient_monitor(profile: Profile, clock: Callable[[], float]) -> MonitorThread:
    """A monitor that asks a failed evaluation again only long after the test is over."""
    return MonitorThread(profile, clock=clock, evaluate_retry_delay=60.0)


async def test_after_a_failed_switch_no_row_says_it_is_still_evaluating(
    emulator: EmulatorHandle,
) -> None:
    """A switch stops the running monitor before it opens the next profile: when that one cannot
    be opened, nothing will answer the rows that waited for their re-evaluation. They said
    `evaluating…` for good; they say `not evaluated`, as when evaluate refuses the credentials,
    and a row that had its answer keeps it. The bar names the failure."""
    save_profiles(emulator)
    save_wrong_environment(emulator)
    app = make_app(resolve_profile("prod"), monitor_factory=patient_monitor)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        await wait_first_value(pilot, app)
        emulator.world.update_flag("production", "new-dashboard", enabled=False)

        def answered() -> bool:
            lines = feed_lines(app)
            return len(lines) == 1 and "evaluating" not in lines[0]

        await wait_for(pilot, answered, what="the first event's answer")
        (kept,) = feed_lines(app)
        emulator.faults.fail_evaluate(2, status=500)  # the evaluation and the client's retry
        emulator.world.update_flag("production", "new-dashboard", enabled=True)

        def waiting() -> bool:
            lines = feed_lines(app)
            return len(lines) == 2 and lines[1].endswith("evaluating…")

        await wait_for(pilot, waiting, what="the second event waiting for its answer")
        await wait_for(
            pilot, lambda: emulator.faults.evaluate_failures_left == 0, what="both attempts"
        )
        assert waiting()  # its retry comes only after the test

        assert "profile wrongenv could not be opened" in await fail_switch(pilot, app)
        lines = feed_lines(app)
        assert lines[0] == kept
        assert lines[1].endswith("not evaluated"), lines[1]
        assert not any("evaluating" in line for line in lines), lines

        app.main.feed.move_to(1)  # its detail claims no load in progress either
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EventDetailScreen), what="detail")
        body = str(app.screen.query_one("#detail-body", Static).render())
        assert "nothing watches the server: the profile could not be opened" in body, body
        assert "loading" not in body and "not evaluated yet" not in body, body
        assert "value for this profile's context\n  not evaluated\n" in body, body


async def test_after_a_failed_switch_the_bar_still_says_the_environment_is_not_verified(
    emulator: EmulatorHandle,
) -> None:
    """A stream-scope key cannot evaluate, so its environment is the profile's word for it
    (`production (not verified)`). A switch that failed stopped its monitor, and the bar then
    vouched for the name it never checked."""
    ProfileStore().add(
        ProfileEntry(
            name="streamonly",
            base_url=emulator.base_url,
            environment_key="production",
            api_key=emulator.credentials.keys["production"]["stream"],
            heartbeat_seconds=0.2,
        )
    )
    save_wrong_environment(emulator)
    app = make_app(resolve_profile("streamonly"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        status = app.query_one("#status")
        await wait_for(pilot, lambda: "(not verified)" in str(status.render()), what="the mark")
        assert "streamonly / production (not verified)" in await fail_switch(pilot, app)
