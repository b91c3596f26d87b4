"""SVG snapshots (120×40) of the real app against a seeded emulator with a fixed clock.

Update after an intended change with `pytest tests/ui/test_snapshots.py --snapshot-update`, and
look at the report before accepting it.
"""

from __future__ import annotations

from typing import Any

import pytest

from .snapshot_scenes import SCENES, SIZE, Scene, scene_app, scene_emulator

# The screenshots script also renders "filter-in-use"; the snapshots keep to the five,
# and "server-text" (a flag named `[bold red]x[/]`, shown literally; no screenshot).
SNAPSHOTS = tuple(s for s in SCENES if s.name != "filter-in-use")


@pytest.mark.parametrize("scene", SNAPSHOTS, ids=[s.name for s in SNAPSHOTS])
def test_snapshot(scene: Scene, snap_compare: Any) -> None:
    """Main view, filter bar with an error, event detail, profile switcher, outage marker."""
    with scene_emulator() as emu:
        app = scene_app(emu, scene)

        async def run_before(pilot: Any) -> None:
            await scene.drive(pilot, emu)

        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
