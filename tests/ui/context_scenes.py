"""Scenes of a profile that evaluates for several named contexts, as the demo's does, for the
screenshots (`scripts/screenshots.py`) and the pilot tests of the values pane's context columns
(`test_contexts_pilot.py`); and the environment matrix (`c`). Pinned as `snapshot_scenes.py`
pins its scenes: fixed clock, UTC, seed, event ids.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual.pilot import Pilot

from togul_monitor import demo
from togul_monitor.config.profiles import Profile
from togul_monitor.domain.events import ConnectionState
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.app import TogulMonitorApp

from .snapshot_scenes import Scene, activity_profile, settle, until

# The demo's named contexts (demo.py), and three of the same kind if it has none: what the
# screenshots show is what `--demo` shows.
FALLBACK_CONTEXTS: dict[str, dict[str, str]] = {
    "free": {"user_id": "demo-free", "plan": "free", "country": "US"},
    "enterprise": {"user_id": "demo-enterprise", "plan": "enterprise", "country": "GB"},
    "eu": {"user_id": "demo-eu", "plan": "premium", "country": "DE"},
}
CONTEXTS: dict[str, dict[str, str]] = getattr(demo, "DEMO_CONTEXTS", FALLBACK_CONTEXTS)
SMALL = (80, 24)


def contexts_profile(emu: EmulatorHandle) -> Profile:
    """The activity profile with the demo's named contexts beside its own."""
    named = {name: dict(attributes) for name, attributes in CONTEXTS.items()}
    return replace(activity_profile(emu), name="local-contexts", contexts=named)


def contexts_settled(app: TogulMonitorApp, events: int) -> bool:
    """`events` events in the view and every context's every value evaluated."""
    monitor = app.monitor
    if monitor is None or app.main.store.received != events:
        return False
    table = app.main.values_table
    if len(table.contexts) < 2 or len(table.values) < 20:
        return False
    return all(
        len(values) == len(table.flags)
        and not any(v.stale or (v.current is None and not v.deleted) for v in values.values())
        for values in table.by_context.values()
    )


async def drive_contexts(pilot: Pilot[Any], emu: EmulatorHandle) -> None:
    """Live, every context evaluated, then three changes: a rule that moves no context's value,
    a default that only the contexts no country rule catches get (free, not default or eu), a
    default that every context gets."""
    app: TogulMonitorApp = pilot.app  # type: ignore[assignment]
    await until(pilot, lambda: app.monitor is not None)
    await until(pilot, lambda: app.monitor.snapshot().status.state is ConnectionState.LIVE)
    await until(pilot, lambda: contexts_settled(app, 0), 20)
    world = emu.world
    world.create_rule(
        "production",
        "support-tier",
        rule_type="attribute",
        attribute="country",
        operator="eq",
        value_json='"DE"',
        return_value="premium",
    )
    world.update_flag("production", "welcome-message", default_value="Hello!")
    world.update_flag("production", "search-algorithm", default_value="hybrid")
    await until(pilot, lambda: contexts_settled(app, 3) and len(app.main.store.changes) == 2, 20)
    await pilot.press("tab")  # the values pane: its rows are the news here
    await settle(pilot)


async def drive_matrix(pilot: Pilot[Any], emu: EmulatorHandle) -> None:
    """`c`: the environment matrix, once its first read has answered."""
    app: TogulMonitorApp = pilot.app  # type: ignore[assignment]
    await until(pilot, lambda: app.monitor is not None)
    await until(pilot, lambda: app.monitor.snapshot().status.state is ConnectionState.LIVE)
    await pilot.press("c")
    await until(pilot, lambda: type(app.screen).__name__ == "EnvMatrixScreen")
    screen: Any = app.screen
    await until(pilot, lambda: screen.reads >= 1 and bool(screen.keys) and not screen.busy, 20)
    await settle(pilot)


CONTEXT_SCENES: tuple[Scene, ...] = (
    Scene(
        "values-contexts",
        drive_contexts,
        "the values pane with a column per named context",
        profile=contexts_profile,
    ),
    Scene(
        "values-contexts-80x24",
        drive_contexts,
        "the context columns at 80×24: values cut with …, reason and type left out first",
        profile=contexts_profile,
        size=SMALL,
    ),
    Scene(
        "env-matrix",
        drive_matrix,
        "the environment matrix (c): every flag × every environment",
        profile=contexts_profile,
    ),
    Scene(
        "env-matrix-80x24",
        drive_matrix,
        "the environment matrix (c) at 80×24",
        profile=contexts_profile,
        size=SMALL,
    ),
)
