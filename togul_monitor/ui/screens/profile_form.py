"""The add/edit profile form (from the profile switcher, `p` then `a`/`e`, or `E`).

What saving would do is checked on the UI thread first (`view/profile_edit.py`: the config
layer's validation, no file I/O): an error is shown in place; a save that removes a literal
secret or names a variable that is not set says so and needs `ctrl+s` again. Then the store
(`ProfileStore`: validated again against the file, atomic, 0600) writes on a thread worker and
its error, if any, is shown in place. Every message is shown as plain text, line by line
through `safe_text`, so a hint on its own line is a line, not `\\x0a`.

`tab` and `shift+tab` are priority bindings: keys are forwarded to the widget focused when the
app reads them, so with a normal binding the keys typed right after `tab` (a paste, `tmux
send-keys`) were forwarded to the old field before `tab` moved the focus (the `/` binding of
`screens/main.py` solves the same race the same way). The field's text is selected there and
then, not when its Focus event arrives (`select_on_focus` would select it after keys of the
burst were typed, and the next key would replace them).

Named contexts are edited in a text area below the fields, one a line (`name: key=value, ...`,
or `name: {"key": "a,b"}`, the JSON object `profiles edit --context-set` takes, for a value
holding a comma): a new line adds a context, an edited line replaces its attributes, a deleted
line removes it.
`tab` leaves the area as it leaves a field (it inserts no tab character).
"""

from __future__ import annotations

import os

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static, TextArea
from textual.worker import Worker

from togul_monitor.config.context_attributes import attributes_text
from togul_monitor.config.entry import ProfileEntry
from togul_monitor.config.errors import ConfigError
from togul_monitor.support.text import mask_secret, safe_text
from togul_monitor.ui.screens.modal_keys import help_binding, modal_footer
from togul_monitor.ui.view.profile_edit import (
    FormFields,
    SavePlan,
    config_message,
    contexts_text,
    form_text,
    plan_save,
    typed_text,
)
from togul_monitor.ui.widgets.ordered_input import OrderedInput
from togul_monitor.ui.worker_errors import report_worker_error

FIELDS: tuple[tuple[str, str, str], ...] = (
    ("name", "name", "prod"),
    ("base_url", "base URL", "https://api.togul.io"),
    ("environment_key", "environment key", "production"),
    ("api_key_env", "API key variable", "TOGUL_PROD_SDK_KEY"),
    ("api_key", "API key (literal)", "tgl_sdk_… (prefer the variable)"),
    ("token_env", "token variable", "TOGUL_TOKEN"),
    ("context", "context", "user_id=monitor, plan=premium"),
    ("watch", "watch", "new-dashboard, checkout-v2"),
    ("heartbeat_seconds", "heartbeat seconds", "30 (the server's heartbeat; read timeout 3x)"),
)

CONTEXTS_HELP = Text(  # plain: braces and brackets are not markup here
    "named contexts, one a line: name: key=value, key=value\n"
    """a value holding a comma: name: {"key": "a,b", "key2": "value"}"""
)


def plain_lines(message: str) -> Text:
    """`message` as text, each line made safe on its own (newlines stay newlines)."""
    return Text("\n".join(safe_text(line) for line in message.splitlines()))


class ProfileFormScreen(ModalScreen[str | None]):
    """Add (name None) or edit a saved profile. Secrets are never shown back, only masked."""

    BINDINGS = [
        Binding("escape", "dismiss", "Cancel", tooltip="Close, saving nothing", id="form_cancel"),
        Binding("ctrl+s", "save", "Save", tooltip="Save the profile", id="form_save"),
        help_binding(typing=True),
        Binding("tab", "field(1)", "Next field", show=False, priority=True),
        Binding("shift+tab", "field(-1)", "Previous field", show=False, priority=True),
    ]
    HELP_TITLE = "profile form"

    DEFAULT_CSS = """
    ProfileFormScreen { align: center middle; }
    ProfileFormScreen > Vertical {
        width: 90%; max-width: 90; height: auto; max-height: 95%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    ProfileFormScreen Grid { grid-size: 2; grid-columns: 19 1fr; height: auto; grid-rows: 1; }
    ProfileFormScreen Grid Input, ProfileFormScreen Grid Input:focus {
        border: none; height: 1; padding: 0 1;
    }
    ProfileFormScreen Grid Checkbox, ProfileFormScreen Grid Checkbox:focus {
        border: none; height: 1; padding: 0 1; background: $surface;
    }
    ProfileFormScreen Grid Input:focus, ProfileFormScreen Grid Checkbox:focus {
        background: $accent 30%;
    }
    ProfileFormScreen #field-contexts { height: 6; }
    ProfileFormScreen #contexts-label { color: $text-muted; }
    ProfileFormScreen #form-error { color: $error; height: auto; }
    ProfileFormScreen #form-error.-confirm { color: $warning; }
    ProfileFormScreen #form-buttons { height: 3; }
    """

    def __init__(self, name: str | None, entry: ProfileEntry | None = None) -> None:
        """`entry`: the saved profile `name` to edit, read beforehand (see open_profile_form)."""
        super().__init__()
        self.profile_name = name
        self.entry = entry
        self._confirmed: FormFields | None = None  # the fields a warning was shown for
        self._originals: dict[str, str] = {}  # each field's text as the entry holds it

    def compose(self) -> ComposeResult:
        values: dict[str, str] = {}
        named = ""
        secret_hint = ""
        allow_insecure = False
        if self.entry is not None:
            e = self.entry
            values = {
                "name": e.name,
                "base_url": e.base_url,
                "environment_key": e.environment_key,
                "api_key_env": e.api_key_env or "",
                "token_env": e.token_env or "",
                "context": attributes_text(e.context),
                "watch": ", ".join(e.watch),
                "heartbeat_seconds": f"{e.heartbeat_seconds:g}",
            }
            allow_insecure = e.allow_insecure
            named = contexts_text(e.contexts)
            if e.api_key:
                secret_hint = f"unchanged: {mask_secret(e.api_key)}"
        self._originals = {**values, "contexts": named}
        with Vertical() as box:
            box.border_title = "edit profile" if self.entry else "add profile"
            box.border_subtitle = "tab next · ctrl+s save · esc cancel"
            with Grid():
                for key, label, placeholder in FIELDS:
                    yield Label(label)
                    yield OrderedInput(  # its editing keys act in order in a burst
                        value=form_text(key, values.get(key, "")),
                        placeholder=secret_hint
                        if key == "api_key" and secret_hint
                        else placeholder,
                        password=key == "api_key",
                        select_on_focus=False,  # action_field selects, in order
                        id=f"field-{key}",
                        disabled=key == "name" and self.entry is not None,
                    )
                yield Label("allow insecure")
                yield Checkbox(
                    "plain http:// to a host that is not loopback",
                    allow_insecure,
                    id="field-allow_insecure",
                )
            yield Label(CONTEXTS_HELP, id="contexts-label")
            yield TextArea(
                form_text("contexts", named),
                id="field-contexts",
                soft_wrap=False,
                tab_behavior="focus",
                placeholder="premium: plan=premium, user_id=u-1\nfree: plan=free, user_id=u-2",
            )
            yield Static("", id="form-error")
            yield Button("Save", id="form-save", variant="primary")
        yield modal_footer()

    def action_field(self, step: int) -> None:
        """Focus the next (1) or previous (-1) field now, its text selected (typing replaces
        it, as in any form), before the next key is read."""
        if self.app.screen is not self:
            return
        focused = self.focus_next() if step > 0 else self.focus_previous()
        if isinstance(focused, Input):
            focused.select_all()

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        report_worker_error(self, event)

    def fields(self) -> FormFields:
        def value(key: str, typed: str) -> str:
            return typed_text(key, typed, self._originals.get(key, ""))

        texts = {
            key: value(key, self.query_one(f"#field-{key}", Input).value).strip()
            for key, _, _ in FIELDS
        }
        allow = self.query_one("#field-allow_insecure", Checkbox).value
        contexts = value("contexts", self.query_one("#field-contexts", TextArea).text)
        return FormFields(**texts, contexts=contexts, allow_insecure=allow)

    @on(Button.Pressed, "#form-save")
    def action_save(self) -> None:
        fields = self.fields()
        plan = plan_save(fields, self.entry, os.environ)
        if plan.error is not None:
            self._show(plan.error)
            return
        if plan.confirm is not None and fields != self._confirmed:
            self._confirmed = fields
            self._show(f"{plan.confirm}.\nctrl+s again to save; esc to cancel", confirm=True)
            return
        self._show("")
        self._save_worker(plan)

    def _show(self, message: str, *, confirm: bool = False) -> None:
        error = self.query_one("#form-error", Static)
        error.set_class(confirm, "-confirm")
        error.update(plain_lines(message))

    @work(
        thread=True, exclusive=True, group="profile-save", exit_on_error=False, name="profile-save"
    )
    def _save_worker(self, plan: SavePlan) -> None:
        from togul_monitor.config.profiles import ProfileStore

        store = ProfileStore()
        try:
            if plan.entry is not None:
                store.add(plan.entry)
            elif plan.changes is not None:
                store.edit(plan.name, plan.changes)
        except ConfigError as error:
            self.app.call_from_thread(self._show, config_message(error))
            return
        except Exception as error:  # an unexpected store failure is shown, not raised
            self.app.call_from_thread(self._show, f"could not save: {error}")
            return
        self.app.call_from_thread(self.dismiss, plan.name)
