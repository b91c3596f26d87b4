"""The profile form's named contexts (`p` `a`, `E`): added, edited and removed from the
keyboard, one context a line, written through the same store as `profiles edit --context-set`."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input, TextArea

from togul_monitor.config import paths
from togul_monitor.config.profiles import load_config
from togul_monitor.config.resolve import resolve_profile
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.screens.profile_switcher import ProfileFormScreen

from .helpers import make_app, make_profile, wait_for, wait_live

KEYS = {":": "colon", "=": "equals_sign", ",": "comma", " ": "space", "-": "minus", "\n": "enter"}


async def type_text(pilot: Any, text: str) -> None:
    await pilot.press(*(KEYS.get(char, char) for char in text))


def form_message(form: ProfileFormScreen) -> str:
    return str(form.query_one("#form-error").render())


async def test_contexts_typed_into_a_new_profile_are_saved(emulator: EmulatorHandle) -> None:
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 50)) as pilot:
        await wait_live(pilot, app)
        await pilot.press("p", "a")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileFormScreen), what="the form")
        form: ProfileFormScreen = app.screen
        await wait_for(pilot, lambda: form.query("#field-contexts"), what="the fields")
        values = {"name": "ctx", "base_url": emulator.base_url, "environment_key": "production"}
        values["api_key"] = emulator.credentials.keys["production"]["sdk"]
        for field, value in values.items():
            form.query_one(f"#field-{field}", Input).value = value
        area = form.query_one("#field-contexts", TextArea)
        for _ in range(20):  # tab through the form, as a user does
            if area.has_focus:
                break
            await pilot.press("tab")
        assert area.has_focus
        await type_text(pilot, "premium: plan=premium, user_id=u-1\nfree: plan=free")
        assert area.text == "premium: plan=premium, user_id=u-1\nfree: plan=free"  # no tab typed
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "ctx" in load_config().profiles, what="the saved profile")
        assert load_config().profiles["ctx"].contexts == {
            "premium": {"plan": "premium", "user_id": "u-1"},
            "free": {"plan": "free"},
        }
        assert "[profiles.ctx.contexts]" in paths.profiles_file().read_text()


async def test_edit_and_remove_contexts_keeping_the_files_comments(
    emulator: EmulatorHandle,
) -> None:
    key = emulator.credentials.keys["production"]["sdk"]
    path = paths.profiles_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'[profiles.saved]\nbase_url = "{emulator.base_url}"\nenvironment_key = "production"\n'
        f'api_key = "{key}"\nheartbeat_seconds = 0.2\n'
        'context = { emails = "x@a.com, y@b.com" }\n\n# who we evaluate for\n'
        '[profiles.saved.contexts]\npremium = { plan = "premium" }  # paying\n'
        'free = { plan = "free" }\n'
    )
    app = make_app(resolve_profile("saved"))
    async with app.run_test(size=(120, 50)) as pilot:
        await wait_live(pilot, app)
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileFormScreen), what="the form")
        form: ProfileFormScreen = app.screen
        await wait_for(pilot, lambda: form.query("#field-contexts"), what="the fields")
        area = form.query_one("#field-contexts", TextArea)
        assert area.text == "premium: plan=premium\nfree: plan=free"
        shown = form.query_one("#field-context", Input).value
        assert shown == '{"emails": "x@a.com, y@b.com"}'  # as typed back: not two attributes

        # A line that cannot be read is refused, naming it; nothing is written.
        before = path.read_text()
        area.text = "premium: plan=enterprise\neu country=DE"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "contexts line 2" in form_message(form), what="the error")
        assert "'eu country=DE' is not `name: key=value, ...`" in form_message(form)
        assert isinstance(app.screen, ProfileFormScreen) and path.read_text() == before

        # Edited from the keyboard: premium changed, free's line deleted, eu added.
        area.focus()
        area.text = "premium: plan=enterprise\n"
        area.move_cursor(area.document.end)
        await type_text(pilot, "eu: country=DE")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, ProfileFormScreen), what="saved")
        assert load_config().profiles["saved"].contexts == {
            "premium": {"plan": "enterprise"},
            "eu": {"country": "DE"},
        }
        assert load_config().profiles["saved"].context == {"emails": "x@a.com, y@b.com"}
        text = path.read_text()
        assert "# who we evaluate for\n[profiles.saved.contexts]\n" in text
        assert 'premium = {plan = "enterprise"}  # paying\n' in text and "free" not in text
