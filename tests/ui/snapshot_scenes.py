"""Deterministic scenes of the real app against a seeded emulator, for snapshots and screenshots.

The README's screenshots show demo-like activity (`drive_activity`: toggles, default changes, a
rollout step, rules added, an experiment flag: the kinds of change `emulator/simulate.py`
makes); `drive_rule_edits` makes the rule edits whose configuration diffs the feed, the detail
and the history show (screenshots only); `server-text` keeps a flag named like markup on
screen, for the snapshot test only.

Everything that could differ between runs is pinned: the app's and the monitor's clock (fixed),
the emulator's clock (so server timestamps are fixed), the time zone (UTC), the seed (so keys,
environment ids and event ids repeat), no simulated activity (the scene drives each mutation and
waits until the view shows it). The emulator's port appears nowhere on screen.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable

from togul_monitor.config.profiles import Profile
from togul_monitor.domain.events import ConnectionState, FlagEvent
from togul_monitor.emulator.harness import EmulatorHandle, running_emulator
from togul_monitor.ui.app import TogulMonitorApp
from togul_monitor.ui.view.found import row_flag
from togul_monitor.ui.view.rows import row_marker

FIXED_NOW = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC
SIZE = (120, 40)
MARKUP_KEY = "[bold red]x[/]"
CONTEXT = {"user_id": "demo-user", "plan": "premium", "country": "TR"}

PROFILES_TOML = """\
default_profile = "prod"

[profiles.prod]
base_url = "https://api.togul.io"
environment_key = "production"
api_key_env = "TOGUL_PROD_SDK_KEY"
watch = ["new-dashboard"]

[profiles.staging]
base_url = "https://api.togul.io"
environment_key = "staging"
api_key_env = "TOGUL_STAGING_SDK_KEY"
"""


def fixed_clock() -> float:
    return FIXED_NOW


@contextlib.contextmanager
def utc() -> Iterator[None]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()


@contextlib.contextmanager
def scene_emulator() -> Iterator[EmulatorHandle]:
    with (
        utc(),
        # Ids on (the emulator's default is now the documented form without them): the scenes
        # were recorded with event ids, transitions tied to them and an exact resume.
        running_emulator(
            seed=0, heartbeat=0.2, replay=1000, ids=True, clock=lambda: FIXED_NOW - 1
        ) as emu,
    ):
        yield emu


def scene_profile(emu: EmulatorHandle) -> Profile:
    return Profile(
        name="local-production",
        base_url=emu.base_url,
        environment_key="production",
        api_key=emu.credentials.keys["production"]["sdk"],
        context=dict(CONTEXT),
        watch=("new-dashboard",),
        heartbeat_seconds=0.2,
        environment_names={emu.credentials.environment_ids["production"]: "production"},
    )


def activity_profile(emu: EmulatorHandle) -> Profile:
    """A profile with a token too, as a real one often has: the management API lists the
    environment's flags, so every value is known before the first change (and each change is
    shown as before → after, not as a first value)."""
    profile = scene_profile(emu)
    return replace(profile, token=emu.credentials.org_token, watch=("new-dashboard", "checkout-v2"))


def scene_app(emu: EmulatorHandle, scene: Scene | None = None, **kwargs: Any) -> TogulMonitorApp:
    profile = scene.profile(emu) if scene is not None else scene_profile(emu)
    return TogulMonitorApp(profile, clock=fixed_clock, keymap={}, **kwargs)


async def until(pilot: Pilot[Any], condition: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"scene: timed out waiting for {condition}")
        await pilot.pause(0.02)


async def drive_activity(pilot: Pilot[Any], emu: EmulatorHandle) -> None:
    """Ten changes of the kinds the demo makes; some move this context's value, some do not."""
    app: TogulMonitorApp = pilot.app  # type: ignore[assignment]
    await until(pilot, lambda: app.monitor is not None)
    await until(pilot, lambda: app.monitor.snapshot().status.state is ConnectionState.LIVE)
    await until(
        pilot, lambda: _settled(app, 0, history=False) and len(app.main.values_table.values) > 20
    )
    world = emu.world
    world.update_flag("production", "new-dashboard", enabled=False)
    world.update_flag("production", "search-algorithm", default_value="hybrid")
    world.update_rule("production", "checkout-button-color", 0, rollout_percentage=100)
    world.create_rule(
        "production",
        "support-tier",
        rule_type="attribute",
        attribute="country",
        operator="eq",
        value_json='"TR"',
        return_value="premium",
    )
    world.update_flag("production", "feature-limits", default_value={"projects": 10, "seats": 25})
    world.update_flag("production", "api-rate-limit", default_value=200)
    world.update_rule("production", "recommendation-model", 0, rollout_percentage=100)
    world.update_flag("production", "dark-mode", enabled=False)
    world.create_flag(
        "production", "sim-experiment-1", value_type="json", default_value={"variant": "A"}
    )
    world.update_flag("production", "checkout-v2", enabled=False)
    await until(pilot, lambda: _settled(app, 10) and len(app.main.store.changes) >= 6, 20)
    await settle(pilot)


def _settled(app: TogulMonitorApp, events: int, *, history: bool = True) -> bool:
    """The view shows `events` events, every value evaluated, the history loaded."""
    monitor = app.monitor
    if monitor is None or app.main.store.received != events:
        return False
    snap = monitor.snapshot()
    if snap.status.state is not ConnectionState.LIVE or snap.last_heartbeat_at is None:
        return False
    values = app.main.values_table.values
    if not values or any(v.stale or (v.current is None and not v.deleted) for v in values.values()):
        return False
    if not history:
        return True
    return (
        bool(app.main.history_pane.entries)
        and not app.main.history.dirty
        and not app.main.history.new
        and app.main.history.answered == app.main.history.requested
    )


async def drive_main(pilot: Pilot[Any], emu: EmulatorHandle) -> None:
    """Three changes: a watched flag turned off, a rollout flag off, a markup-looking key."""
    app: TogulMonitorApp = pilot.app  # type: ignore[assignment]
    await until(pilot, lambda: app.monitor is not None)
    await until(pilot, lambda: app.monitor.snapshot().status.state is ConnectionState.LIVE)
    # The watched flag's first evaluation answers before the change, so "before" is known.
    await until(
        pilot,
        lambda: (
            "new-dashboard" in app.main.values_table.values
            and app.main.values_table.values["new-dashboard"].current is not None
        ),
    )
    emu.world.update_flag("production", "new-dashboard", enabled=False)
    emu.world.update_flag("production", "checkout-v2", enabled=False)
    emu.world.create_flag("production", MARKUP_KEY, value_type="string", default_value="blue")
    await until(pilot, lambda: _settled(app, 3) and len(app.main.store.changes) >= 1)
    await settle(pilot)


async def settle(pilot: Pilot[Any]) -> None:
    """Drop toasts (they expire on the wall clock) and let one paint happen."""
    app: TogulMonitorApp = pilot.app  # type: ignore[assignment]
    app.clear_notifications()
    await until(pilot, lambda: _history_follows(app))
    app.main.paint_texts()
    # A DataTable measures new rows and column widths only when it is next idle; on a busy
    # machine that can come after a fixed pause, and the snapshot then shows a column cut at
    # its label's width. Wait for it (the flags are Textual's own, read-only here).
    await until(
        pilot,
        lambda: all(
            not table._require_update_dimensions and not table._updated_cells
            for table in app.query(DataTable)
        ),
    )
    await pilot.pause(0.1)


def _history_follows(app: TogulMonitorApp) -> bool:
    """The history pane shows the flag of the feed's newest row while the feed follows with the
    focus (main_keys.py `select_followed`: a burst's is selected a moment later), read."""
    main, feed = app.main, app.main.feed
    item = feed.cursor_item if feed.following and main.focused is feed else None
    flag = row_flag(item) if item is not None else None
    if flag is not None and main.history_pane.flag_key != flag:
        return False
    return not main.history.dirty and main.history.answered == main.history.requested


async def drive_filter_error(pilot: Pilot[Any], emu: EmulatorHandle) -> None:
    from togul_monitor.ui.widgets.filter_bar import FilterBar

    app: TogulMonitorApp = pilot.app  # type: ignore[assignment]
    await drive_activity(pilot, emu)
    await pilot.press("slash")
    bar = app.main.query_one(FilterBar)
    bar.input.cursor_blink = False
    bar.input.value = "flag:checkout-*"
    await until(pilot, lambda: app.main.filter.text == "flag:checkout-*")
    bar.input.value = "flag:checkout-* type:flag.udpated"
    await until(pilot, lambda: bar.has_class("-error"))
    await settle(pilot)


async def drive_filter_in_use(pilot: Pilot[Any], emu: EmulatorHandle) -> None:
    app: TogulMonitorApp = pilot.app  # type: ignore[assignment]
    await drive_activity(pilot, emu)
    await pilot.press("slash", *"type:flag !checkout", "enter")
    await until(pilot, lambda: app.main.filter.text == "type:flag !checkout")
    await until(pilot, lambda: app.main.store.filtered == 4)  # 3 rule.* and checkout-v2
    await settle(pilot)


async def drive_detail(pilot: Pilot[Any], emu: EmulatorHandle) -> None:
    app: TogulMonitorApp = pilot.app  # type: ignore[assignment]
    await drive_activity(pilot, emu)
    await pilot.press(*["up"] * 5, "enter")  # the JSON default change of feature-limits
    await until(pilot, lambda: type(app.screen).__name__ == "EventDetailScreen")
    await settle(pilot)


async def drive_switcher(pilot: Pilot[Any], emu: EmulatorHandle) -> None:
    from togul_monitor.config import paths

    app: TogulMonitorApp = pilot.app  # type: ignore[assignment]
    path = paths.profiles_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(PROFILES_TOML)
    await drive_activity(pilot, emu)
    await pilot.press("p")
    await until(pilot, lambda: type(app.screen).__name__ == "ProfileSwitcherScreen")
    await until(pilot, lambda: getattr(app.screen, "loaded", False))  # read on a worker
    await settle(pilot)


async def drive_outage(pilot: Pilot[Any], emu: EmulatorHandle) -> None:
    app: TogulMonitorApp = pilot.app  # type: ignore[assignment]
    await drive_activity(pilot, emu)
    emu.faults.cut_streams()
    await until(
        pilot, lambda: any((row_marker(i) or "").startswith("outage") for i in app.main.store.view)
    )
    # The outage re-evaluates every value: let that finish first, so the next change's
    # transition is tied to its event (and not, by a race, to the re-evaluation).
    await until(pilot, lambda: _settled(app, 10) and app.monitor.evaluations_idle())
    transitions = len(app.main.store.changes)
    emu.world.update_flag("production", "new-dashboard", enabled=True)
    await until(pilot, lambda: _settled(app, 11) and len(app.main.store.changes) > transitions)
    # And what the change did to its configuration (fetched on its own, answered in any order).
    last = next(r for r in reversed(app.main.store.view) if isinstance(r, FlagEvent))
    await until(pilot, lambda: app.main.store.diffs.for_event(last) is not None)
    await settle(pilot)


async def drive_rule_edits(pilot: Pilot[Any], emu: EmulatorHandle) -> None:
    """Rule edits of each kind `emulator/simulate.py` makes, once every configuration is loaded,
    then the cursor on the rollout step of `checkout-v2`: each row says its diff, the selected
    row is shown whole under it, and the history pane shows the flag's diff under its event."""
    app: TogulMonitorApp = pilot.app  # type: ignore[assignment]
    await until(pilot, lambda: app.monitor is not None)
    await until(pilot, lambda: app.monitor.snapshot().status.state is ConnectionState.LIVE)
    await until(pilot, lambda: app.monitor.snapshot().config_state == "complete")
    await until(
        pilot, lambda: _settled(app, 0, history=False) and len(app.main.values_table.values) > 20
    )
    world = emu.world
    world.update_rule("production", "new-dashboard", 0, is_active=False)
    world.update_rule("production", "welcome-message", 0, return_value="Merhaba!")
    world.update_rule(
        "production", "api-rate-limit", 1, operator="in", value_json='["premium","business"]'
    )
    world.update_rule("production", "checkout-v2", 1, rollout_percentage=50)
    world.update_rule("production", "realtime-notifications", 0, bucket_by="user_id")
    world.create_rule(
        "production",
        "beta-search",
        rule_type="attribute",
        attribute="country",
        operator="eq",
        value_json='"TR"',
        return_value=True,
    )
    world.delete_rule("production", "legacy-export", 0)
    world.update_rule("production", "homepage-layout", 0, rollout_percentage=75)
    world.update_flag("production", "search-algorithm", default_value="hybrid")
    edits = 9
    await until(pilot, lambda: _settled(app, edits) and len(app.main.store.diffs) >= edits, 20)
    rollout = max(
        i
        for i, row in enumerate(app.main.store.view)
        if getattr(row, "flag_key", None) == "checkout-v2"
    )
    await pilot.press(*["up"] * (len(app.main.store.view) - 1 - rollout))
    await until(pilot, lambda: app.main.selected_flag == "checkout-v2")
    await until(pilot, lambda: _settled(app, edits))  # its history read
    await settle(pilot)


async def drive_rule_detail(pilot: Pilot[Any], emu: EmulatorHandle) -> None:
    """The event detail of the rollout step (`enter` on it): its configuration change."""
    app: TogulMonitorApp = pilot.app  # type: ignore[assignment]
    await drive_rule_edits(pilot, emu)
    await pilot.press("enter")
    await until(pilot, lambda: type(app.screen).__name__ == "EventDetailScreen")
    await settle(pilot)


async def drive_inventory(pilot: Pilot[Any], emu: EmulatorHandle) -> None:
    """`i` after the demo-like activity: every flag with its rules, value and last change."""
    app: TogulMonitorApp = pilot.app  # type: ignore[assignment]
    await drive_activity(pilot, emu)
    # Every flag's row in the values pane behind it first: its scroll bar shows at the edge.
    await until(pilot, lambda: len(app.main.values_table.values) == 24)
    await pilot.press("i")
    await until(pilot, lambda: type(app.screen).__name__ == "InventoryScreen")
    await until(pilot, lambda: len(app.monitor.snapshot().flag_configs) == 24)  # 23 seeded + 1
    screen: Any = app.screen

    def shown(flag: str) -> list[str]:  # the flag's row, as the table shows it
        if flag not in screen.keys:
            return []
        return [cell.plain for cell in screen.table.get_row_at(screen.keys.index(flag))]

    await until(pilot, lambda: shown("sim-experiment-1")[1:2] == ["json"])  # its config shown
    await settle(pilot)


@dataclass(frozen=True)
class Scene:
    name: str
    drive: Callable[[Pilot[Any], EmulatorHandle], Awaitable[None]]
    what: str
    profile: Callable[[EmulatorHandle], Profile] = field(default=activity_profile)
    screenshot: bool = True  # rendered into screenshots/ (scripts/screenshots.py)
    size: tuple[int, int] = SIZE  # the terminal's columns and rows


SCENES: tuple[Scene, ...] = (
    Scene("main-view", drive_activity, "the main view: feed, values, history, status bar"),
    Scene("filter-in-use", drive_filter_in_use, "a filter in force, counted in the status bar"),
    Scene("filter-error", drive_filter_error, "the filter bar reporting an invalid term"),
    Scene(
        "event-detail",
        drive_detail,
        "the event detail: value before → after, configuration change, event JSON",
    ),
    Scene("profile-switcher", drive_switcher, "the profile switcher"),
    Scene("outage", drive_outage, "an outage marked inline in the feed"),
    Scene(
        "config-diffs",
        drive_rule_edits,
        "rule edits: each row says what it changed in the flag's configuration",
        size=(150, 40),  # a feed wide enough for most rows' value change and diff whole
    ),
    Scene(
        "config-detail",
        drive_rule_detail,
        "the event detail of a rollout step: its configuration change",
    ),
    Scene(
        "inventory",
        drive_inventory,
        "the flag inventory (i): rules, value, last change",
        size=(160, 40),  # the rule summary and the last change get a share of what is left
    ),
    Scene(
        "server-text",
        drive_main,
        "server text shown literally: a flag named like markup",
        profile=scene_profile,
        screenshot=False,
    ),
)
