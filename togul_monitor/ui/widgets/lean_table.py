"""A DataTable that paints cheaply: one-line cells rendered directly, updates repaint their rows.

Two costs of Textual's `DataTable` dominated a frame under a burst (20–40 ms on a loaded 2-core
machine, more than the feed's whole paint):

* Every cell is laid out by Rich as a renderable (`Styled(Padding(cell))` through
  `Console.render_lines`), about 0.1 ms a cell. A cell of one line of `Text` that fits its
  column needs none of that: its segments, padded, with the cell's styles applied, are the same
  line. `_render_cell` does that and leaves every other cell (the header, several lines, a cut
  or justified text) to DataTable.
* `update_cell` keys every cached render (of a cell, a row, a line) on one counter that each
  update bumps, and repaints the whole widget: a values table updating a few cells a frame
  rendered every visible row each time. `replace_cells` writes the cells, drops the cached
  renders of those rows only and repaints their lines; every other row's cache key (its row,
  column, cursor, styles and the unchanged counter) still holds, so its render is reused.

A table's new rows (a history pane showing another flag, values added) lay the screen out again
only when their height moves something (ui/widgets/scroll_size.py): DataTable sets its
`virtual_size` at every change, and Textual reflows the whole screen for it. Removing rows
still lays it out (`remove_rows`, as DataTable's `remove_row`): rare, a flag forgotten.

`remove_rows` removes several rows with one numbering of those left: DataTable's `remove_row`
numbers every row again for each one, so a batch of rows gone (flags the monitor forgot,
core/deleted_flags.py) would cost rows × table.

These lean on DataTable's private caches and row locations; Textual is pinned to one version
(pyproject.toml), and tests/ui/test_lean_table.py checks that what this paints is exactly what
DataTable paints, cell by cell and after updates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from typing import Any, Self

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.widgets import DataTable
from textual.widgets.data_table import CellKey, ColumnKey, RowKey

from togul_monitor.ui.widgets.scroll_size import keeps_layout

SegmentLines = list[list[Segment]]


class LeanTable(DataTable[Text]):
    _sized_from: Size | None = None  # while DataTable sets a new virtual size: the old one

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        self._sized_from = self.virtual_size
        try:
            super()._update_dimensions(new_rows)
        finally:
            self._sized_from = None

    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> Self:
        # Also asked for by the scrollbars `_scroll_update` changes (`show_horizontal_scrollbar`
        # is a layout reactive): `keeps_layout` reads them as they are by then, and lets that
        # layout through.
        old = self._sized_from
        if layout and old is not None and keeps_layout(self, old, self.virtual_size):
            layout = False  # the new virtual size moves nothing: the scrollbar's thumb only
            self._scroll_update(self.virtual_size)
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> SegmentLines:
        lines = self._lean_cell(row_index, column_index, base_style, width, cursor, hover)
        if lines is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        return lines

    def _lean_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool,
        hover: bool,
    ) -> SegmentLines | None:
        """The cell's line as DataTable would render it, or None where that takes Rich."""
        if row_index < 0 or column_index < 0 or self.fixed_rows or self.fixed_columns:
            return None  # the header, row labels, fixed cells: DataTable's own styles
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        if row_key is None or column_key is None or self.rows[row_key].height != 1:
            return None
        cell = self._data[row_key].get(column_key)
        pad = self.cell_padding
        inner = width - 2 * pad
        if (
            type(cell) is not Text
            or cell.justify not in (None, "default")  # "left" pads in the text's own style
            or "\n" in cell.plain
            or "\t" in cell.plain
            or cell.cell_len > inner
        ):
            return None  # laid out by Rich: wrapped, cut, aligned or expanded
        cache_key = (
            row_key,
            column_key,
            base_style,
            cursor,
            hover,
            self._show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
        )
        cached = self._cell_render_cache.get(cache_key)
        if cached is not None:
            return cached
        component_style, post_style = self._get_styles_to_render_cell(
            False,
            False,
            False,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        pre_style = base_style + Style.from_meta({"row": row_index, "column": column_index})
        pre_style += component_style
        blank = Style.null()  # what Rich gives the padding and the space after the text
        segments = [Segment(" " * pad, blank)] if pad else []
        console = self.app.console
        if cell.spans:
            segments.extend(cell.render(console, end=""))
        elif cell.plain:  # Text.render leaves a text's own style to its caller without spans
            segments.append(Segment(cell.plain, console.get_style(cell.style, default=blank)))
        if inner - cell.cell_len + pad:
            segments.append(Segment(" " * (inner - cell.cell_len + pad), blank))
        line = list(Segment.apply_style(segments, pre_style, post_style))
        lines = [line]
        self._cell_render_cache[cache_key] = lines
        return lines

    def replace_cells(self, changes: Mapping[str, Mapping[str, Text]]) -> None:
        """Put new cells in rows (row key → column key → cell) and repaint those rows only."""
        rows: set[RowKey] = set()
        for row, cells in changes.items():
            row_key = RowKey(row)
            data = self._data[row_key]
            for column, cell in cells.items():
                data[ColumnKey(column)] = cell
            rows.add(row_key)
        if not rows:
            return
        if len(self._y_offsets) != len(self.rows):
            # A row of several lines: which lines are whose is DataTable's business.
            self._update_count += 1
            self.refresh()
            return
        indexes = [self._row_locations.get(key) for key in rows]
        header = self.header_height if self.show_header else 0
        # Every row is one line: a row's line in the whole table is its index under the header.
        lines = {index + header for index in indexes if index is not None}
        _forget(self._row_render_cache, rows)
        _forget(self._cell_render_cache, rows)
        _forget(self._row_renderable_cache, set(indexes), at=1)  # keyed (counter, row index)
        _forget(self._line_cache, lines)
        for index in indexes:
            if index is not None:
                self.refresh_row(index)

    def remove_rows(self, keys: Iterable[str]) -> None:
        """Remove the rows of `keys` (those it has), as `remove_row` removes one: the rows
        after them move up, the cursor stays on its row number (within the table)."""
        gone = {RowKey(key) for key in keys} & self.rows.keys()
        if not gone:
            return
        self._require_update_dimensions = True
        self.check_idle()
        locations = self._row_locations
        order = (locations.get_key(index) for index in range(len(locations)))
        kept = [key for key in order if key is not None and key not in gone]
        self._row_locations = TwoWayDict({key: index for index, key in enumerate(kept)})
        for row_key in gone:
            for column_key in self._data[row_key]:
                self._updated_cells.discard(CellKey(row_key, column_key))
            del self.rows[row_key]
            del self._data[row_key]
        self.cursor_coordinate = self.cursor_coordinate  # within the table again
        self.hover_coordinate = self.hover_coordinate
        self._update_count += 1
        self.refresh(layout=True)


def _forget(cache: LRUCache[Any, Any], stale: Set[object], at: int = 0) -> None:
    """Drop the entries whose key holds one of `stale` at position `at`."""
    for key in [key for key in cache.keys() if key[at] in stale]:
        cache.discard(key)
