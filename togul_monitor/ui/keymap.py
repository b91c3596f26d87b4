"""Every key of the TUI (README.md, "Using it") as a Binding with an id; the user remaps ids.

The ids are the public names (`profiles.toml` `[keymap]` table: `pause = "ctrl+space"`), so they
never change once shipped. `load_user_keymap()` reads the table through the config layer.

The bindings live on the main screen (`main_screen_bindings`), in this order, which is the
footer's order; those whose action belongs to the app (profiles, help, quit...) say so with the
`app.` prefix. The command palette's binding stays on the app (`app_bindings`): Textual adds
its own there otherwise.
"""

from __future__ import annotations

import logging

from textual.binding import Binding, BindingType

from togul_monitor.config.keymap import BINDING_DEFAULTS
from togul_monitor.protocol import EVENT_TYPES

log = logging.getLogger(__name__)

# Binding id → (action, footer label, show in footer, tooltip); the default keys are the
# config layer's (`config/keymap.py`), which validates the user's `[keymap]` against them.
_ACTIONS: dict[str, tuple[str, str, bool, str]] = {
    "filter": ("filter_key", "Filter", True, "Filter the feed (shared filter language)"),
    "pause": (
        "toggle_pause",
        "Pause",
        True,
        "Pause/resume the feed (+N new while paused)",
    ),
    "follow": (
        "follow",
        "Follow",
        False,
        "Follow the latest event, from any pane (the feed takes the focus)",
    ),
    "detail": (
        "detail",
        "Detail",
        True,
        "Event detail: event JSON, value before → after (on a values row: its values whole; "
        "on a history row: its event's)",
    ),
    "profiles": ("app.profiles", "Profiles", True, "Switch, add or edit profiles"),
    "command_palette": ("command_palette", "Palette", False, "Command palette"),
    "watch": (
        "watch",
        "Watch",
        True,
        "Watch/unwatch the selected flag (bell on change; saved to the profile)",
    ),
    "time_format": ("time_format", "Time", False, "Time as local, UTC or relative (saved)"),
    "copy": (
        "copy",
        "Copy",
        False,
        "Copy the selection: event JSON (feed), key = value (values), entry JSON (history)",
    ),
    "jump": ("jump_key", "Jump", False, "Jump to a flag: fuzzy search over every flag key known"),
    "inventory": (
        "inventory",
        "Inventory",
        False,
        "Flag inventory: every flag, its rules, your value and its last change (s sorts)",
    ),
    "compare": (
        "compare",
        "Compare",
        False,
        "Environments side by side: every flag in each, what differs (d only differing)",
    ),
    "coverage": (
        "coverage",
        "Coverage",
        False,
        "Rollout coverage of the selected flag: each value's share of synthetic users, "
        "configured vs observed % per rule",
    ),
    "export": ("export", "Export", True, "Export what the filter shows as JSONL"),
    "clear": ("clear_view", "Clear", False, "Clear the view (not the log or journal)"),
    "reconnect": (
        "app.reconnect",
        "Reconnect",
        False,
        "Reconnect the stream now (also retries rejected credentials)",
    ),
    "reevaluate": ("app.reevaluate", "Re-evaluate", False, "Re-evaluate every value now"),
    "edit_profile": (
        "app.edit_profile",
        "Edit profile",
        False,
        "Edit the current profile (or the one that just failed to open)",
    ),
    "help": ("app.help", "Help", True, "Keys and panes"),
    "quit": ("app.quit", "Quit", True, "Quit"),
}
for _index, _type in enumerate(EVENT_TYPES, start=1):
    _ACTIONS[f"toggle_type_{_index}"] = (
        f"toggle_type({_index - 1})",
        _type,
        False,
        f"Show/hide {_type} events",
    )

#: Binding id → (default keys, action, footer label, show in footer, tooltip)
DEFAULT_KEYS: dict[str, tuple[str, str, str, bool, str]] = {
    binding_id: (BINDING_DEFAULTS[binding_id], *rest) for binding_id, rest in _ACTIONS.items()
}


# Run before the focused widget sees the key (see `MainKeys.filter_key`): each opens an
# Input that the keys typed right after it belong in.
PRIORITY_IDS = frozenset({"filter", "jump"})
# Bound on the app rather than the main screen: these work under any screen (help and quit
# from the profile switcher too, as before).
APP_IDS = frozenset({"command_palette", "help", "quit"})


def _bindings(ids: list[str]) -> list[BindingType]:
    return [
        Binding(
            keys,
            action,
            label,
            show=show,
            tooltip=tip,
            id=binding_id,
            priority=binding_id in PRIORITY_IDS,
        )
        for binding_id in ids
        for keys, action, label, show, tip in (DEFAULT_KEYS[binding_id],)
    ]


def pane_binding(binding_id: str, action: str, tooltip: str | None = None) -> Binding:
    """A main-screen key on a pane that binds the same key itself (a DataTable's `enter`
    selects, its or a ScrollView's `end` scrolls): the pane's binding runs `action`, with the
    screen's label and the screen's id, so a remapped key (`[keymap]`) moves both; `tooltip`
    says what it does there when that is the pane's own."""
    keys, _action, label, show, tip = DEFAULT_KEYS[binding_id]
    return Binding(keys, action, label, show=show, tooltip=tooltip or tip, id=binding_id)


def app_bindings() -> list[BindingType]:
    return _bindings([binding_id for binding_id in DEFAULT_KEYS if binding_id in APP_IDS])


def main_screen_bindings() -> list[BindingType]:
    return _bindings([binding_id for binding_id in DEFAULT_KEYS if binding_id not in APP_IDS])


def load_user_keymap() -> dict[str, str]:
    """The `[keymap]` table of the config file; `{}` when absent or unreadable (logged)."""
    try:
        from togul_monitor.config import resolve
    except ImportError:  # the config layer predates keymaps
        return {}
    loader = getattr(resolve, "load_keymap", None)
    if loader is None:
        return {}
    try:
        keymap = loader()
    except Exception as error:  # a bad keymap must not stop the app: defaults apply
        log.warning("keymap ignored: %s", error)
        return {}
    return {str(k): str(v) for k, v in keymap.items() if k in DEFAULT_KEYS}
