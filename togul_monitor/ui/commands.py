"""The command palette's togul-monitor commands, chosen for the current state.

Only what applies now is offered: "Pause the feed" while it runs and "Resume" while paused,
"profile: <name>" for every profile but the current one, one toggle per event type saying what
it will do, export, clear, the next time format, watch/unwatch the selected flag, reconnect the
stream, re-evaluate every value, jump to a flag, the flag inventory, the environment matrix, copy
the selection. Textual's system commands (theme, keys, quit) stay in the palette next to these.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any, Protocol, runtime_checkable

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import Matcher

from togul_monitor.config.profiles import Profile
from togul_monitor.protocol import EVENT_TYPES
from togul_monitor.support.text import safe_text
from togul_monitor.ui.view.feed_predicate import FeedPredicate
from togul_monitor.ui.view.format import next_time_mode

Command = tuple[str, Callable[[], Any], str]


class ViewCommands(Protocol):
    """What the palette reads and runs on the main screen (`screens/main.py`)."""

    @property
    def paused(self) -> bool: ...

    @property
    def predicate(self) -> FeedPredicate: ...

    @property
    def time_mode(self) -> str: ...

    @property
    def selected_flag(self) -> str | None: ...

    @property
    def watched(self) -> set[str]: ...

    def action_toggle_pause(self) -> None: ...

    def action_toggle_type(self, index: int) -> None: ...

    def action_export(self) -> None: ...

    def action_clear_view(self) -> None: ...

    def action_time_format(self) -> None: ...

    def action_watch(self) -> None: ...

    def action_open_filter(self) -> None: ...

    def action_copy(self) -> None: ...

    def action_jump(self) -> None: ...

    def action_inventory(self) -> None: ...

    def action_compare(self) -> None: ...


@runtime_checkable
class CommandHost(Protocol):
    """What the palette reads and runs on the app (`app.py`); the app is checked against it, so
    this module never imports the app."""

    @property
    def profile(self) -> Profile: ...

    @property
    def main(self) -> ViewCommands: ...

    def switch_profile(self, name: str) -> None: ...

    def action_profiles(self) -> None: ...

    def action_reconnect(self) -> None: ...

    def action_reevaluate(self) -> None: ...


def app_commands(app: CommandHost, profile_names: list[str]) -> list[Command]:
    """(title, callback, help) for the state `app` is in now."""
    view = app.main
    commands: list[Command] = []
    for name in profile_names:
        if name != app.profile.name:
            commands.append(
                (
                    f"profile: {safe_text(name)}",
                    partial(app.switch_profile, name),
                    "Switch to this profile",
                )
            )
    if view.paused:
        commands.append(("Resume the feed", view.action_toggle_pause, "Show what arrived"))
    else:
        commands.append(("Pause the feed", view.action_toggle_pause, "Freeze the view"))
    for index, event_type in enumerate(EVENT_TYPES):
        verb = "Show" if view.predicate.hides(event_type) else "Hide"
        commands.append(
            (
                f"{verb} {event_type} events",
                partial(view.action_toggle_type, index),
                f"Key {index + 1}",
            )
        )
    commands.append(("Export what the filter shows", view.action_export, "JSONL in the data dir"))
    commands.append(("Clear the view", view.action_clear_view, "The log and journal are kept"))
    commands.append(
        (f"Time: show {next_time_mode(view.time_mode)}", view.action_time_format, "Key t")
    )
    flag = view.selected_flag
    if flag is not None:
        verb = "Unwatch" if flag in view.watched else "Watch"
        commands.append(
            (f"{verb} {safe_text(flag)}", view.action_watch, "Bell and notification on change")
        )
    commands.append(("Filter the feed", view.action_open_filter, "Key /"))
    commands.append(("Jump to a flag…", view.action_jump, "Keys g and :"))
    commands.append(("Flag inventory…", view.action_inventory, "Key i: every flag, sortable"))
    commands.append(
        ("Compare environments…", view.action_compare, "Key c: every flag in every environment")
    )
    commands.append(
        ("Copy the selection", view.action_copy, "Key y: event JSON, key = value, entry JSON")
    )
    commands.append(
        ("Reconnect the stream now", app.action_reconnect, "Key R; retries rejected credentials")
    )
    commands.append(("Re-evaluate every value", app.action_reevaluate, "Key r"))
    commands.append(("Profiles…", app.action_profiles, "Switch, add or edit"))
    return commands


def highlighted(matcher: Matcher, title: str) -> Content:
    """`title` as plain Content with the matched letters styled.

    `Matcher.highlight` and a `str` prompt are both parsed as Textual markup, and titles carry
    server text (a flag key such as `a[/]b` would crash the palette, `[@click=…]` would inject
    an action): build the Content from the plain string and style the match offsets on it.
    """
    content = Content(title)
    score, offsets = matcher.fuzzy_search.match(matcher.query, title)
    if not score:
        return content
    for offset in offsets:
        if not title[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content


class TogulCommands(Provider):
    async def startup(self) -> None:
        self.profile_names: list[str] = []
        try:
            from togul_monitor.config.resolve import list_profiles

            profiles = await asyncio.to_thread(list_profiles)
            self.profile_names = [p.name for p in profiles]
        except Exception:  # a broken profile file is reported by the switcher, not here
            self.profile_names = []

    def _commands(self) -> list[Command]:
        app = self.app
        if not isinstance(app, CommandHost):
            return []
        return app_commands(app, self.profile_names)

    async def discover(self) -> Hits:
        for title, callback, help_text in self._commands():
            yield DiscoveryHit(Content(title), callback, text=title, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, callback, help_text in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, highlighted(matcher, title), callback, text=title, help=help_text)
