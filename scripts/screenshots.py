#!/usr/bin/env python3
"""Regenerate `screenshots/*.svg` (and `.png` when a converter is installed) from the real app.

Each scene runs the real TUI and MonitorThread against a seeded emulator on a loopback port, with
a fixed clock and UTC, drives the changes it shows and waits until the view shows them (the same
scenes as the snapshot tests, `tests/ui/snapshot_scenes.py`). Nothing is mocked.

    .venv/bin/python scripts/screenshots.py            # all scenes
    .venv/bin/python scripts/screenshots.py main-view  # some of them

PNG: `rsvg-convert` (librsvg) or ImageMagick's `convert`, whichever works; SVG only otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.ui.context_scenes import CONTEXT_SCENES  # noqa: E402
from tests.ui.snapshot_scenes import SCENES, Scene, scene_app, scene_emulator  # noqa: E402

OUT = ROOT / "screenshots"


async def shoot(scene: Scene, svg_path: Path) -> None:
    with scene_emulator() as emu:
        app = scene_app(emu, scene)
        async with app.run_test(size=scene.size) as pilot:
            await scene.drive(pilot, emu)
            await pilot.pause(0.1)
            svg_path.write_text(app.export_screenshot(title=f"togul-monitor: {scene.what}"))


def to_png(svg_path: Path) -> Path | None:
    png_path = svg_path.with_suffix(".png")
    # Textual writes spaces as &#160;; librsvg collapses them unless told to preserve space,
    # which would shift every column after a run of blanks.
    with tempfile.NamedTemporaryFile("w", suffix=".svg", delete=False) as tmp:
        tmp.write(svg_path.read_text().replace("<svg ", '<svg xml:space="preserve" ', 1))
    source = tmp.name
    commands = []
    if shutil.which("rsvg-convert"):
        commands.append(["rsvg-convert", source, "-o", str(png_path)])
    if shutil.which("convert"):
        commands.append(["convert", source, str(png_path)])
    try:
        for command in commands:
            done = subprocess.run(command, capture_output=True, check=False)
            if done.returncode == 0 and png_path.exists() and png_path.stat().st_size > 0:
                return png_path
        return None
    finally:
        os.unlink(source)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenes", nargs="*", help="scene names (default: all)")
    args = parser.parse_args()
    # The README's; the others are tests only. The named contexts' scenes (the values pane's
    # column per context, the environment matrix) at 120×40 and 80×24 come last.
    shown = [s for s in (*SCENES, *CONTEXT_SCENES) if s.screenshot]
    chosen = [s for s in shown if not args.scenes or s.name in args.scenes]
    if not chosen:
        parser.error(f"no such scene; known: {', '.join(s.name for s in shown)}")
    OUT.mkdir(exist_ok=True)
    for scene in chosen:
        # A fresh home per scene: no user profile, keymap or journal leaks into a screenshot.
        with tempfile.TemporaryDirectory(prefix="togul-shot-") as home:
            os.environ["TOGUL_MONITOR_HOME"] = home
            for var in ("TOGUL_MONITOR_PROFILE", "TOGUL_BASE_URL", "TOGUL_API_KEY", "TOGUL_TOKEN"):
                os.environ.pop(var, None)
            svg_path = OUT / f"{scene.name}.svg"
            asyncio.run(shoot(scene, svg_path))
            png = to_png(svg_path)
            print(f"{svg_path.relative_to(ROOT)}" + (f"  {png.relative_to(ROOT)}" if png else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
