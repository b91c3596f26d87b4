"""`?` / `f1`: every key in force (after the user's keymap) and what each pane shows."""

from __future__ import annotations

from collections.abc import Mapping

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from togul_monitor.config.keymap import PUNCTUATION_CHARACTERS
from togul_monitor.ui.keymap import DEFAULT_KEYS

PANES = (
    (
        "status bar",
        "profile / environment, connection (retry countdown), events/s, heartbeat age, "
        "lag, and the filtered / trimmed / malformed / duplicate / dropped counts; a third "
        "line when there is more to say: not recording (and why), journal problems, values "
        "not evaluated",
    ),
    (
        "feed",
        "every change as it arrives: time, type, flag, environment, version, and what it did "
        "to your value (before → after, unchanged, evaluating…) and, with a token profile, to "
        "the flag's configuration (rollout 25→50% · rule 2); what is cut ends with …, and "
        "the selected row is shown whole under it; outages and malformed data inline; ↑↓ "
        "move, end follows the latest; on start, the events recorded in earlier runs come "
        "first, dimmed, above the row where this run begins",
    ),
    (
        "values",
        "what this profile's context gets for each flag: ★ watched, ⟳ re-evaluating, "
        "struck through when deleted; a changed row is highlighted for a moment; when the "
        "profile cannot evaluate (no API key, or one of scope stream), the pane says why and "
        "how to fix it",
    ),
    (
        "history",
        "the selected flag's events and value transitions, from the journal, and under an "
        "event what it changed in the configuration (tab to it, then y copies an entry)",
    ),
    (
        "coverage",
        "(o, over the selected flag) synthetic users of each context evaluated, at most 50 a "
        "second: each value's share, and each percentage rule's configured % against the "
        "share observed among the samples that reached it (with a token profile); esc stops",
    ),
)


def key_label(keys: str) -> str:
    """The keys as a person types them: `g,colon` → `g :`, `ctrl+slash` → `ctrl+/`."""
    return " ".join(_typed(key) for key in keys.split(","))


def _typed(key: str) -> str:
    *modifiers, name = key.split("+")
    return "+".join((*modifiers, PUNCTUATION_CHARACTERS.get(name, name)))


def help_rows(keymap: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(keys in force, what they do, binding id) for every binding of the app."""
    return [
        (key_label(keymap.get(binding_id, keys)), tip, binding_id)
        for binding_id, (keys, _action, _label, _show, tip) in DEFAULT_KEYS.items()
    ]


def help_table(rows: list[tuple[str, str, str]]) -> Table:
    table = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    table.add_column(style="dim")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))  # a key named `[` is no markup either
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close", id="help_close")]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 110; height: 90%; border: thick $accent; background: $surface;
        padding: 0 1;
    }
    """

    def __init__(self, keymap: Mapping[str, str]) -> None:
        super().__init__()
        self.keymap = keymap
        self.rows = help_rows(keymap)

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "help"
            # Text: as a str, `[keymap]` is read as a markup tag and vanishes.
            scroll.border_subtitle = Text("esc close · ids remap keys in profiles.toml [keymap]")
            yield Static(Text("Keys", style="bold underline"))
            yield Static(help_table(self.rows))
            panes = Text("\nPanes\n", style="bold underline")
            for name, what in PANES:
                panes.append(f"{name:<11}", style="bold")
                panes.append(what + "\n", style="")
            yield Static(panes)
