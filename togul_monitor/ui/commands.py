"""The command palette's togul-monitor commands, chosen for the current state.

Only what applies now is offered: "Pause the feed" while it runs and "Resume" while paused,
"profile: <name>" for every profile but the current one, one toggle per event type saying what
it will do, export, clear, the next time format, watch/unwatch the selected flag. Textual's
system commands (theme, keys, quit) stay in the palette next to these.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import Matcher

from togul_monitor.protocol import EVENT_TYPES
from togul_monitor.support.text import safe_text
from togul_monitor.ui.view.format import TIME_MODES

if TYPE_CHECKING:
    from togul_monitor.ui.app import TogulMonitorApp

Command = tuple[str, Callable[[], Any], str]


def app_commands(app: TogulMonitorApp, profile_names: list[str]) -> list[Command]:
    """(title, callback, help) for the state `app` is in now."""
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
    if app.store.paused:
        commands.append(("Resume the feed", app.action_toggle_pause, "Show what arrived"))
    else:
        commands.append(("Pause the feed", app.action_toggle_pause, "Freeze the view"))
    for index, event_type in enumerate(EVENT_TYPES):
        verb = "Show" if app.predicate.hides(event_type) else "Hide"
        commands.append(
            (
                f"{verb} {event_type} events",
                partial(app.action_toggle_type, index),
                f"Key {index + 1}",
            )
        )
    commands.append(("Export what the filter shows", app.action_export, "JSONL in the data dir"))
    commands.append(("Clear the view", app.action_clear_view, "The log and journal are kept"))
    next_mode = TIME_MODES[(TIME_MODES.index(app.time_mode) + 1) % len(TIME_MODES)]
    commands.append((f"Time: show {next_mode}", app.action_time_format, "Key t"))
    flag = app.selected_flag
    if flag is not None:
        verb = "Unwatch" if flag in app.watched else "Watch"
        commands.append(
            (f"{verb} {safe_text(flag)}", app.action_watch, "Bell and notification on change")
        )
    commands.append(("Filter the feed", app.action_open_filter, "Key /"))
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
        from togul_monitor.ui.app import TogulMonitorApp

        app = self.app
        if not isinstance(app, TogulMonitorApp):
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
