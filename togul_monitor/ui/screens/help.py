"""`?` / `f1`: every key in force (after the user's keymap) and what each pane shows; over a
screen opened over the main one (`modal_keys.py`), that screen's keys, the only ones it answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from togul_monitor.config.keymap import PUNCTUATION_CHARACTERS
from togul_monitor.ui.keymap import DEFAULT_KEYS
from togul_monitor.ui.view.value_columns import WAITING

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
        "move, end (from any pane) follows the latest; on start, the events recorded in "
        "earlier runs come first, dimmed, above the row where this run begins",
    ),
    (
        "values",
        "what this profile's context gets for each flag (a column per context): ★ watched, "
        f"{WAITING} not answered yet, ⟳ stale (asked again, or once the stream is back), "
        "… cut, struck through when deleted; "
        "a changed row is highlighted for a moment; enter shows the row's flag with each "
        "context's value whole, its type, reason and enabled, when it was answered (for "
        "which event), whether it is current or stale, the last error and the value before "
        "(e there: the detail of its latest event in the feed); when the profile cannot "
        "evaluate (no API key, or one of scope stream), the pane says why and how to fix it",
    ),
    (
        "history",
        "the selected flag's events and value transitions, from the journal, and under an "
        "event what it changed in the configuration; while the feed follows, the flag of its "
        "newest row (tab to it: y copies an entry, enter opens its event's detail)",
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
    name = "esc" if name == "escape" else PUNCTUATION_CHARACTERS.get(name, name)
    return "+".join((*modifiers, name))


def help_rows(keymap: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(keys in force, what they do, binding id) for every binding of the app."""
    return [
        (key_label(keymap.get(binding_id, keys)), tip, binding_id)
        for binding_id, (keys, _action, _label, _show, tip) in DEFAULT_KEYS.items()
    ]


def screen_help_rows(screen: Screen[Any], keymap: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(keys in force, what they do, binding id) for a screen opened over the main one: the keys
    its widgets answer (`OTHER_KEYS`), then its bindings, but those it neither runs nor offers
    now (`check_action` False: the environments without a token). Only the main screen's ids
    can be remapped (`help` is one), so only those are named."""
    rows = [(key_label(keys), what, "") for keys, what in getattr(screen, "OTHER_KEYS", ())]
    for binding in screen.BINDINGS:
        if isinstance(binding, Binding) and screen.check_action(binding.action, ()) is not False:
            keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
            remaps = binding.id if binding.id and binding.id in DEFAULT_KEYS else ""
            rows.append((key_label(keys), binding.tooltip or binding.description, remaps))
    return rows


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

    def __init__(self, keymap: Mapping[str, str], over: Screen[Any] | None = None) -> None:
        """`over`: the screen opened over the main one that the help is opened over (None: the
        main screen), whose keys alone are listed; the main screen's do nothing there."""
        super().__init__()
        self.keymap = keymap
        self.over = getattr(over, "HELP_TITLE", "this screen") if over is not None else None
        self.rows = help_rows(keymap) if over is None else screen_help_rows(over, keymap)

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = Text("help" if self.over is None else f"help · {self.over}")
            # Text: as a str, `[keymap]` is read as a markup tag and vanishes.
            scroll.border_subtitle = Text("esc close · ids remap keys in profiles.toml [keymap]")
            if self.over is not None:
                yield Static(Text(f"Keys of the {self.over}", style="bold underline"))
                yield Static(help_table(self.rows))
                yield Static(Text("\nThe main screen's keys work once this one is closed."))
                return
            yield Static(Text("Keys", style="bold underline"))
            yield Static(help_table(self.rows))
            panes = Text.assemble(("\nPanes\n", "bold underline"))  # the title's style alone
            for name, what in PANES:
                panes.append(f"{name:<11}", style="bold")
                panes.append(what + "\n", style="")
            yield Static(panes)
