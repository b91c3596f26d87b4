"""The cached values table: one row per flag, keyed by flag key, updated as a diff.

Rows are never cleared and refilled: a ValueUpdated touches only the cells that changed
(`update_cell`), a new flag adds one row, and the age column of the rows in view is refreshed
once a second. A row whose value just changed is highlighted for a moment; stale and deleted
rows are marked.

The columns are shared by what they need, as the feed's are (`column_widths`): the flag key gets
a minimum (half the pane, within bounds), then the value what it needs, then the key the rest of what it needs, then the reason
and the type when there is room; what is left widens the flag column. A cut value ends with `…`
(`enter` shows it whole). The widths are laid out again when the pane is resized or a value
needs more than its column has and the pane has room for it.

When the profile cannot evaluate (`set_evaluates`), a value that will never come says "not
evaluated" instead of waiting (`…`, `⟳`) forever; the pane's top line says why (main_paint.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from rich.cells import cell_len
from rich.text import Text
from textual.timer import Timer
from textual.widgets import DataTable

from togul_monitor.domain.values import FlagValue
from togul_monitor.support.text import safe_text
from togul_monitor.ui.view.change import cut_cells, value_text
from togul_monitor.ui.view.format import fmt_age

FLASH_SECONDS = 2.0
SORT_AT_ONCE_UP_TO = 300  # rows: a table this small is sorted as each flag is added
SORT_EVERY = 0.5  # seconds: how often a larger one is sorted while flags arrive

#: (key, label); every cell is cut one short of its column, which leaves one column of gap.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("flag", "flag"),
    ("value", "value"),
    ("type", "type"),
    ("reason", "reason"),
    ("enabled", "on"),
    ("age", "age"),
)
FIXED = {"enabled": 4, "age": 4}
OPTIONAL = (("reason", 9), ("type", 5))  # added in this order when there is room
# The flag column's minimum: half the pane, between `★ ` and 12 characters of the key and `★ `
# and 20 (most keys whole); the value gets what it needs of the rest.
FLAG_MIN, FLAG_MAX_MIN = 14, 22
VALUE_MIN = 6
STALE_MARK = " ⟳"
NOT_EVALUATED = "not evaluated"
SHORT_TYPES = {"boolean": "bool", "string": "str", "number": "num", "json": "json"}
# Cells are narrow; the event detail screen shows the reason in full.
SHORT_REASONS = {"rule_match": "rule"}


def column_widths(inner: int, flag_need: int, value_need: int) -> dict[str, int]:
    """Each shown column's width (gap included) in `inner` cells, for the widest flag cell and
    value cell (`flag_need`, `value_need`, without the gap)."""
    flag_need, value_need = flag_need + 1, value_need + 1
    room = inner - sum(FIXED.values())
    flag = min(flag_need, 1 + max(FLAG_MIN, min(FLAG_MAX_MIN, inner // 2)))
    room -= flag
    value = max(min(VALUE_MIN + 1, value_need), min(value_need, room))
    room -= value
    grow = max(0, min(room, flag_need - flag))
    flag, room = flag + grow, room - grow
    widths = {"flag": flag, "value": value}
    for key, width in OPTIONAL:
        if room >= width:
            widths[key], room = width, room - width
    widths["flag"] += max(0, room)  # the table fills the pane
    widths.update(FIXED)
    return {key: widths[key] for key, _ in COLUMNS if key in widths}


class ValuesTable(DataTable[Text]):
    """Flag → value for the profile's context."""

    def __init__(self, clock: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False, cell_padding=0)
        self.clock = clock
        self.values: dict[str, FlagValue] = {}
        self.watched: set[str] = set()
        self.evaluates = True  # False: values never come (no API key), say so in the cells
        self._flash_until: dict[str, float] = {}
        self._rendered: dict[str, tuple[Text, ...]] = {}
        self.widths: dict[str, int] = column_widths(40, 0, 0)
        self._needs = (0, 0)  # the widest flag cell and value cell so far
        self._sort_timer: Timer | None = None

    def on_mount(self) -> None:
        self._layout_columns()

    @property
    def inner_width(self) -> int:
        """The pane's width less a column for the scrollbar, whether it shows or not (so the
        widths do not depend on when it appeared)."""
        return self.size.width - 1

    def on_resize(self) -> None:
        self._needs = self._measure(self.values, (0, 0))  # afresh: what the rows need now
        self._relayout()

    def _relayout(self) -> bool:
        """Lay the columns out again if the needs or the width call for other widths."""
        widths = column_widths(self.inner_width, *self._needs)
        if widths == self.widths:
            return False
        self.widths = widths
        self._layout_columns()
        return True

    def _measure(self, keys: Iterable[str], needs: tuple[int, int]) -> tuple[int, int]:
        """`needs` widened to what the rows of `keys` need (flag cell, value cell)."""
        flag_need, value_need = needs
        for key in keys:
            value = self.values[key]
            flag_need = max(flag_need, 2 + cell_len(safe_text(key)))
            value_need = max(value_need, cell_len(self._value_plain(value)))
        return flag_need, value_need

    @property
    def columns_shown(self) -> list[tuple[str, str, int]]:
        return [(key, label, self.widths[key]) for key, label in COLUMNS if key in self.widths]

    def _layout_columns(self) -> None:
        """(Re)build the columns for the pane's width and put every row back (rare: resizes)."""
        cursor = self.cursor_row
        self.clear(columns=True)
        self._rendered.clear()
        for key, label, width in self.columns_shown:
            self.add_column(label, key=key, width=width)
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

    def set_evaluates(self, evaluates: bool) -> None:
        if evaluates != self.evaluates:
            self.evaluates = evaluates
            self._needs = self._measure(self.values, (0, 0))
            if not self._relayout():
                self.tick()

    def apply(self, values: list[FlagValue], *, flash: set[str] | None = None) -> None:
        """A batch of ValueUpdated: a keyed diff, sorted again only when a flag was added."""
        now = self.clock()
        added = False
        for value in values:
            self.values[value.flag_key] = value
            if flash and value.flag_key in flash:
                self._flash_until[value.flag_key] = now + FLASH_SECONDS
        needs = self._measure([value.flag_key for value in values], self._needs)
        if needs != self._needs:
            self._needs = needs
            if self._relayout():  # every row is put back with the new widths
                return
        for value in values:
            added |= self._upsert(value.flag_key, now)
        if added:
            # Sorting costs the whole table: a large one (an environment's thousands of flags
            # arriving in many batches) is sorted at most every SORT_EVERY seconds.
            if self.row_count <= SORT_AT_ONCE_UP_TO:
                self._sort()
            elif self._sort_timer is None:
                self._sort_timer = self.set_timer(SORT_EVERY, self._sort)

    def _sort(self) -> None:
        self._sort_timer = None
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
        """Once a second: ages move and highlights expire, on the rows in view (an environment
        of thousands of flags must not cost thousands of cells a second; a row scrolled into
        view catches up at the next tick)."""
        now = self.clock()
        top = max(0, int(self.scroll_y))
        for row in self.ordered_rows[top : top + self.size.height + 1]:
            key = row.key.value
            if key is not None and key in self.values:
                self._upsert(key, now)
        for key, until in list(self._flash_until.items()):
            if until <= now:
                del self._flash_until[key]

    def reset(self) -> None:
        self.values.clear()
        self._rendered.clear()
        self._flash_until.clear()
        self._needs = (0, 0)
        self.clear()

    def _value_plain(self, value: FlagValue) -> str:
        """What the value cell needs: its text whole. Not the passing states (`⟳`, `…`): the
        widths follow the values, not the moment they were measured at."""
        if value.deleted:
            return "deleted"
        current = value.current
        if value.error and current is None:
            return safe_text(value.error)
        if current is None:
            return NOT_EVALUATED if not self.evaluates else "…"
        return value_text(current)

    def _cells(self, key: str, now: float) -> tuple[Text, ...]:
        value = self.values[key]
        flashing = self._flash_until.get(key, 0.0) > now
        row_style = "reverse" if flashing else ""
        flag = Text("★ " if key in self.watched else "  ", style="yellow")
        flag.append(safe_text(key), style=row_style)
        flag.truncate(self.widths["flag"] - 1, overflow="ellipsis")
        if value.deleted:
            flag.stylize("strike dim")
        current = value.current
        room = self.widths["value"] - 1
        stale = value.stale and not value.deleted and self.evaluates and current is not None
        if value.deleted:
            shown = Text("deleted", style="red")
        elif value.error and current is None:
            shown = Text(cut_cells(safe_text(value.error), room), style="red")
        elif current is None and not self.evaluates:
            shown = Text(cut_cells(NOT_EVALUATED, room), style="dim")
        elif current is None:
            shown = Text("…", style="dim")
            if value.stale:
                shown.append(STALE_MARK, style="yellow")
        else:
            body = cut_cells(value_text(current), room - (len(STALE_MARK) if stale else 0))
            shown = Text(body, style="bold" if flashing else "")
        if stale:
            shown.append(STALE_MARK, style="yellow")
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
            # Text's == ignores the base style (`bold` while flashing): compare it too.
            if old != new or old.style != new.style:
                self.update_cell(key, column, new)
        self._rendered[key] = cells
        return False
