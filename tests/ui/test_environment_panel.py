"""A profile whose API key belongs to another environment opens on a readable panel that says
so, with the key that edits the profile (the monitor refuses to start: core/environment.py)."""

from __future__ import annotations

from dataclasses import replace

from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.widgets.notice_panel import NoticePanel

from .helpers import make_app, make_profile, wait_for


async def test_a_key_of_another_environment_shows_the_could_not_be_opened_panel(
    emulator: EmulatorHandle,
) -> None:
    staging_key = emulator.credentials.keys["staging"]["sdk"]
    profile = replace(
        make_profile(emulator, "production", api_key=staging_key), environment_names={}
    )
    app = make_app(profile)
    async with app.run_test(size=(140, 40)) as pilot:
        notice = app.query_one(NoticePanel)
        await wait_for(pilot, lambda: notice.has_class("-shown"), what="the panel")
        text = str(notice.render())
        assert f"Profile {profile.name} could not be opened" in text
        assert "belongs to another environment than 'production'" in text
        assert "E: edit this profile" in text
        assert "\\x" not in text  # one readable message: no escaped line breaks
        assert staging_key not in text and staging_key[-4:] in text  # masked
        assert app.monitor is None
        # Nothing connects: the bar says the stream stopped, never "connecting" for ever.
        status = app.query_one("#status")
        await wait_for(pilot, lambda: "stopped" in str(status.render()), what="the bar")
        assert "connecting" not in str(status.render())
