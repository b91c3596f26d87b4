"""The app asks Textual for 120 frames a second unless the user set `TEXTUAL_FPS` themselves."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = "import togul_monitor.ui.app, textual.constants as c, textual.screen as s;"
PROBE += "print(c.MAX_FPS, round(1 / s.UPDATE_PERIOD))"


def _frame_rate(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_the_app_repaints_at_up_to_120_frames_a_second() -> None:
    env = {k: v for k, v in os.environ.items() if k != "TEXTUAL_FPS"}
    assert _frame_rate(env) == "120 120"


def test_a_users_own_frame_rate_wins() -> None:
    assert _frame_rate({**os.environ, "TEXTUAL_FPS": "30"}) == "30 30"
