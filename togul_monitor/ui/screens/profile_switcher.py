"""`p`: the profile switcher (list, switch, add, edit).

The list comes from `config.resolve.list_profiles()` (the file's profiles, then the built-in demo
profiles), read on a worker once the screen is open, as is a profile before its form opens: the
event loop never reads the file. Choosing one dismisses the screen with its name; the app stops
the old monitor and starts the new one on a worker. The add/edit form is `profile_form.py`.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker

from togul_monitor.config.entry import ProfileEntry
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.profiles import Profile
from togul_monitor.config.validate import display_url
from togul_monitor.support.text import mask_secret, safe_text
from togul_monitor.ui.screens.modal_keys import close_and_help, modal_footer
from togul_monitor.ui.screens.profile_form import ProfileFormScreen, plain_lines
from togul_monitor.ui.worker_errors import report_worker_error

__all__ = ["ProfileFormScreen", "ProfileSwitcherScreen", "open_profile_form", "profile_label"]


def _credential(profile: Profile) -> str:
    """Each credential the profile has, masked: a key streams and evaluates, a token reads the
    configurations, and a profile with both uses both."""
    shown = [
        f"{what} {mask_secret(secret)}"
        for what, secret in (("key", profile.api_key), ("token", profile.token))
        if secret
    ]
    if shown:
        return " · ".join(shown)
    return "no credential" if not profile.builtin else "demo key"


def profile_label(profile: Profile, current: str) -> Text:
    mark = "● " if profile.name == current else "  "
    # One line per profile at any width (80 columns too): cut with an ellipsis, never wrapped.
    # The mark's style as a span, not the Text's own (which every span appended would take).
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(mark, style="bold green")
    text.append(f"{safe_text(profile.name):<20}", style="bold")
    text.append(f" {safe_text(profile.environment_key or '-'):<12}", style="cyan")
    if profile.builtin:
        text.append(" built-in demo emulator", style="dim")
    else:
        text.append(f" {display_url(profile.base_url)}", style="")
        text.append(f"  {_credential(profile)}", style="dim")
    return text


def read_profiles() -> tuple[list[Profile], str | None]:
    """The profiles to offer and the config error to show (blocking: call on a worker)."""
    from togul_monitor.config.resolve import list_profiles

    try:
        return list_profiles(), None
    except ConfigError as error:
        return [], str(error)


def read_entry(name: str) -> ProfileEntry | None:
    """Saved profile `name` as written in the file (blocking: call on a worker)."""
    from togul_monitor.config.profiles import load_config

    return load_config().profiles.get(name)


def open_profile_form(node: DOMNode, name: str, callback: Callable[[str | None], None]) -> None:
    """Read profile `name` on a thread worker of `node`, then open its edit form."""

    def load() -> None:
        entry = read_entry(name)
        node.app.call_from_thread(node.app.push_screen, ProfileFormScreen(name, entry), callback)

    node.run_worker(
        load,
        thread=True,
        exclusive=True,
        group="profile-load",
        exit_on_error=False,
        name="profile-load",
    )


class ProfileSwitcherScreen(ModalScreen[str | None]):
    BINDINGS = [
        *close_and_help("profiles_close"),
        Binding("a", "add", "Add", tooltip="Add a profile", id="profiles_add"),
        Binding("e", "edit", "Edit", tooltip="Edit the highlighted profile", id="profiles_edit"),
    ]
    HELP_TITLE = "profile switcher (p)"
    OTHER_KEYS = (
        ("up,down", "Choose a profile"),
        ("enter", "Switch to it (the stream is closed, the new one opened)"),
    )

    DEFAULT_CSS = """
    ProfileSwitcherScreen { align: center middle; }
    ProfileSwitcherScreen > Vertical {
        width: 90%; max-width: 100; height: auto; max-height: 80%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    ProfileSwitcherScreen OptionList {
        height: auto; max-height: 16; text-wrap: nowrap; text-overflow: ellipsis;
    }
    ProfileSwitcherScreen #profiles-error { color: $error; height: auto; }
    ProfileSwitcherScreen #profiles-help { color: $text-muted; }
    """

    def __init__(self, current: str, profiles: list[Profile] | None = None) -> None:
        super().__init__()
        self.current = current
        self.profiles = profiles  # None: read on a worker after mount (the file may be slow)
        self.error: str | None = None

    @property
    def loaded(self) -> bool:
        return self.profiles is not None

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "profiles"
            box.border_subtitle = "enter switch · a add · e edit · esc close"
            yield OptionList(id="profiles-list")
            yield Static("", id="profiles-error")
            yield Label(
                Text("Switching stops the running stream and opens the chosen profile."),
                id="profiles-help",
            )
        yield modal_footer()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        if self.profiles is None:
            self._load_worker()
        else:
            self._show(self.profiles, None)

    @work(
        thread=True, exclusive=True, group="profile-load", exit_on_error=False, name="profile-load"
    )
    def _load_worker(self) -> None:
        profiles, error = read_profiles()
        self.app.call_from_thread(self._show, profiles, error)

    def _show(self, profiles: list[Profile], error: str | None) -> None:
        self.profiles, self.error = profiles, error
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options(Option(profile_label(p, self.current), id=p.name) for p in profiles)
        self.query_one("#profiles-error", Static).update(plain_lines(error or ""))
        names = [p.name for p in profiles]
        if names:  # the current profile, or the first one (as a focused list shows it)
            options.highlighted = names.index(self.current) if self.current in names else 0

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        report_worker_error(self, event)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def _highlighted(self) -> Profile | None:
        options = self.query_one(OptionList)
        if options.highlighted is None or not self.profiles:
            return None
        return self.profiles[options.highlighted]

    def action_add(self) -> None:
        self.app.push_screen(ProfileFormScreen(None), self._saved)

    def action_edit(self) -> None:
        profile = self._highlighted()
        if profile is None:
            return
        if profile.builtin:
            self.app.notify("The demo profiles are built in and cannot be edited.", markup=False)
            return
        open_profile_form(self, profile.name, self._saved)

    def _saved(self, name: str | None) -> None:
        if name:
            self.dismiss(name)
