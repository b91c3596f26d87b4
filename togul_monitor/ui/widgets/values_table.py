"""The cached values table: one row per flag, keyed by flag key, updated as a diff.

Rows are never cleared and refilled: a ValueUpdated touches only the cells that changed
(`update_cell`), a new flag adds one row, and the age column is refreshed once a second. A row
whose value just changed is highlighted for a moment; stale and deleted rows are marked.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.widgets import DataTable

from togul_monitor.domain.values import FlagValue
from togul_monitor.support.text import safe_text
from togul_monitor.ui.view.format import fmt_age, fmt_evaluation

FLASH_SECONDS = 2.0

# (key, label, width); cell padding is 0 and every cell is cut one short of its width, which
# leaves one column of gap. The flag column takes what is left of the pane (`on_resize`).
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("flag", "flag", 0),
    ("value", "value", 10),
    ("type", "type", 5),
    ("reason", "reason", 9),
    ("enabled", "on", 4),
    ("age", "age", 4),
)
FIXED_WIDTH = sum(width for _, _, width in COLUMNS)
MIN_FLAG_WIDTH = 12
# The flag key comes first: narrower panes drop these columns, in this order, until the flag
# column is FLAG_WANTED wide (`★ checkout-button-color` whole) or nothing is left to drop. The
# value's form already hints at its type ("…" string, {…} json); `enter` shows both in full.
OPTIONAL_COLUMNS = ("type", "reason")
FLAG_WANTED = 24
WIDTHS = {key: width for key, _, width in COLUMNS}
SHORT_TYPES = {"boolean": "bool", "string": "str", "number": "num", "json": "json"}
# Cells are narrow; the event detail screen shows the reason in full.
SHORT_REASONS = {"rule_match": "rule"}


class ValuesTable(DataTable[Text]):
    """Flag → value for the profile's context."""

    def __init__(self, clock: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False, cell_padding=0)
        self.clock = clock
        self.values: dict[str, FlagValue] = {}
        self.watched: set[str] = set()
        self._flash_until: dict[str, float] = {}
        self._rendered: dict[str, tuple[Text, ...]] = {}
        self.flag_width = 24
        self.narrow = False  # some optional column is hidden
        self.hidden: frozenset[str] = frozenset()

    def on_mount(self) -> None:
        self._layout_columns()

    def on_resize(self) -> None:
        inner = self.scrollable_content_region.width - 1  # keep a column for the scrollbar
        hidden: set[str] = set()
        fixed = FIXED_WIDTH
        for key in OPTIONAL_COLUMNS:
            if inner - fixed >= FLAG_WANTED:
                break
            hidden.add(key)
            fixed -= WIDTHS[key]
        width = max(MIN_FLAG_WIDTH, inner - fixed)
        if width != self.flag_width or hidden != self.hidden:
            self.flag_width, self.hidden = width, frozenset(hidden)
            self.narrow = bool(hidden)
            self._layout_columns()

    @property
    def columns_shown(self) -> list[tuple[str, str, int]]:
        return [c for c in COLUMNS if c[0] not in self.hidden]

    def _layout_columns(self) -> None:
        """(Re)build the columns for the pane's width and put every row back (rare: resizes)."""
        cursor = self.cursor_row
        self.clear(columns=True)
        self._rendered.clear()
        for key, label, width in self.columns_shown:
            self.add_column(label, key=key, width=width or self.flag_width)
        now = self.clock()
        for key in sorted(self.values):
            self._upsert(key, now)
        if self.row_count:
            self.move_cursor(row=min(cursor, self.row_count - 1))

    @property
    def selected_flag(self) -> str | None:
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except Exception:  # cursor outside the table while it is being rebuilt
            return None
        return row_key.value

    def apply(self, values: list[FlagValue], *, flash: set[str] | None = None) -> None:
        """A batch of ValueUpdated: a keyed diff, sorted again only when a flag was added."""
        now = self.clock()
        added = False
        for value in values:
            self.values[value.flag_key] = value
            if flash and value.flag_key in flash:
                self._flash_until[value.flag_key] = now + FLASH_SECONDS
            added |= self._upsert(value.flag_key, now)
        if added:
            self.sort("flag", key=lambda cell: cell.plain[2:])

    def flash(self, flag_key: str) -> None:
        self._flash_until[flag_key] = self.clock() + FLASH_SECONDS
        if flag_key in self.values:
            self._upsert(flag_key, self.clock())

    def set_watched(self, watched: set[str]) -> None:
        changed = watched ^ self.watched
        self.watched = set(watched)
        now = self.clock()
        for key in changed:
            if key in self.values:
                self._upsert(key, now)

    def tick(self) -> None:
        """Once a second: ages move and highlights expire."""
        now = self.clock()
        for key in self.values:
            self._upsert(key, now)
        for key, until in list(self._flash_until.items()):
            if until <= now:
                del self._flash_until[key]

    def reset(self) -> None:
        self.values.clear()
        self._rendered.clear()
        self._flash_until.clear()
        self.clear()

    def _cells(self, key: str, now: float) -> tuple[Text, ...]:
        value = self.values[key]
        flashing = self._flash_until.get(key, 0.0) > now
        row_style = "reverse" if flashing else ""
        flag = Text("★ " if key in self.watched else "  ", style="yellow")
        flag.append(safe_text(key), style=row_style)
        flag.truncate(self.flag_width - 1, overflow="ellipsis")
        if value.deleted:
            flag.stylize("strike dim")
        current = value.current
        if value.deleted:
            shown = Text("deleted", style="red")
        elif value.error and current is None:
            shown = Text(safe_text(value.error), style="red")
        elif current is None:
            shown = Text("…", style="dim")
        else:
            shown = Text(fmt_evaluation(current, 8), style="bold" if flashing else "")
        if value.stale and not value.deleted:
            shown.append(" ⟳", style="yellow")
        type_name = (current.value_type or "?") if current else ""
        value_type = Text(safe_text(SHORT_TYPES.get(type_name, type_name)), style="dim")
        reason_name = (current.reason or "") if current else ""
        reason = Text(safe_text(SHORT_REASONS.get(reason_name, reason_name)), style="dim")
        reason.truncate(8, overflow="ellipsis")
        enabled = Text("")
        if current is not None and current.enabled is not None:
            enabled = Text("on", style="green") if current.enabled else Text("off", style="red")
        age = Text(fmt_age(now - value.evaluated_at) if value.evaluated_at else "-", style="dim")
        cells = {
            "flag": flag,
            "value": shown,
            "type": value_type,
            "reason": reason,
            "enabled": enabled,
            "age": age,
        }
        return tuple(cells[key] for key, _, _ in self.columns_shown)

    def _upsert(self, key: str, now: float) -> bool:
        cells = self._cells(key, now)
        before = self._rendered.get(key)
        if before is None:
            self.add_row(*cells, key=key)
            self._rendered[key] = cells
            return True
        for (column, _, _), old, new in zip(self.columns_shown, before, cells, strict=True):
            if old != new:
                self.update_cell(key, column, new)
        self._rendered[key] = cells
        return False
