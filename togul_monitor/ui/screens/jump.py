"""`g` / `:`: jump to a flag. Type to narrow every flag key known (fuzzy, best first); enter
picks the highlighted one and the main screen selects it in every pane (`main_keys.py`).

`g` / `:` open it before the focused widget sees the key (`MainKeys.jump_key`), so the keys typed
right after it (a paste, fast typing) are the box's; its editing keys and enter act in the order
typed (`OrderedInput`), and enter picks the best match of the text the box holds then.

The keys are server text: each option is plain `Text` of `safe_text(key)`, never markup.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from togul_monitor.support.text import safe_text
from togul_monitor.ui.screens.modal_keys import help_binding, modal_footer
from togul_monitor.ui.view.fuzzy import ranked
from togul_monitor.ui.widgets.ordered_input import OrderedInput

SHOWN = 200  # options listed at once; typing narrows the rest


class JumpScreen(ModalScreen[str | None]):
    BINDINGS = [
        Binding("escape", "dismiss", "Close", tooltip="Close, selecting nothing", id="jump_close"),
        help_binding(typing=True),
        Binding("down", "move(1)", "Down", show=False, tooltip="Next match", id="jump_down"),
        Binding("up", "move(-1)", "Up", show=False, tooltip="Previous match", id="jump_up"),
    ]
    HELP_TITLE = "jump to a flag (g)"
    OTHER_KEYS = (
        ("enter", "Select the highlighted flag in every pane and close"),
        ("backspace,ctrl+u", "Edit the text that narrows the flags (typed keys are text)"),
    )

    DEFAULT_CSS = """
    JumpScreen { align: center middle; }
    JumpScreen > Vertical {
        width: 70%; max-width: 80; height: auto; max-height: 80%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    JumpScreen OptionList { height: auto; max-height: 16; text-wrap: nowrap; }
    """

    def __init__(self, keys: Iterable[str]) -> None:
        super().__init__()
        self.keys = sorted(set(keys))
        self.shown: list[str] = []
        self.ranked_for = ""  # the text `shown` was ranked for

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "jump to a flag"
            box.border_subtitle = "type to filter · ↑↓ · enter select · esc close"
            # backspace, ctrl+u, enter act in order in a burst
            yield OrderedInput(placeholder=f"{len(self.keys)} flags", id="jump-input")
            yield OptionList(id="jump-list")
        yield modal_footer()

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        self._show("")

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self._show(event.value)

    def _show(self, query: str) -> None:
        self.ranked_for = query.strip()
        self.shown = ranked(self.ranked_for, self.keys, SHOWN)
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options(Option(Text(safe_text(key), no_wrap=True)) for key in self.shown)
        if self.shown:
            options.highlighted = 0

    def action_move(self, delta: int) -> None:
        options = self.query_one(OptionList)
        if self.shown:
            current = options.highlighted or 0
            options.highlighted = max(0, min(len(self.shown) - 1, current + delta))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() != self.ranked_for:  # the list is for older text: rank this one
            self._show(event.value)
        highlighted = self.query_one(OptionList).highlighted
        if self.shown and highlighted is not None:
            self.dismiss(self.shown[highlighted])

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.shown[event.option_index])
