"""The add/edit profile form (`p`, then `a` or `e`; `E`): what it refuses, what it never drops,
and keys sent in one burst."""

from __future__ import annotations

from typing import Any

import pytest
from textual import events
from textual.widgets import Checkbox, Input

from togul_monitor.config.entry import ProfileEntry
from togul_monitor.config.profiles import ProfileStore
from togul_monitor.config.resolve import resolve_profile
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.support.text import mask_secret
from togul_monitor.ui.screens.profile_switcher import ProfileFormScreen
from togul_monitor.ui.widgets.notice_panel import NoticePanel

from .helpers import make_app, make_profile, wait_for, wait_live

KEY_NAMES = {"\t": "tab", " ": "space", "/": "slash", ":": "colon", ".": "full_stop"}


def burst(app: Any, *keys: str) -> None:
    """Queue every key at once, as a paste or `tmux send-keys` does: none is handled before the
    last is queued (`pilot.press` waits for each)."""
    for key in keys:
        name = KEY_NAMES.get(key, key)
        char = key if len(key) == 1 else None
        app.post_message(events.Key(name, char))


async def test_a_burst_of_keys_lands_in_the_field_tab_moves_to(emulator: EmulatorHandle) -> None:
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        await pilot.press("p", "a")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileFormScreen), what="the form")
        form = app.screen
        fields = {key: form.query_one(f"#field-{key}") for key in ("name", "base_url")}
        fields["environment_key"] = form.query_one("#field-environment_key")
        # Back with shift+tab: the field's text is selected on focus, `end` keeps it.
        burst(app, *"abcdef", "\t", *"https://x.io", "\t", *"prod", "shift+tab", "end", *"/v1")
        await wait_for(
            pilot, lambda: fields["base_url"].value.endswith("/v1"), what="the last key typed"
        )
        assert fields["name"].value == "abcdef"
        assert fields["base_url"].value == "https://x.io/v1"  # shift+tab went back in time too
        assert fields["environment_key"].value == "prod"
        await pilot.press(*"abc")  # and the form still takes plain typing
        assert fields["base_url"].value == "https://x.io/v1abc"
        # Editing keys act where they were typed too (not once the keys after them are in).
        burst(app, "backspace", "backspace", *"/v2", "home", *"x")
        await wait_for(pilot, lambda: fields["base_url"].value.startswith("x"), what="the edit")
        assert fields["base_url"].value == "xhttps://x.io/v1a/v2"


def save_literal_profile(emulator: EmulatorHandle, name: str = "saved") -> str:
    key = emulator.credentials.keys["production"]["sdk"]
    ProfileStore().add(
        ProfileEntry(
            name=name,
            base_url=emulator.base_url,
            environment_key="production",
            api_key=key,
            heartbeat_seconds=0.2,
        )
    )
    return key


async def open_edit_form(pilot: Any, app: Any) -> ProfileFormScreen:
    await pilot.press("E")
    await wait_for(pilot, lambda: isinstance(app.screen, ProfileFormScreen), what="the form")
    form: ProfileFormScreen = app.screen
    await wait_for(pilot, lambda: form.query("#field-base_url"), what="the fields")
    return form


def form_message(form: ProfileFormScreen) -> str:
    return str(form.query_one("#form-error").render())


async def test_a_literal_key_is_kept_until_its_variable_is_set(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Setting "API key variable" to an unset variable removed the literal key from the file
    and saved a profile that could not open."""
    key = save_literal_profile(emulator)
    monkeypatch.delenv("TOGUL_UNSET_KEY", raising=False)
    app = make_app(resolve_profile("saved"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        form = await open_edit_form(pilot, app)
        form.query_one("#field-api_key_env", Input).value = "TOGUL_UNSET_KEY"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: form_message(form).strip(), what="the refusal")
        message = form_message(form)
        assert "TOGUL_UNSET_KEY is not set" in message and "stays in profiles.toml" in message
        assert key not in message and mask_secret(key) in message  # masked, never whole
        assert isinstance(app.screen, ProfileFormScreen)  # nothing saved, the form stays
        await pilot.press("ctrl+s")  # no confirmation turns a refusal into a save
        assert ProfileStore().load().profiles["saved"].api_key == key
        assert ProfileStore().load().profiles["saved"].api_key_env is None


async def test_replacing_a_literal_key_by_a_set_variable_asks_first(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = save_literal_profile(emulator)
    monkeypatch.setenv("TOGUL_SAVED_KEY", key)
    app = make_app(resolve_profile("saved"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        form = await open_edit_form(pilot, app)
        form.query_one("#field-api_key_env", Input).value = "TOGUL_SAVED_KEY"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "ctrl+s again" in form_message(form), what="the question")
        assert "removes the literal API key" in form_message(form)
        assert "\\x0a" not in form_message(form)  # its two lines are lines
        assert ProfileStore().load().profiles["saved"].api_key == key  # not yet
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, ProfileFormScreen))
        saved = ProfileStore().load().profiles["saved"]
        assert saved.api_key is None and saved.api_key_env == "TOGUL_SAVED_KEY"
        await wait_live(pilot, app)  # the edited profile opens: its variable is set


async def test_the_form_refuses_what_the_cli_refuses_and_sets_insecure_and_heartbeat(
    emulator: EmulatorHandle,
) -> None:
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        await pilot.press("p", "a")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfileFormScreen), what="the form")
        form: ProfileFormScreen = app.screen

        def fill(**values: str) -> None:
            for field, value in values.items():
                form.query_one(f"#field-{field}", Input).value = value

        async def refused(fragment: str) -> None:
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: fragment in form_message(form), what=fragment)
            assert isinstance(app.screen, ProfileFormScreen)
            assert "insecure" not in ProfileStore().load().profiles

        key = emulator.credentials.keys["staging"]["sdk"]
        fill(name="insecure", base_url="http://example.com", environment_key="staging")
        fill(api_key=key, api_key_env="TOGUL_SOME_KEY")
        await refused("give the API key or its variable, not both")
        fill(api_key_env="")
        # The validator's own message, hint included, names the setting the form now has.
        await refused("set allow_insecure = true")
        form.query_one("#field-allow_insecure", Checkbox).value = True
        fill(heartbeat_seconds="often")
        await refused("heartbeat seconds: 'often' is not a number")
        fill(heartbeat_seconds="0")
        await refused("heartbeat_seconds: must be more than 0")
        fill(heartbeat_seconds="12.5")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "insecure" in ProfileStore().load().profiles, what="saved")
        saved = ProfileStore().load().profiles["insecure"]
        assert saved.allow_insecure is True and saved.heartbeat_seconds == 12.5
        assert saved.api_key == key and saved.base_url == "http://example.com"


async def test_a_profile_that_cannot_open_shows_its_hint_as_a_line(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The banner showed a ConfigError's hint after a literal `\\x0a`."""
    monkeypatch.delenv("TOGUL_NOWHERE_KEY", raising=False)
    ProfileStore().add(
        ProfileEntry(
            name="broken",
            base_url=emulator.base_url,
            environment_key="production",
            api_key_env="TOGUL_NOWHERE_KEY",
        )
    )
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        app.switch_profile("broken")
        notice = app.query_one(NoticePanel)
        await wait_for(pilot, lambda: notice.has_class("-shown"), what="the banner")
        text = str(notice.render())
        assert "TOGUL_NOWHERE_KEY is not set" in text
        assert "\\x0a" not in text
        assert any(line.strip().startswith("hint:") for line in text.splitlines())


async def test_a_watched_key_is_shown_escaped_and_saved_as_it_was(
    emulator: EmulatorHandle,
) -> None:
    """A watched flag key is the server's text (`w` saves it): in the form's input it was
    written raw to the terminal, escape sequences and all (a window title, the clipboard)."""
    odd = "ttl\x1b]2;PWNED\x1b\\z"
    key = emulator.credentials.keys["production"]["sdk"]
    entry = ProfileEntry(
        name="saved",
        base_url=emulator.base_url,
        environment_key="production",
        api_key=key,
        heartbeat_seconds=0.2,
        watch=(odd, "checkout-v2"),
    )
    ProfileStore().add(entry)
    app = make_app(resolve_profile("saved"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        form = await open_edit_form(pilot, app)
        watch = form.query_one("#field-watch", Input)
        assert watch.value == "ttl\\x1b]2;PWNED\\x1b\\z, checkout-v2"  # no control character
        form.query_one("#field-heartbeat_seconds", Input).value = "0.5"  # another field edited
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, ProfileFormScreen))
        saved = ProfileStore().load().profiles["saved"]
        assert saved.watch == (odd, "checkout-v2") and saved.heartbeat_seconds == 0.5
        form = await open_edit_form(pilot, app)
        form.query_one("#field-watch", Input).value = "ttl\\x1b]2;PWNED\\x1b\\z"  # one removed
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, ProfileFormScreen))
        assert ProfileStore().load().profiles["saved"].watch == (odd,)


async def test_the_form_never_shows_the_base_url_s_password_and_keeps_it(
    emulator: EmulatorHandle,
) -> None:
    """Every other place shows a base URL without its password; the form showed it whole."""
    url = "http://ops:hunter2@127.0.0.1:9/"  # nothing listens: the form opens all the same
    key = emulator.credentials.keys["production"]["sdk"]
    entry = ProfileEntry(name="saved", base_url=url, environment_key="production", api_key=key)
    ProfileStore().add(entry)
    app = make_app(resolve_profile("saved"))
    async with app.run_test(size=(120, 40)) as pilot:
        form = await open_edit_form(pilot, app)
        assert form.query_one("#field-base_url", Input).value == "http://ops:…@127.0.0.1:9/"
        form.query_one("#field-heartbeat_seconds", Input).value = "7"  # another field edited
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, ProfileFormScreen))
        saved = ProfileStore().load().profiles["saved"]
        assert (saved.base_url, saved.heartbeat_seconds) == (url, 7)
        form = await open_edit_form(pilot, app)
        form.query_one("#field-base_url", Input).value = "http://ops:…@127.0.0.2:9/"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, ProfileFormScreen))
        assert ProfileStore().load().profiles["saved"].base_url == "http://ops:hunter2@127.0.0.2:9/"
