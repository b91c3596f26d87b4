"""A crash of the TUI prints its traceback, and never the secrets in the crashed frames."""

from __future__ import annotations

import pytest

from togul_monitor.emulator.harness import EmulatorHandle

from .helpers import make_app, make_profile, wait_live

SECRET = "tgl_sdk_s3cr3tK3yTh4tMustN3v3rSh0w"


def _crash_with_a_secret_in_hand(api_key: str) -> None:
    token = api_key  # a frame's locals, as a crash while saving a profile would hold them
    raise RuntimeError(f"crashed with {len(token)} characters in hand")


async def test_the_crash_traceback_shows_no_locals(
    emulator: EmulatorHandle, capfd: pytest.CaptureFixture[str]
) -> None:
    app = make_app(make_profile(emulator))
    with pytest.raises(RuntimeError, match="characters in hand"):
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_live(pilot, app)
            app.call_later(_crash_with_a_secret_in_hand, SECRET)
            await pilot.pause(0.1)
    text = capfd.readouterr().err  # where the app printed it as it exited
    assert "_crash_with_a_secret_in_hand" in text and "characters in hand" in text
    assert SECRET not in text and SECRET[:20] not in text
