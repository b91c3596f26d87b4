"""SVG snapshots (120×40; the inventory 160×40) of the real app against a seeded emulator with a
fixed clock.

Update after an intended change with `pytest tests/ui/test_snapshots.py --snapshot-update`, and
look at the report before accepting it.
"""

from __future__ import annotations

from typing import Any

import pytest

from .snapshot_scenes import SCENES, Scene, scene_app, scene_emulator

# The screenshots script also renders "filter-in-use" and the rule edits' diffs (the feed, the
# detail), which the snapshots leave out; they keep to the main view, the filter error, the
# detail, the switcher, the outage, the inventory, and "server-text" (a flag named
# `[bold red]x[/]`, shown literally; no screenshot).
SCREENSHOTS_ONLY = {"filter-in-use", "config-diffs", "config-detail"}
SNAPSHOTS = tuple(s for s in SCENES if s.name not in SCREENSHOTS_ONLY)


@pytest.mark.parametrize("scene", SNAPSHOTS, ids=[s.name for s in SNAPSHOTS])
def test_snapshot(scene: Scene, snap_compare: Any) -> None:
    """Main view, filter bar with an error, event detail, profile switcher, outage marker,
    flag inventory."""
    with scene_emulator() as emu:
        app = scene_app(emu, scene)

        async def run_before(pilot: Any) -> None:
            await scene.drive(pilot, emu)

        assert snap_compare(app, terminal_size=scene.size, run_before=run_before)
