"""`w` and `t` are kept in profiles.toml (comments kept), `y` copies the selection out, and
`g` / `:` jump to a flag."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from togul_monitor.config.errors import ConfigError
from togul_monitor.config.profiles import load_config
from togul_monitor.config.resolve import resolve_profile
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import Evaluation, FlagValue
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.support.text import safe_text
from togul_monitor.ui.screens.jump import JumpScreen
from togul_monitor.ui.view.change import value_text
from togul_monitor.ui.view.clip import entry_clip, row_clip, values_clip
from togul_monitor.ui.view.fuzzy import ranked
from togul_monitor.ui.widgets.filter_bar import FilterBar

from .helpers import make_app, make_profile, wait_for, wait_live

FILE = """\
# my monitor settings
default_profile = "prod"  # the usual one

# production, watched closely
[profiles.prod]
base_url = "{url}"  # the emulator
environment_key = "production"
api_key = "{key}"
watch = ["new-dashboard"]  # bell on these
heartbeat_seconds = 0.2
"""


def write_file(home: Path, emu: EmulatorHandle) -> Path:
    path = home / "profiles.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    key = emu.credentials.keys["production"]["sdk"]
    path.write_text(FILE.format(url=emu.base_url, key=key))
    return path


COMMENTS = (
    "# my monitor settings",
    "# the usual one",
    "# production, watched closely",
    "# the emulator",
)  # (`# bell on these` goes with the `watch` line when the last flag is unwatched)


def comments_kept(text: str) -> bool:
    return all(comment in text for comment in COMMENTS)


async def test_w_and_t_are_saved_to_the_file_with_its_comments(
    emulator: EmulatorHandle, isolated_home: Path
) -> None:
    path = write_file(isolated_home, emulator)
    app = make_app(resolve_profile("prod"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        assert app.main.selected_flag == "new-dashboard"
        await pilot.press("w")  # unwatch the selected (watched) flag
        await wait_for(
            pilot, lambda: load_config().profiles["prod"].watch == (), what="the unwatch saved"
        )
        await pilot.press("w")
        await wait_for(
            pilot,
            lambda: load_config().profiles["prod"].watch == ("new-dashboard",),
            what="the watch saved",
        )
        await pilot.press("t")
        await wait_for(pilot, lambda: load_config().time_mode == "utc", what="the time mode")
        text = path.read_text()
        assert comments_kept(text), text
        assert text.index("time_mode") < text.index("[profiles.prod]")  # a top-level key

    again = make_app(resolve_profile("prod"))  # a new run restores the time mode
    async with again.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: again.main.time_mode == "utc", what="the time mode read")


async def test_a_demo_or_ad_hoc_profile_keeps_its_watch_in_memory(
    emulator: EmulatorHandle, isolated_home: Path
) -> None:
    app = make_app(make_profile(emulator))  # not from a file: nothing to write
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        await pilot.press("w")
        assert "new-dashboard" not in app.main.watched
        await pilot.pause()
        assert not (isolated_home / "profiles.toml").exists()


def notes_of(app: Any) -> list[str]:
    """Every notification the app shows from now on, as well as showing it."""
    said: list[str] = []
    notify = app.notify

    def noted(message: str, **kwargs: Any) -> None:
        said.append(message)
        notify(message, **kwargs)

    app.notify = noted
    return said


def test_a_time_mode_that_is_not_one_is_an_error_at_its_line(isolated_home: Path) -> None:
    path = isolated_home / "profiles.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('# settings\n\ntime_mode = "UTC"\n')
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert caught.value.line == 3 and caught.value.key == "time_mode"
    assert "'local', 'utc', 'relative'" in str(caught.value)


async def test_y_copies_what_the_focused_pane_selects(
    emulator: EmulatorHandle, isolated_home: Path
) -> None:
    app = make_app(make_profile(emulator))
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        emulator.world.update_flag("production", "new-dashboard", enabled=False)
        await wait_for(pilot, lambda: app.main.store.shown == 1, what="the event")

        await pilot.press("y")  # the feed: the selected row's event JSON
        event = json.loads(copied[-1])
        assert event["flag_key"] == "new-dashboard" and event["type"] == "flag.updated"
        clip = isolated_home / "clipboard.txt"
        await wait_for(pilot, lambda: clip.exists() and clip.read_text() == copied[-1])

        values = app.main.values_table
        await wait_for(pilot, lambda: values.row_count > 0, what="a value")
        values.focus()
        await pilot.press("y")  # the values: key = value
        assert copied[-1].startswith(f"{values.selected_flag} = ")

        pane = app.main.history_pane
        await wait_for(pilot, lambda: pane.entries, what="the history")
        pane.focus()
        await pilot.press("y")  # the history: the entry's JSON
        entry = json.loads(copied[-1])
        assert entry.get("flag_key") == "new-dashboard"


def test_a_values_row_of_several_contexts_copies_every_context_s_value_named() -> None:
    def value(context: str, current: object | None, error: str | None = None) -> FlagValue:
        now = None if current is None else Evaluation(current, "boolean", "rule_match", True)
        return FlagValue("checkout-v2", now, None, 1.0, None, False, False, error, context)

    one = [("default", value("default", True))]
    assert values_clip("checkout-v2", one) == ("checkout-v2 = true", "value of checkout-v2")
    several = [
        ("default", value("default", True)),
        ("free", value("free", False)),
        ("eu", value("eu", None, "503")),
        ("new", None),  # this context has not published the flag yet
    ]
    text, what = values_clip("checkout-v2", several) or ("", "")
    assert text.splitlines() == [
        "checkout-v2 [default] = true",
        "checkout-v2 [free] = false",
        "checkout-v2 [eu] = (no value: 503)",
        "checkout-v2 [new] = (no value yet)",
    ]
    assert what == "values of checkout-v2 in 4 contexts"
    assert values_clip("checkout-v2", [("default", None), ("free", None)]) is None


def test_what_y_copies_holds_no_control_character_of_the_server_s() -> None:
    """`y` also writes clipboard.txt, and `cat` of it ran a key's escape sequences: the key, the
    value and the error are escaped as on screen, and JSON keeps them as JSON escapes."""
    key = "ctl\x1b[31mred\x07bell\x9b\u202e"

    def value(context: str, error: str | None = None) -> FlagValue:
        now = None if error else Evaluation("a\x1b[2J\x9b", "string", "default", True)
        return FlagValue(key, now, None, 1.0, None, False, False, error, context)

    def printable(text: str) -> bool:
        return all(safe_text(line) == line for line in text.split("\n"))

    one = values_clip(key, [("default", value("default"))])
    assert one is not None and printable(one[0])
    assert one[0] == 'ctl\\x1b[31mred\\x07bell\\x9b\\u202e = "a\\u001b[2J\\x9b"'
    several = values_clip(key, [("default", value("default")), ("eu", value("eu", "5\x1b03"))])
    assert several is not None and printable(several[0])
    assert (
        several[0].splitlines()[1]
        == "ctl\\x1b[31mred\\x07bell\\x9b\\u202e [eu] = (no value: 5\\x1b03)"
    )

    event = FlagEvent("flag.updated", key, "env\x9b", 2, 1.0, "7\u2028", 2.0)
    text, _ = row_clip(event)
    assert printable(text) and json.loads(text)["flag_key"] == key  # the same data, parsed
    assert json.loads(text)["id"] == "7\u2028" and entry_clip(event) == (text, _)


async def test_y_on_a_values_row_copies_each_context_and_says_how_many(
    emulator: EmulatorHandle, isolated_home: Path
) -> None:
    free = {"user_id": "copy-free", "plan": "free", "country": "US"}
    profile = replace(make_profile(emulator), contexts={"free": free})
    app = make_app(profile)
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
    said = notes_of(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        values = app.main.values_table
        key = "new-dashboard"  # watched: evaluated for every context from the start

        def evaluated() -> bool:
            return all(
                (found := values.by_context.get(name, {}).get(key)) is not None
                and found.current is not None
                for name in ("default", "free")
            )

        await wait_for(pilot, evaluated, what="both contexts' values")
        assert values.contexts == ("default", "free")
        values.focus()
        values.move_cursor(row=values.get_row_index(key))
        await pilot.press("y")
        shown = {name: value_text(values.by_context[name][key].current) for name in values.contexts}
        assert shown["default"] != shown["free"]  # the first context's alone would mislead
        assert copied[-1].splitlines() == [
            f"{key} [default] = {shown['default']}",
            f"{key} [free] = {shown['free']}",
        ]
        await wait_for(pilot, lambda: any("in 2 contexts" in m for m in said), what="the note")
        assert (isolated_home / "clipboard.txt").read_text() == copied[-1]


def test_fuzzy_ranks_subsequence_matches_best_first() -> None:
    keys = ["new-dashboard", "dark-mode", "maintenance-banner", "checkout-v2"]
    assert ranked("dm", keys)[0] == "dark-mode"
    assert ranked("dash", keys) == ["new-dashboard"]
    assert ranked("nd", keys)[0] == "new-dashboard"
    assert ranked("zz", keys) == []
    assert set(ranked("", keys)) == set(keys)


async def test_g_jumps_to_a_flag_in_every_pane(emulator: EmulatorHandle) -> None:
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        for flag in ("dark-mode", "new-dashboard"):
            emulator.world.update_flag("production", flag, enabled=False)
        await wait_for(pilot, lambda: app.main.store.shown == 2, what="the events")
        await wait_for(pilot, lambda: "dark-mode" in app.main.values_table.values)
        app.main.history_pane.focus()  # the jump leaves it for the feed, on the flag's row

        await pilot.press("colon")
        assert isinstance(app.screen, JumpScreen)
        await pilot.press("d", "r", "k")
        assert app.screen.shown[0] == "dark-mode"
        await pilot.press("enter")
        assert not isinstance(app.screen, JumpScreen)
        main = app.main
        assert main.selected_flag == "dark-mode"
        assert main.values_table.selected_flag == "dark-mode"
        item = main.feed.cursor_item
        assert item is not None and getattr(item, "flag_key", None) == "dark-mode"
        assert main.history_pane.flag_key == "dark-mode"
        assert main.filter.empty  # the filter is not changed
        await wait_for(pilot, lambda: main.feed.has_focus, what="the feed's focus")
        await pilot.press("enter")  # was: nothing, the history pane kept the focus
        await wait_for(pilot, lambda: type(app.screen).__name__ == "EventDetailScreen")
        await pilot.press("escape")

        await pilot.press("g", "escape")  # `g` opens it too; escape changes nothing
        assert main.selected_flag == "dark-mode"


async def test_keys_after_a_jump_to_a_flag_without_feed_rows_act_on_that_flag(
    emulator: EmulatorHandle,
) -> None:
    """The feed's cursor stays on another flag's row when the flag jumped to has none there:
    `w` watched that other flag. Its values row takes the focus instead; a flag with no values
    row leaves the feed selecting nothing. The notice blames no filter when none is set."""
    app = make_app(make_profile(emulator))  # new-dashboard watched, so in the values
    said = notes_of(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        emulator.world.update_flag("production", "dark-mode", enabled=False)
        await wait_for(pilot, lambda: app.main.store.shown == 1, what="the event")
        main = app.main
        await wait_for(pilot, lambda: "new-dashboard" in main.values_table.values)
        item = main.feed.cursor_item
        assert main.feed.has_focus and getattr(item, "flag_key", None) == "dark-mode"

        burst(app, "g", *"new-dashboard")
        await wait_for(pilot, lambda: main.selected_flag == "new-dashboard", what="the jump")
        await wait_for(pilot, lambda: main.values_table.has_focus, what="the values' focus")
        assert said[-1] == "new-dashboard: no event in the feed's view; its values row is selected"
        await pilot.press("w")
        assert main.watched == set()  # new-dashboard unwatched; dark-mode untouched

        main.keys.jump_to("ghost-flag")  # known only from its configuration, say
        assert main.feed.cursor_item is None
        main.feed.focus()
        await pilot.press("w")
        assert main.watched == {"ghost-flag"}
        assert said[-2].endswith("no event in the feed's view; the feed selects no row")


def burst(app: Any, opener: str, *typed: str) -> None:
    """`opener`, `typed` and enter queued at once, before the first is handled: a paste. A
    `typed` item longer than one character is a key's name (`backspace`)."""
    from textual import events

    keys = [("g" if opener == "g" else "colon", opener)]
    for text in typed:
        keys += [(text, None)] if len(text) > 1 else [(text, text)]
    for key, char in [*keys, ("enter", "\r")]:
        app.post_message(events.Key(key, char))


async def test_jump_in_one_burst_picks_the_match_of_the_text_typed(
    emulator: EmulatorHandle,
) -> None:
    """`g`, the name and enter in one burst (a paste, fast typing): enter picks the best match of
    what was typed, not the unfiltered list's first flag (the keys typed right after `g` were
    handed to the feed before `g` had opened the finder)."""
    app = make_app(make_profile(emulator, watch=()))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        for flag in ("dark-mode", "new-dashboard", "checkout-v2"):
            emulator.world.update_flag("production", flag, enabled=False)
        await wait_for(pilot, lambda: app.main.store.shown == 3, what="the events")
        main = app.main
        assert min(main.keys.flag_keys()) == "checkout-v2"  # the unfiltered list's first
        cases = [
            (("g", *"new-dashboard"), "new-dashboard"),
            ((":", *"drk"), "dark-mode"),  # a fuzzy match
            (("g", *"new-dashx", "backspace", *"bo"), "new-dashboard"),  # an edit, in order
        ]

        def on(flag: str) -> bool:  # selected, and the feed's cursor on its row (a repaint on)
            item = main.feed.cursor_item
            return main.selected_flag == flag and getattr(item, "flag_key", None) == flag

        for keys, flag in cases:
            burst(app, *keys)
            await wait_for(pilot, lambda f=flag: on(f), what=f"{flag}")
            assert not isinstance(app.screen, JumpScreen)
            assert main.history_pane.flag_key == flag

        await pilot.press("slash", "g", "colon")  # in the filter's box they are text
        assert not isinstance(app.screen, JumpScreen)
        assert app.query_one(FilterBar).input.value == "g:"
