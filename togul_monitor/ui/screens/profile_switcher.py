"""`p`: the profile switcher (list, switch, add, edit) and the add/edit form.

The list comes from `config.resolve.list_profiles()` (the file's profiles, then the built-in demo
profiles), read on a worker once the screen is open, as is a profile before its form opens: the
event loop never reads the file. Choosing one dismisses the screen with its name; the app stops the old monitor and
starts the new one on a worker. The form writes through `ProfileStore` (validated, atomic, 0600)
on a worker thread and shows the store's error in place when it refuses.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker

from togul_monitor.config.entry import ProfileEntry
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.profiles import Profile
from togul_monitor.support.text import mask_secret, safe_text
from togul_monitor.ui.worker_errors import report_worker_error


def _credential(profile: Profile) -> str:
    if profile.token:
        return f"token {mask_secret(profile.token)}"
    if profile.api_key:
        return f"key {mask_secret(profile.api_key)}"
    return "no credential" if not profile.builtin else "demo key"


def profile_label(profile: Profile, current: str) -> Text:
    mark = "● " if profile.name == current else "  "
    # One line per profile at any width (80 columns too): cut with an ellipsis, never wrapped.
    text = Text(mark, style="bold green", no_wrap=True, overflow="ellipsis")
    text.append(f"{safe_text(profile.name):<20}", style="bold")
    text.append(f" {safe_text(profile.environment_key or '-'):<12}", style="cyan")
    if profile.builtin:
        text.append(" built-in demo emulator", style="dim")
    else:
        text.append(f" {safe_text(profile.base_url)}", style="")
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
        Binding("escape", "dismiss", "Close", id="profiles_close"),
        Binding("a", "add", "Add", id="profiles_add"),
        Binding("e", "edit", "Edit", id="profiles_edit"),
    ]

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
        self.query_one("#profiles-error", Static).update(Text(safe_text(error or "")))
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


FIELDS: tuple[tuple[str, str, str], ...] = (
    ("name", "name", "prod"),
    ("base_url", "base URL", "https://api.togul.io"),
    ("environment_key", "environment key", "production"),
    ("api_key_env", "API key variable", "TOGUL_PROD_SDK_KEY"),
    ("api_key", "API key (literal)", "tgl_sdk_… (prefer the variable)"),
    ("token_env", "token variable", "TOGUL_TOKEN"),
    ("context", "context", "user_id=monitor, plan=premium"),
    ("watch", "watch", "new-dashboard, checkout-v2"),
)


def parse_pairs(text: str) -> dict[str, str]:
    """`a=1, b=2` → {"a": "1", "b": "2"}; raises ValueError naming the bad part."""
    pairs: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"context: {part!r} is not key=value")
        pairs[key.strip()] = value.strip()
    return pairs


def parse_list(text: str) -> tuple[str, ...]:
    return tuple(filter(None, (p.strip() for p in text.split(","))))


class ProfileFormScreen(ModalScreen[str | None]):
    """Add (name None) or edit a saved profile. Secrets are never shown back, only masked."""

    BINDINGS = [
        Binding("escape", "dismiss", "Cancel", id="form_cancel"),
        Binding("ctrl+s", "save", "Save", id="form_save"),
    ]

    DEFAULT_CSS = """
    ProfileFormScreen { align: center middle; }
    ProfileFormScreen > Vertical {
        width: 90%; max-width: 90; height: auto; max-height: 95%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    ProfileFormScreen Grid { grid-size: 2; grid-columns: 18 1fr; height: auto; grid-rows: 1; }
    ProfileFormScreen Grid Input, ProfileFormScreen Grid Input:focus {
        border: none; height: 1; padding: 0 1;
    }
    ProfileFormScreen Grid Input:focus { background: $accent 30%; }
    ProfileFormScreen #form-error { color: $error; height: auto; }
    ProfileFormScreen #form-buttons { height: 3; }
    """

    def __init__(self, name: str | None, entry: ProfileEntry | None = None) -> None:
        """`entry`: the saved profile `name` to edit, read beforehand (see open_profile_form)."""
        super().__init__()
        self.profile_name = name
        self.entry = entry

    def compose(self) -> ComposeResult:
        values: dict[str, str] = {}
        secret_hint = ""
        if self.entry is not None:
            e = self.entry
            values = {
                "name": e.name,
                "base_url": e.base_url,
                "environment_key": e.environment_key,
                "api_key_env": e.api_key_env or "",
                "token_env": e.token_env or "",
                "context": ", ".join(f"{k}={v}" for k, v in e.context.items()),
                "watch": ", ".join(e.watch),
            }
            if e.api_key:
                secret_hint = f"unchanged: {mask_secret(e.api_key)}"
        with Vertical() as box:
            box.border_title = "edit profile" if self.entry else "add profile"
            box.border_subtitle = "ctrl+s save · esc cancel"
            with Grid():
                for key, label, placeholder in FIELDS:
                    yield Label(label)
                    yield Input(
                        value=values.get(key, ""),
                        placeholder=secret_hint
                        if key == "api_key" and secret_hint
                        else placeholder,
                        password=key == "api_key",
                        id=f"field-{key}",
                        disabled=key == "name" and self.entry is not None,
                    )
            yield Static("", id="form-error")
            yield Button("Save", id="form-save", variant="primary")

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        report_worker_error(self, event)

    def _value(self, key: str) -> str:
        return self.query_one(f"#field-{key}", Input).value.strip()

    @on(Button.Pressed, "#form-save")
    def action_save(self) -> None:
        try:
            context = parse_pairs(self._value("context"))
        except ValueError as error:
            self._show_error(str(error))
            return
        fields = {key: self._value(key) for key, _, _ in FIELDS}
        self._save_worker(fields, context, parse_list(fields["watch"]))

    def _show_error(self, message: str) -> None:
        self.query_one("#form-error", Static).update(Text(safe_text(message)))

    @work(
        thread=True, exclusive=True, group="profile-save", exit_on_error=False, name="profile-save"
    )
    def _save_worker(
        self, fields: dict[str, str], context: dict[str, str], watch: tuple[str, ...]
    ) -> None:
        from togul_monitor.config.entry import ProfileEntry
        from togul_monitor.config.profiles import ProfileChanges, ProfileStore

        store = ProfileStore()
        try:
            if self.entry is None:
                entry = ProfileEntry(
                    name=fields["name"],
                    base_url=fields["base_url"],
                    environment_key=fields["environment_key"],
                    api_key=fields["api_key"] or None,
                    api_key_env=fields["api_key_env"] or None,
                    token_env=fields["token_env"] or None,
                    context=context,
                    watch=watch,
                )
                store.add(entry)
                name = entry.name
            else:
                old = self.entry
                changes = ProfileChanges(
                    base_url=fields["base_url"] or None,
                    environment_key=fields["environment_key"] or None,
                    api_key=fields["api_key"] or None,
                    api_key_env=(fields["api_key_env"] or None)
                    if fields["api_key_env"] != (old.api_key_env or "")
                    else None,
                    token_env=(fields["token_env"] or None)
                    if fields["token_env"] != (old.token_env or "")
                    else None,
                    context=context,
                    unset_context=tuple(k for k in old.context if k not in context),
                    watch=tuple(w for w in watch if w not in old.watch),
                    unwatch=tuple(w for w in old.watch if w not in watch),
                )
                store.edit(old.name, changes)
                name = old.name
        except ConfigError as error:
            self.app.call_from_thread(self._show_error, str(error))
            return
        except Exception as error:  # an unexpected store failure is shown, not raised
            self.app.call_from_thread(self._show_error, f"could not save: {error}")
            return
        self.app.call_from_thread(self.dismiss, name)
