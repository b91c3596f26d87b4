"""The environment matrix's `enter`: one flag's configuration in environments A and B side by
side (its fields, then its rules aligned as `compare` aligns them), the lines that differ
highlighted, and the differences in words under them. Plain Text throughout: every string is
escaped already (domain/env_compare_words.py)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from togul_monitor.domain.env_compare import compare_flag
from togul_monitor.domain.env_compare_words import difference_line, flag_summary, side_by_side
from togul_monitor.domain.flag_config import FlagConfig
from togul_monitor.ui.screens.modal_keys import close_and_help, modal_footer
from togul_monitor.ui.view.change import cut_cells
from togul_monitor.ui.view.format import plain

DIFFERS_STYLE = "bold black on yellow"


def differences_text(
    key: str, env_a: str, env_b: str, a: FlagConfig | None, b: FlagConfig | None
) -> Text:
    flag = compare_flag(key, a, b)
    text = Text(flag_summary(flag, env_a, env_b) + "\n", style="bold")
    for difference in flag.differences:
        text.append("  " + difference_line(difference, env_a, env_b) + "\n", style="cyan")
    return text


class EnvDiffScreen(ModalScreen[None]):
    BINDINGS = close_and_help("env_diff_close")

    DEFAULT_CSS = """
    EnvDiffScreen { align: center middle; }
    EnvDiffScreen > Vertical {
        width: 90%; height: 80%; border: thick $accent; background: $surface; padding: 0 1;
    }
    EnvDiffScreen DataTable { height: 1fr; }
    EnvDiffScreen #env-diff-words { height: auto; max-height: 10; }
    """

    def __init__(
        self, key: str, env_a: str, env_b: str, a: FlagConfig | None, b: FlagConfig | None
    ) -> None:
        super().__init__()
        self.key, self.env_a, self.env_b, self.a, self.b = key, env_a, env_b, a, b
        self.lines = side_by_side(a, b)

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = plain(f"{self.key}: {self.env_a} ↔ {self.env_b}")
            box.border_subtitle = "esc close"
            yield DataTable(id="env-diff-table", cursor_type="row", zebra_stripes=False)
            words = differences_text(self.key, self.env_a, self.env_b, self.a, self.b)
            yield Static(words, id="env-diff-words")
        yield modal_footer()

    def on_mount(self) -> None:
        table: DataTable[Text] = self.query_one("#env-diff-table", DataTable)
        width = max(20, (self.app.size.width * 90 // 100 - 20) // 2 - 4)
        table.add_column("", width=12)
        table.add_column(plain(self.env_a), width=width)
        table.add_column(plain(self.env_b), width=width)
        for label, left, right, differs in self.lines:
            style = DIFFERS_STYLE if differs else ""
            mark = "≠ " if differs else "  "
            # Cut with … (the table would cut silently); the words below say each difference
            # whole.
            table.add_row(
                Text(cut_cells(mark + label, 12), style="bold"),
                Text(cut_cells(left, width), style=style),
                Text(cut_cells(right, width), style=style),
            )
        table.focus()
