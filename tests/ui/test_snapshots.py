"""SVG snapshots (120×40) of the real app against a seeded emulator with a fixed clock.

Update after an intended change with `pytest tests/ui/test_snapshots.py --snapshot-update`, and
look at the report before accepting it.
"""

from __future__ import annotations

from typing import Any

import pytest

from .snapshot_scenes import SCENES, SIZE, Scene, scene_app, scene_emulator


@pytest.mark.parametrize("scene", SCENES, ids=[s.name for s in SCENES])
def test_snapshot(scene: Scene, snap_compare: Any) -> None:
    """Main view, filter in use, filter error, event detail, profile switcher, outage."""
    with scene_emulator() as emu:
        app = scene_app(emu)

        async def run_before(pilot: Any) -> None:
            await scene.drive(pilot, emu)

        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
