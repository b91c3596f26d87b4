"""The `/` filter bar, docked at the bottom and hidden until asked for (toolong's find bar).

The text is parsed with the shared filter language once typing pauses (APPLY_AFTER seconds
without a key) or on enter, not on every key: typed key by key, `env:staging` would otherwise
filter on the word `env` on the way. A valid filter is then applied (`FilterBar.Applied`); an
invalid one shows its error in place, with a caret under the bad term, and the filter in force
stays in force until the text is valid again. The error is laid out again as the Input scrolls
and the bar is resized (`view/filter_error.py`): the message always shows, the caret only where
the term is on screen.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.expand_tabs import expand_tabs_inline
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Static

from togul_monitor.domain.filters import Filter, FilterError, parse_filter
from togul_monitor.support.text import safe_text
from togul_monitor.ui.view.filter_error import filter_error_text
from togul_monitor.ui.widgets.ordered_input import OrderedInput

INPUT_PADDING = 1  # the Input's left padding (see DEFAULT_CSS): the caret lines up with the text
APPLY_AFTER = 0.3  # seconds without a key before the text is parsed and applied


TAB_SIZE = 4  # the Input draws a tab as this many cells at most (Textual's default)


def error_text(text: str, error: FilterError, scroll: int = 0, width: int = 0) -> Text:
    """The message, and `^` under the term at fault when it is on screen (the Input shows the
    text itself, `scroll` cells scrolled, in a bar `width` cells wide; 0: not cut)."""
    position = max(0, min(error.position, len(text)))
    # The term's column as the Input draws it: in cells (a wide character takes two).
    column = INPUT_PADDING + cell_len(expand_tabs_inline(text[:position], TAB_SIZE)) - scroll
    message = safe_text(error.message)
    if not width:
        width = column + 2 + cell_len(message)
    shown = INPUT_PADDING <= column < width - INPUT_PADDING
    return filter_error_text(
        message, position, column if shown else None, width, indent=INPUT_PADDING
    )


class FilterBar(Vertical):
    """Input + one line for the error or the help."""

    BINDINGS = [Binding("escape", "close", "Close filter", id="filter_close")]

    DEFAULT_CSS = """
    FilterBar { height: auto; display: none; background: $panel; }
    FilterBar > Input, FilterBar > Input:focus { border: none; height: 1; padding: 0 1; }
    FilterBar #filter-message { height: auto; max-height: 3; color: $text-muted; }
    FilterBar.-error #filter-message { color: $error; }
    """

    class Applied(Message):
        """A valid filter is now in force (`Filter("")` matches everything)."""

        def __init__(self, flt: Filter) -> None:
            super().__init__()
            self.filter = flt

    class Closed(Message):
        """The bar was closed; focus goes back to the feed."""

    # Fits an 80-column terminal, "esc close" included.
    HELP = "type:flag.updated flag:checkout-* env:production word /regex/ !term · esc close"

    apply_after = APPLY_AFTER
    _timer: Timer | None = None
    _error: tuple[str, FilterError] | None = None  # the text shown invalid, and why

    def compose(self) -> ComposeResult:
        # select_on_focus=False: the Focus event arrives after keys already typed, and selecting
        # then would make the next key replace them.
        yield OrderedInput(  # backspace, ctrl+u, enter act in order in a burst
            placeholder="type:rule.* flag:checkout-* !beta",
            id="filter-input",
            select_on_focus=False,
        )
        yield Static(Text(self.HELP), id="filter-message")

    @property
    def input(self) -> Input:
        return self.query_one("#filter-input", Input)

    def on_mount(self) -> None:
        # Home, a click, a long line typed: the caret follows the text, or gives way.
        self.watch(self.input, "scroll_x", self._show_error, init=False)

    def on_resize(self) -> None:
        self._show_error()

    def _show_error(self) -> None:
        if self._error is None or not self.is_attached:
            return
        text, error = self._error
        message = self.query_one("#filter-message", Static)
        width = self.size.width or self.app.size.width
        message.update(error_text(text, error, round(self.input.scroll_x), width))

    def open(self) -> None:
        self.add_class("-open")
        # An inline style applies at once (a class only on the next style pass): the Input must
        # be displayed to take focus. Focus now, not on the next message: with `/` a priority
        # binding (see `MainKeys.filter_key`), keys typed right after it (a paste, a
        # fast typist) are read after this and go to the Input, not to the screen's bindings.
        self.display = True
        self.screen.set_focus(self.input)

    def action_close(self) -> None:
        if self._timer is not None:  # typed just before esc: applied as before, if valid
            self._validate(self.input.value)
        self.remove_class("-open")
        self.display = False
        # Drop focus now, not when the message is handled: a key pressed right after enter must
        # reach the screen's bindings, not the hidden Input.
        self.screen.set_focus(None)
        self.post_message(self.Closed())

    @on(Input.Changed, "#filter-input")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self._cancel_timer()
        self._timer = self.set_timer(self.apply_after, self._paused, name="filter-apply")

    def _paused(self) -> None:
        self._timer = None
        if self.is_attached:
            self._validate(self.input.value)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    @on(Input.Submitted, "#filter-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._validate(event.value):
            self.action_close()

    def _validate(self, text: str) -> bool:
        """Parse `text` now: apply it when valid, show the error when not."""
        self._cancel_timer()
        message = self.query_one("#filter-message", Static)
        try:
            flt = parse_filter(text)
        except FilterError as error:
            self.add_class("-error")
            self._error = (text, error)
            self._show_error()
            return False
        self._error = None
        self.remove_class("-error")
        message.update(Text(self.HELP))
        self.post_message(self.Applied(flt))
        return True
