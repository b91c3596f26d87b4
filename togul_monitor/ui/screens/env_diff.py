"""The environment matrix's `enter`: one flag's configuration in environments A and B side by
side (its fields, then its rules aligned as `compare` aligns them), the lines that differ
highlighted, and the differences in words under them. Plain Text throughout: every string is
escaped already (domain/env_compare_words.py).

It shows what the matrix read, and follows the matrix's reads while it is open (looked at
`LOOK_EVERY`): a configuration changed since is shown as soon as the matrix has read it, and the
top line says how old the read is, whether one is running or failed, and that `r` reads again
now, so a value never looks more current than it is.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from togul_monitor.domain.env_compare import compare_flag
from togul_monitor.domain.env_compare_words import difference_line, flag_summary, side_by_side
from togul_monitor.domain.flag_config import FlagConfig
from togul_monitor.ui.screens.modal_keys import close_and_help, modal_footer
from togul_monitor.ui.view.change import cut_cells
from togul_monitor.ui.view.format import fmt_age, plain

DIFFERS_STYLE = "bold black on yellow"
LOOK_EVERY = 0.5  # seconds between two looks at the matrix's read (tests shorten it)
LABEL_WIDTH = 15  # `≠ description` whole


class DiffRead(msgspec.Struct, frozen=True):
    """The flag in A and B as the matrix last read them, and how that read stands."""

    a: FlagConfig | None
    b: FlagConfig | None
    read_at: float  # when the matrix read them, on the clock the screen is given
    refreshing: bool = False
    error: str | None = None  # the last read failed: what is shown is older (already safe)


def read_state(read: DiffRead, now: float) -> str:
    """`read 12s ago · follows each new read · r reads again now`."""
    parts = [f"read {fmt_age(max(0.0, now - read.read_at))} ago"]
    if read.refreshing:
        parts.append("refreshing…")
    if read.error:
        parts.append(f"last refresh failed: {read.error}")
    parts += ["follows each new read", "r reads again now"]
    return " · ".join(parts)


def differences_text(
    key: str, env_a: str, env_b: str, a: FlagConfig | None, b: FlagConfig | None
) -> Text:
    flag = compare_flag(key, a, b)
    text = Text(flag_summary(flag, env_a, env_b) + "\n", style="bold")
    for difference in flag.differences:
        text.append("  " + difference_line(difference, env_a, env_b) + "\n", style="cyan")
    return text


class EnvDiffScreen(ModalScreen[None]):
    BINDINGS = [
        *close_and_help("env_diff_close"),
        Binding("r", "refresh", "Refresh", id="env_diff_refresh", tooltip="Read both again"),
    ]
    HELP_TITLE = "flag side by side (enter in c)"

    DEFAULT_CSS = """
    EnvDiffScreen { align: center middle; }
    EnvDiffScreen > Vertical {
        width: 90%; height: 80%; border: thick $accent; background: $surface; padding: 0 1;
    }
    EnvDiffScreen #env-diff-state { height: auto; max-height: 2; color: $text-muted; }
    EnvDiffScreen DataTable { height: 1fr; }
    EnvDiffScreen #env-diff-words { height: auto; max-height: 10; }
    """

    def __init__(
        self,
        key: str,
        env_a: str,
        env_b: str,
        source: Callable[[], DiffRead],
        clock: Callable[[], float],
        refresh: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__()
        self.key, self.env_a, self.env_b = key, env_a, env_b
        self.source, self.clock, self._refresh = source, clock, refresh
        self.read = source()
        self.lines = side_by_side(self.read.a, self.read.b)

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = plain(f"{self.key}: {self.env_a} ↔ {self.env_b}")
            box.border_subtitle = "r refresh · esc close"
            yield Static("", id="env-diff-state")
            yield DataTable(id="env-diff-table", cursor_type="row", zebra_stripes=False)
            yield Static("", id="env-diff-words")
        yield modal_footer()

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#env-diff-table", DataTable)

    def on_mount(self) -> None:
        table = self.table
        width = self._side_width()
        table.add_column("", width=LABEL_WIDTH)
        table.add_column(plain(self.env_a), width=width)
        table.add_column(plain(self.env_b), width=width)
        self._paint()
        table.focus()
        self.set_interval(LOOK_EVERY, self._look, name="env-diff")

    def _side_width(self) -> int:
        return max(20, (self.app.size.width * 90 // 100 - LABEL_WIDTH - 8) // 2 - 4)

    def _look(self) -> None:
        read = self.source()
        changed = (read.a, read.b) != (self.read.a, self.read.b)
        self.read = read
        if changed:
            self.lines = side_by_side(read.a, read.b)
            self._paint()
        else:
            self._paint_state()  # the age moves

    def _paint(self) -> None:
        table, width = self.table, self._side_width()
        row = table.cursor_row
        table.clear()
        for label, left, right, differs in self.lines:
            style = DIFFERS_STYLE if differs else ""
            mark = "≠ " if differs else "  "
            # Cut with … (the table would cut silently); the words below say each difference
            # whole.
            table.add_row(
                Text(cut_cells(mark + label, LABEL_WIDTH), style="bold"),
                Text(cut_cells(left, width), style=style),
                Text(cut_cells(right, width), style=style),
            )
        if 0 <= row < table.row_count:
            table.move_cursor(row=row, animate=False)
        words = differences_text(self.key, self.env_a, self.env_b, self.read.a, self.read.b)
        self.query_one("#env-diff-words", Static).update(words)
        self._paint_state()

    def _paint_state(self) -> None:
        line = Text(read_state(self.read, self.clock()))
        if self.read.error:
            line.stylize("yellow")
        self.query_one("#env-diff-state", Static).update(line)

    def action_refresh(self) -> None:
        self._refresh()
        self._look()
