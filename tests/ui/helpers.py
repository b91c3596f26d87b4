"""Shared pieces of the TUI tests: profiles on the test emulator, the app, bounded waits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from togul_monitor.config.profiles import Profile
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.app import TogulMonitorApp

CONTEXT = {"user_id": "demo-user", "plan": "premium", "country": "TR"}


def make_profile(
    emu: EmulatorHandle,
    environment: str = "production",
    *,
    name: str | None = None,
    watch: tuple[str, ...] = ("new-dashboard",),
    api_key: str | None = None,
) -> Profile:
    return Profile(
        name=name or f"test-{environment}",
        base_url=emu.base_url,
        environment_key=environment,
        api_key=api_key or emu.credentials.keys[environment]["sdk"],
        context=dict(CONTEXT),
        watch=watch,
        heartbeat_seconds=emu.heartbeat,
        environment_names={emu.credentials.environment_ids[environment]: environment},
    )


def make_app(profile: Profile, **kwargs: Any) -> TogulMonitorApp:
    kwargs.setdefault("keymap", {})  # tests do not read a keymap unless they say so
    return TogulMonitorApp(profile, **kwargs)


async def wait_for(
    pilot: Pilot[Any], condition: Callable[[], object], timeout: float = 5.0, what: str = ""
) -> None:
    """Let the app run until `condition()` holds; fail after `timeout` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        await pilot.pause(0.02)


async def wait_live(pilot: Pilot[Any], app: TogulMonitorApp, timeout: float = 5.0) -> None:
    from togul_monitor.domain.events import ConnectionState

    await wait_for(
        pilot,
        lambda: (
            app.monitor is not None and app.monitor.snapshot().status.state is ConnectionState.LIVE
        ),
        timeout,
        "the stream to be live",
    )


async def wait_first_value(
    pilot: Pilot[Any], app: TogulMonitorApp, flag: str = "new-dashboard", timeout: float = 5.0
) -> None:
    """The monitor has `flag`'s first value: a change made after this is a before → after (one
    made earlier may be the first value the monitor sees, with nothing before it)."""

    def known() -> bool:
        value = app.monitor.snapshot().values.get(flag) if app.monitor is not None else None
        return value is not None and value.current is not None and not value.stale

    await wait_for(pilot, known, timeout, f"{flag}'s first value")


def feed_lines(app: TogulMonitorApp) -> list[str]:
    """The plain text of every row in the feed's view (what the user can scroll through)."""
    from togul_monitor.ui.widgets.event_feed import row_text

    return [
        row_text(
            item,
            200,
            time_mode=app.main.time_mode,
            now=app.clock(),
            environment_names=app.main.environment_names,
            store=app.main.store,
        ).plain
        for item in app.main.store.view
    ]


def accounted(app: TogulMonitorApp) -> bool:
    s = app.main.store
    return s.received == s.shown + s.pending_events + s.trimmed + s.filtered


def inject_rows(app: TogulMonitorApp, rows: list[Any]) -> None:
    """Hand `rows` to the running monitor's event log on its loop, as the stream's rows are
    (for rows the stream itself would refuse)."""
    monitor: Any = app.monitor
    assert monitor is not None
    monitor._owner.tell(lambda: monitor._intake._append_rows(rows))
