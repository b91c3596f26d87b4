"""`i`: the flag inventory. Every flag of the environment: key, type, on/off, default, rules (how
many, and in one line), the profile's value, and the last change (its age and what it was).

`s` cycles the sort (key, last change, type; the header says which); `enter` selects the flag
in the main screen (as `g` does) and closes; `esc` closes. The list is live: a few times a
second it is built again (`view/inventory.py`) when anything it shows may have changed (the
connection too: while it is silent or not live the header says the values may be stale, as the
values pane's title does), and at least
once a second for the ages, keeping the cursor on its flag.

Every cell is plain `Text` of escaped server text, never markup.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from togul_monitor.ui.screens.modal_keys import close_and_help, modal_footer
from togul_monitor.ui.view.change import cut_cells
from togul_monitor.ui.view.config_stop import OLD_MARK
from togul_monitor.ui.view.format import fmt_age
from togul_monitor.ui.view.inventory import SORTS, InventoryRow, InventorySource
from togul_monitor.ui.view.value_columns import WAITING, WAITING_STYLE, marked_value

REFRESH_EVERY = 0.25  # seconds between two looks at whether something changed
AGES_EVERY = 4  # looks between two rebuilds when nothing changed (ages move)
LARGE = 1_000  # flags beyond which the list is rebuilt only once a second
FLEX_MIN = 12  # the least a column of long text (rules, the last change) gets

#: (label, width) of each column, the least it gets. What does not fit is cut with `…`.
COLUMNS: tuple[tuple[str, int], ...] = (
    ("flag", 22),
    ("type", 7),
    ("on", 3),
    ("default", 10),
    ("rules", 5),
    ("rule summary", FLEX_MIN),
    ("your value", 10),
    ("age", 4),
    ("last change", FLEX_MIN),
)
#: The columns that share the room a wide screen leaves (equally, the odd cells to the last):
#: their text is the longest, and a value (JSON, a string) read whole matters most of all.
GROWS = ("rule summary", "your value", "last change")
# Too narrow for all (80 columns): these go first, so that the value and its last change stay
# on screen; then the flag column gives way, down to FLAG_MIN.
DROPPED_FIRST = ("rule summary", "type", "rules")
FLAG_MIN = 16
PADDING = 2  # cells around each column (DataTable's cell padding)
SUBTITLE = "s sort · enter select · esc close"


def _needs(columns: list[tuple[str, int]]) -> int:
    return sum(width for _, width in columns) + PADDING * len(columns) + 2


def shown_columns(total: int) -> list[tuple[str, int]]:
    """(label, width) of each column shown in a table `total` cells wide (its scroll bar
    included): every column when they fit, else without the ones `DROPPED_FIRST`; what is left
    over widens the ones that `GROWS`."""
    columns = list(COLUMNS)
    for label in DROPPED_FIRST:
        if _needs(columns) <= total:
            break
        columns = [column for column in columns if column[0] != label]
    short = _needs(columns) - total
    if short > 0:
        columns[0] = ("flag", max(FLAG_MIN, columns[0][1] - short))
    growing = [i for i, (label, _) in enumerate(columns) if label in GROWS]
    room = max(0, total - _needs(columns))
    widths = [
        width + room // len(growing) if i in growing else width
        for i, (_, width) in enumerate(columns)
    ]
    widths[growing[-1]] += room % len(growing)  # the odd cells
    return [(label, width) for (label, _), width in zip(columns, widths, strict=True)]


#: The configuration's columns while it is no longer followed (the token refused): the last read,
#: told apart from current ones (the header says how long ago it was read).
STALE_STYLE = "italic yellow"
#: Those of a flag changed since its configuration was read: they predate that change, so its
#: default and rule summary also begin with `OLD_MARK` (never cut: the text is cut after it).
OLD_STYLE = "italic red"


def _config_cell(text: str, style: str, room: int, old: bool) -> Text:
    mark = f"{OLD_MARK} " if old else ""
    return Text(mark + cut_cells(text, max(1, room - cell_len(mark))), style=style)


def row_cells(
    row: InventoryRow, now: float, columns: list[tuple[str, int]], stale: bool = False
) -> list[Text]:
    enabled = "" if row.enabled is None else ("on" if row.enabled else "off")
    age = fmt_age(now - row.changed_at) if row.changed_at is not None else ""
    old = stale and row.old_config
    config_style = OLD_STYLE if old else STALE_STYLE if stale else None
    texts = {
        "flag": (row.label, "bold"),
        "type": (row.value_type, "dim"),
        "on": (enabled, config_style or ("green" if row.enabled else "red")),
        "default": (row.default, config_style or ""),
        "rules": ("" if row.rules is None else str(row.rules), config_style or ""),
        "rule summary": (row.rules_line, config_style or "dim"),
        "age": (age, "dim"),
        "last change": (row.change, "cyan"),
    }
    cells = []
    for label, width in columns:
        if label == "your value":  # cut as the values pane cuts it: a stale one keeps its mark
            style = WAITING_STYLE if row.value == WAITING else "bold"
            cell = marked_value(row.value, width, row.stale, style)
        elif label in ("default", "rule summary"):
            cell = _config_cell(*texts[label], width, old)
        else:
            cell = Text(cut_cells(texts[label][0], width), style=texts[label][1])
        cell.no_wrap = True
        cells.append(cell)
    return cells


class InventoryScreen(ModalScreen[str | None]):
    BINDINGS = [
        *close_and_help("inventory_close"),
        Binding(
            "s",
            "cycle_sort",
            "Sort",
            tooltip="Sort by key, last change or type",
            id="inventory_sort",
        ),
    ]
    HELP_TITLE = "flag inventory (i)"
    OTHER_KEYS = (
        ("up,down", "Move among the flags"),
        ("enter", "Select the flag in the main screen (values, history, feed) and close"),
    )

    DEFAULT_CSS = """
    InventoryScreen { align: center middle; }
    InventoryScreen > Vertical {
        width: 98%; height: 90%; border: thick $accent; background: $surface; padding: 0 1;
    }
    InventoryScreen #inventory-state { height: 1; color: $text-muted; }
    InventoryScreen DataTable { height: 1fr; }
    """

    def __init__(self, source: InventorySource, sort: str = SORTS[0]) -> None:
        super().__init__()
        self.source = source
        self.sort = sort
        self.keys: list[str] = []  # the flag of each row, in the table's order
        self._stamp: tuple[object, ...] | None = None
        self._looks = 0
        self.columns: list[tuple[str, int]] = []

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "flag inventory"
            box.border_subtitle = SUBTITLE
            yield Static("", id="inventory-state")
            yield DataTable(id="inventory-table", cursor_type="row", zebra_stripes=True)
        yield modal_footer()

    def on_mount(self) -> None:
        self._lay_out()
        self.table.focus()
        self.set_interval(REFRESH_EVERY, self._look, name="inventory")

    def table_width(self) -> int:
        """The table's cells: the box is 98% of the screen, less its border and padding."""
        return self.app.size.width * 98 // 100 - 4

    def on_resize(self) -> None:
        if self.is_mounted and shown_columns(self.table_width()) != self.columns:
            self._lay_out()

    def _lay_out(self) -> None:
        """The columns for the screen's width (a narrow one leaves some out), then the rows."""
        self.columns = shown_columns(self.table_width())
        table = self.table
        table.clear(columns=True)
        for label, width in self.columns:
            table.add_column(label, width=width, key=label)
        left_out = len(self.columns) < len(COLUMNS)
        box = self.query_one(Vertical)
        subtitle = f"{SUBTITLE} · widen for the rules" if left_out else SUBTITLE
        box.border_subtitle = Text(subtitle)
        self.rebuild()

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#inventory-table", DataTable)

    def _look(self) -> None:
        self._looks += 1
        if self._looks % AGES_EVERY == 0:
            self.rebuild()  # ages move (and a large list is built once a second at most)
        elif len(self.keys) <= LARGE and self.source.stamp() != self._stamp:
            self.rebuild()

    def rebuild(self) -> None:
        """Read the inventory again and show it, the cursor kept on its flag."""
        self._stamp = self.source.stamp()
        inventory = self.source.read(self.sort)
        header = Text()  # "sort" bold, not the notes and the state after it
        header.append(f"sort: {self.sort} · ", style="bold")
        for note in (inventory.stale, inventory.stale_configs):  # first: cut at the edge
            if note:
                header.append(note, style="bold yellow")
                header.append(" · ", style="")
        header.append(inventory.state, style="")
        self.query_one("#inventory-state", Static).update(header)
        table = self.table
        current = self.selected_flag
        now = self.source.clock()
        table.clear()
        self.keys = [row.key for row in inventory.rows]
        for row in inventory.rows:
            table.add_row(*row_cells(row, now, self.columns, bool(inventory.stale_configs)))
        if current in self.keys:
            table.move_cursor(row=self.keys.index(current), animate=False)

    @property
    def selected_flag(self) -> str | None:
        row = self.table.cursor_row
        return self.keys[row] if 0 <= row < len(self.keys) else None

    def action_cycle_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self.rebuild()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if 0 <= event.cursor_row < len(self.keys):
            self.dismiss(self.keys[event.cursor_row])
