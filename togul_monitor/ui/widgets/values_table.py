"""The cached values table: one row per flag, keyed by flag key, updated as a diff.

Rows are never cleared and refilled: a ValueUpdated touches only the cells that changed
(`update_cell`), a new flag adds one row, a flag the monitor forgot (a deleted flag past its
bound, core/deleted_flags.py) takes its row away, and the age column of the rows in view is
refreshed once a second and as rows are scrolled into view. A row whose value just changed is
highlighted for a moment; stale and deleted rows are marked.

A profile that evaluates for several named contexts gets one value column per context, headed by
its name, in the profile's order; each context's ValueUpdated fills its own column. The columns
are shared by what they need (`view/value_columns.py`: with one context exactly the single value
column as ever). A cut value ends with `…` (`enter` shows the row's values whole:
screens/values_detail.py), a value not answered yet is `WAITING` (`◌`, view/value_columns.py).
The widths are laid out again when the pane is resized or a value needs more than its column
has and the pane has room.

When the profile cannot evaluate (`set_evaluates`), a value that will never come says "not
evaluated" instead of waiting (`◌`, `⟳`) forever; the pane's top line says why (main_paint.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.timer import Timer

from togul_monitor.domain.values import DEFAULT_CONTEXT, FlagValue
from togul_monitor.support.text import safe_text
from togul_monitor.ui.keymap import pane_binding
from togul_monitor.ui.view.change import cut_middle
from togul_monitor.ui.view.doubt import Doubt
from togul_monitor.ui.view.format import fmt_age
from togul_monitor.ui.view.value_columns import (
    COLUMNS,
    SHORT_REASONS,
    SHORT_TYPES,
    column_widths,
    context_widths,
    header,
    needs_of,
    unfollowed,
    value_cell,
    value_key,
    value_plain,
)
from togul_monitor.ui.widgets.lean_table import LeanTable

FLASH_SECONDS = 2.0


class FlagCell(Text):
    """A flag column's cell, which keeps the whole key to sort by (its text may be cut)."""

    __slots__ = ("flag_key",)

    def __init__(self, flag_key: str, text: str, style: str) -> None:
        super().__init__(text, style=style)
        self.flag_key = flag_key


SORT_AT_ONCE_UP_TO = 300  # rows: a table this small is sorted as each flag is added
SORT_EVERY = 0.5  # seconds: how often a larger one is sorted while flags arrive

Needs = tuple[int, tuple[int, ...]]  # the widest flag cell, and each context's value cell
Changes = dict[str, dict[str, Text]]  # row key → column key → its new cell


class ValuesTable(LeanTable):
    """Flag → value for each of the profile's contexts."""

    # DataTable's own `enter` (select the row: its values whole, screens/values_detail.py) hid
    # the screen's `⏎ Detail` from the footer while the pane had the focus, and being unlabelled
    # the footer said nothing of what it does. The same id: a remapped detail key does it too.
    BINDINGS = [
        pane_binding(
            "detail", "select_cursor", "The flag's values whole, each context's, and its state"
        ),
        # DataTable's `end` scrolls sideways, which this table never needs; ctrl+end goes to
        # the last row.
        pane_binding("follow", "screen.follow"),
    ]

    def __init__(self, clock: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False, cell_padding=0)
        self.clock = clock
        self.contexts: tuple[str, ...] = (DEFAULT_CONTEXT,)  # in the profile's order
        # context → flag key → value; every flag of any context has a row.
        self.by_context: dict[str, dict[str, FlagValue]] = {DEFAULT_CONTEXT: {}}
        self.flags: dict[str, None] = {}  # every flag with a row, as an ordered set
        self.watched: set[str] = set()
        self.evaluates = True  # False: values never come (no API key), say so in the cells
        self.doubt: Doubt | None = None  # why every value may be out of date (the pane's title)
        self._flash_until: dict[str, float] = {}
        self._rendered: dict[str, tuple[Text, ...]] = {}
        self.widths: dict[str, int] = column_widths(40, 0, 0)
        self._needs: Needs = (0, (0,))
        self._sort_timer: Timer | None = None

    @property
    def values(self) -> dict[str, FlagValue]:
        """The first context's values (the single context's, for most profiles)."""
        return self.by_context[self.contexts[0]]

    @property
    def shown_contexts(self) -> int:
        """How many context columns the pane has room for (the first ones)."""
        if len(self.contexts) == 1:
            return 1
        return sum(1 for key in self.widths if key.startswith("value-"))

    def set_contexts(self, contexts: Sequence[str]) -> None:
        """The contexts the monitor evaluates for (a new monitor): a value column each."""
        contexts = tuple(contexts) or (DEFAULT_CONTEXT,)
        if contexts == self.contexts:
            return
        self.contexts = contexts
        self.by_context = {name: self.by_context.get(name, {}) for name in contexts}
        self.flags = {key: None for values in self.by_context.values() for key in values}
        self._needs = self._measure(self.flags, self._zero())
        # Other columns (their headers name the contexts, even where the widths stay the same),
        # laid out for the pane's width once it has one.
        self.widths = self._widths(self.inner_width if self.is_mounted else 40)
        if self.is_mounted:
            self._layout_columns()

    def _zero(self) -> Needs:
        return 0, (0,) * len(self.contexts)

    @property
    def _several(self) -> bool:
        return len(self.contexts) > 1

    def on_mount(self) -> None:
        self._layout_columns()

    @property
    def inner_width(self) -> int:
        """The pane's width less a column for the scrollbar, whether it shows or not (so the
        widths do not depend on when it appeared)."""
        return self.size.width - 1

    def on_resize(self) -> None:
        self._needs = self._measure(self.flags, self._zero())  # afresh: what the rows need now
        self._relayout()

    def _relayout(self) -> bool:
        """Lay the columns out again if the needs or the width call for other widths."""
        widths = self._widths(self.inner_width)
        if widths == self.widths:
            return False
        self.widths = widths
        self._layout_columns()
        return True

    def _widths(self, inner: int) -> dict[str, int]:
        flag_need, value_needs = self._needs
        if self._several:
            names = [cell_len(safe_text(name)) for name in self.contexts]
            return context_widths(inner, flag_need, value_needs, names)
        return column_widths(inner, flag_need, value_needs[0])

    def _measure(self, keys: Iterable[str], needs: Needs) -> Needs:
        """`needs` widened to what the rows of `keys` need (flag cell, each value cell)."""
        flag_need, value_needs = needs
        wide = list(value_needs)
        for key in keys:
            flag_need = max(flag_need, needs_of(key))
            for index, context in enumerate(self.contexts):
                value = self.by_context[context].get(key)
                wide[index] = max(wide[index], cell_len(value_plain(value, self.evaluates)))
        return flag_need, tuple(wide)

    @property
    def columns_shown(self) -> list[tuple[str, str | Text, int]]:
        """(key, label, width) of each column, in table order."""
        if not self._several:
            return [(key, label, self.widths[key]) for key, label in COLUMNS if key in self.widths]
        labels: dict[str, str | Text] = dict(COLUMNS)
        for index, context in enumerate(self.contexts):
            key = value_key(index)
            if key in self.widths:
                labels[key] = header(context, self.widths[key])
        return [(key, labels[key], width) for key, width in self.widths.items()]

    def _layout_columns(self) -> None:
        """(Re)build the columns for the pane's width and put every row back (rare: resizes)."""
        cursor, selected = self.cursor_row, self.selected_flag
        self.clear(columns=True)
        self._rendered.clear()
        for key, label, width in self.columns_shown:
            self.add_column(label, key=key, width=width)
        self._upsert_rows(sorted(self.flags), self.clock())
        if self.row_count:
            self.move_cursor(row=min(cursor, self.row_count - 1))
            self._keep_cursor_on(selected)

    def _keep_cursor_on(self, flag: str | None) -> None:
        """The cursor back on `flag`'s row: rows added above it (sorted by key) would leave it
        on its row number, another flag's, which `w`, `o` and `y` would then act on."""
        if flag is not None and flag in self.rows and self.selected_flag != flag:
            self.move_cursor(row=self.get_row_index(flag))

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
            self._needs = self._measure(self.flags, self._zero())
            if not self._relayout():
                self.tick()

    def apply(self, values: list[FlagValue], *, flash: set[str] | None = None) -> None:
        """A batch of ValueUpdated: a keyed diff, sorted again only when a flag was added."""
        now = self.clock()
        unknown = [v.context for v in values if v.context not in self.by_context]
        if unknown:  # a context the view was not told of: a column of its own, not lost
            self.set_contexts((*self.contexts, *dict.fromkeys(unknown)))
        keys: dict[str, None] = {}
        for value in values:
            self.by_context[value.context][value.flag_key] = value
            self.flags[value.flag_key] = None
            keys[value.flag_key] = None
            if flash and value.flag_key in flash:
                self._flash_until[value.flag_key] = now + FLASH_SECONDS
        needs = self._measure(keys, self._needs)
        if needs != self._needs:
            self._needs = needs
            if self._relayout():  # every row is put back with the new widths
                return
        if self._upsert_rows(keys, now):
            # Sorting costs the whole table: a large one (an environment's thousands of flags
            # arriving in many batches) is sorted at most every SORT_EVERY seconds.
            if self.row_count <= SORT_AT_ONCE_UP_TO:
                self._sort()
            elif self._sort_timer is None:
                self._sort_timer = self.set_timer(SORT_EVERY, self._sort)

    def forget(self, forgotten: Iterable[tuple[str, Sequence[str]]]) -> None:
        """Flags the monitor forgot, each batch with its context (core/deleted_flags.py): a flag
        no context holds any more leaves the table (the rows in one removal), another shows
        what its contexts still hold. The cursor stays on its flag, or, that row gone, on the
        row that took its place, which is then the one highlighted (the flag `w` acts on)."""
        touched: dict[str, None] = {}
        for context, keys in forgotten:
            values = self.by_context.get(context, {})
            touched.update((key, None) for key in keys if values.pop(key, None) is not None)
        if not touched:
            return
        held = self.by_context.values()
        gone = [key for key in touched if not any(key in values for values in held)]
        selected = self.selected_flag
        for key in gone:
            del self.flags[key]
            self._rendered.pop(key, None)
            self._flash_until.pop(key, None)
        self.remove_rows(gone)
        self._upsert_rows((key for key in touched if key in self.flags), self.clock())
        if selected in self.flags:
            self._keep_cursor_on(selected)
        elif selected is not None and self.row_count:
            self._highlight_cursor()  # on the same row number: no move would say it

    def mark_all_stale(self) -> None:
        """Every value ⟳: no monitor follows them any more (its stream stopped), as a lost
        stream marks them (the monitor's own values are not touched); one that never came says
        it will not (it said it was waiting)."""
        values = (value for held in self.by_context.values() for value in held.values())
        self.apply([stopped for stopped in map(unfollowed, values) if stopped is not None])

    def _sort(self) -> None:
        self._sort_timer = None
        selected = self.selected_flag
        self.sort("flag", key=lambda cell: cell.flag_key)  # the key, not its cut
        self._keep_cursor_on(selected)

    def flash(self, flag_key: str) -> None:
        self._flash_until[flag_key] = self.clock() + FLASH_SECONDS
        if flag_key in self.flags:
            self._upsert_rows((flag_key,), self.clock())

    def set_watched(self, watched: set[str]) -> None:
        changed = watched ^ self.watched
        self.watched = set(watched)
        self._upsert_rows((key for key in changed if key in self.flags), self.clock())

    def tick(self) -> None:
        """Once a second: ages move and highlights expire, on the rows in view (an environment
        of thousands of flags must not cost thousands of cells a second)."""
        now = self.clock()
        self._refresh_in_view(now)
        for key, until in list(self._flash_until.items()):
            if until <= now:
                del self._flash_until[key]

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            # The rows scrolled into view were last drawn when they were out of it: their age
            # then (`0s` for a value evaluated just before) is younger than the truth now.
            self._refresh_in_view(self.clock())

    def _refresh_in_view(self, now: float) -> None:
        top = max(0, round(self.scroll_y))
        in_view = (row.key.value for row in self.ordered_rows[top : top + self.size.height + 1])
        self._upsert_rows((key for key in in_view if key is not None and key in self.flags), now)

    def reset(self) -> None:
        for values in self.by_context.values():
            values.clear()
        self.flags.clear()
        self._rendered.clear()
        self._flash_until.clear()
        self._needs = self._zero()
        self.clear()

    def _cells(self, key: str, now: float) -> tuple[Text, ...]:
        first = self.values.get(key)
        if first is None:  # not (yet) in the first context: the others say what it is
            first = next((v[key] for v in self.by_context.values() if key in v), None)
        flashing = self._flash_until.get(key, 0.0) > now
        row_style = "reverse" if flashing else ""
        flag = FlagCell(key, "★ " if key in self.watched else "  ", style="yellow")
        # Cut in the middle: keys that share a prefix stay apart (`check…olor`, `check…t-v2`).
        flag.append(cut_middle(safe_text(key), self.widths["flag"] - 3), style=row_style)
        if first is not None and first.deleted:
            flag.stylize("strike dim")
        cells: dict[str, Text] = {"flag": flag}
        if self._several:
            for index, context in enumerate(self.contexts):
                column = value_key(index)
                if column in self.widths:
                    value = self.by_context[context].get(key)
                    room = self.widths[column] - 1
                    cells[column] = value_cell(
                        value, room, flashing=flashing, evaluates=self.evaluates
                    )
        else:
            room = self.widths["value"] - 1
            cells["value"] = value_cell(first, room, flashing=flashing, evaluates=self.evaluates)
        current = first.current if first is not None else None
        type_name = (current.value_type or "?") if current else ""
        cells["type"] = Text(safe_text(SHORT_TYPES.get(type_name, type_name)), style="dim")
        reason_name = (current.reason or "") if current else ""
        reason = Text(safe_text(SHORT_REASONS.get(reason_name, reason_name)), style="dim")
        reason.truncate(8, overflow="ellipsis")
        cells["reason"] = reason
        enabled = Text("")
        if current is not None and current.enabled is not None:
            enabled = Text("on", style="green") if current.enabled else Text("off", style="red")
        cells["enabled"] = enabled
        evaluated = first.evaluated_at if first is not None else None
        cells["age"] = Text(fmt_age(now - evaluated) if evaluated else "-", style="dim")
        return tuple(cells[key] for key, _, _ in self.columns_shown)

    def _upsert_rows(self, keys: Iterable[str], now: float) -> bool:
        """Each flag's row added, or its changed cells replaced: one `replace_cells` for them
        all (it repaints only those rows). Whether a row was added."""
        changes: Changes = {}
        added = False
        for key in keys:
            added |= self._upsert(key, now, changes)
        self.replace_cells(changes)
        return added

    def _upsert(self, key: str, now: float, changes: Changes) -> bool:
        """The flag's row, added (True) or its changed cells put in `changes`."""
        cells = self._cells(key, now)
        before = self._rendered.get(key)
        if before is None:
            self.add_row(*cells, key=key)
            self._rendered[key] = cells
            return True
        for (column, _, _), old, new in zip(self.columns_shown, before, cells, strict=True):
            # Text's == ignores the base style (`bold` while flashing): compare it too.
            if old != new or old.style != new.style:
                changes.setdefault(key, {})[column] = new
        self._rendered[key] = cells
        return False
