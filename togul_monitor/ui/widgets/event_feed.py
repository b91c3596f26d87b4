"""The live event feed: a virtual, line-rendered list over a bounded FeedStore.

toolong-style tail: while following, the cursor sits on the newest row and the view scrolls with
it; moving the cursor up stops following and new rows are counted instead ("+N new"); `end`
follows again. Only visible lines are rendered, so a 5,000-row view costs what 40 rows cost.

The rows' text and columns come from `view/feed_layout.py`: the columns are shared by what the
rows on screen need (`relayout`, after every change of the rows, the cursor, the scroll or the
size), and the selected row, when something of it is cut, is shown whole on the lines under it.
Those lines are part of the virtual height: line `cursor + 1 + i` is the i-th of them, and the
rows below move down by as many.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from togul_monitor.domain.events import FlagEvent
from togul_monitor.ui.view.feed_expanded import expanded_lines
from togul_monitor.ui.view.feed_layout import (
    FeedLayout,
    environment_label,
    found_label,
    layout_for,
    needs_of,
    row_change,
    row_is_cut,
    row_text,
)
from togul_monitor.ui.view.feed_store import FeedStore
from togul_monitor.ui.view.format import fmt_clock
from togul_monitor.ui.view.found import FoundChange
from togul_monitor.ui.view.rows import Row
from togul_monitor.ui.view.words import wrap_words
from togul_monitor.ui.widgets.scroll_size import keeps_layout

__all__ = ["EventFeed", "environment_label", "row_text"]

LINES_KEPT = 1_000  # lines made for earlier frames kept before they are dropped (a few screens)


class EventFeed(ScrollView, can_focus=True):
    """The feed pane. The main screen owns the store and calls `sync()` once per paint."""

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="feed_up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="feed_down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="feed_page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="feed_page_down"),
        Binding("home", "top", "Top", show=False, id="feed_top"),
        Binding("end", "screen.follow", "Follow", show=False, id="follow"),
    ]

    COMPONENT_CLASSES = {"event-feed--cursor", "event-feed--empty"}

    time_mode: reactive[str] = reactive("local")  # bound to the main screen's; repaints the rows

    DEFAULT_CSS = """
    EventFeed > .event-feed--cursor { background: $accent 30%; }
    EventFeed:focus > .event-feed--cursor { background: $accent 60%; text-style: bold; }
    EventFeed > .event-feed--empty { color: $text-muted; text-style: italic; }
    """

    class CursorMoved(Message):
        """The user moved the cursor (never sent while following on its own)."""

        def __init__(self, item: Row | None) -> None:
            super().__init__()
            self.item = item

    def __init__(
        self,
        store: FeedStore,
        clock: Callable[[], float],
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.store = store
        self.clock = clock
        self.cursor = -1
        self.following = True
        self.unseen = 0  # rows appended while not following
        self.environment_names: Mapping[str, str] | None = None
        self.empty_message = "Waiting for the stream…"
        self.columns: FeedLayout | None = None  # the columns of the rows on screen
        self.expansion: list[Text] = []  # the selected row whole, under it (when it is cut)
        self._generation = store.generation
        self._relaying = False
        self._frame: tuple[int, Style, float] | None = None  # while a frame renders
        # Lines made for earlier frames, by `_line_key`, while what they share stays the same.
        self._lines: dict[tuple[object, ...], Strip] = {}
        self._lines_shared: tuple[object, ...] | None = None
        self._new_rows = 0  # appended since the last frame
        self._keeping = True  # this frame keeps its lines (a light stream's)

    # -- state from the store --------------------------------------------------------------
    def sync(self) -> None:
        """Take what the store appended/trimmed since the last paint and move the view."""
        store = self.store
        removed, appended = store.front_removed, store.appended
        store.front_removed = store.appended = 0
        self._new_rows += appended
        count = len(store.view)
        reset = store.generation != self._generation  # the view was replaced wholesale
        if reset:
            self._generation = store.generation
            self.unseen = 0
            removed = appended = 0
            if not self.following:
                self.cursor = min(self.cursor, count - 1)
        if not (reset or removed or appended) and self.virtual_size.height == self.lines:
            if self.following and self.cursor != count - 1:
                self.cursor = count - 1
                self.relayout()
            return
        if self.following:
            self.cursor = count - 1
            self._relayout(bottom=True)
            self._scroll_bottom()
        else:
            self.unseen += appended
            if removed:
                self._trimmed_front(removed)
                self._scroll_y_to(max(0, self.scroll_y - removed))
            self._relayout()
        self.refresh()

    def _trimmed_front(self, removed: int) -> None:
        """The view dropped its `removed` oldest rows: the cursor stays on its row. When that
        row was one of them, nothing is selected any more, and the user is told; clamped to
        the first row, the cursor would sit on a row nobody chose, and `enter`, `w`, `y`, `o`
        would act on it."""
        if self.cursor >= removed:
            self.cursor -= removed
        elif self.cursor >= 0:
            self.cursor = -1
            self.notify(
                f"The selected row left the view (it keeps the newest {self.store.view_size:,}"
                " rows): no row is selected. ↑↓ select one, end follows.",
                markup=False,
            )

    @property
    def lines(self) -> int:
        """The virtual height: the rows, and the selected row's lines under it."""
        return len(self.store.view) + len(self.expansion)

    @property
    def cursor_item(self) -> Row | None:
        view = self.store.view
        if 0 <= self.cursor < len(view):
            return view[self.cursor]
        return None

    def follow(self) -> None:
        self.following = True
        self.unseen = 0
        self.cursor = len(self.store.view) - 1
        self._relayout(bottom=True)
        self._scroll_bottom()
        self.refresh()

    def _scroll_bottom(self) -> None:
        self._scroll_y_to(max(0, self.lines - self.scrollable_content_region.height))

    def _scroll_y_to(self, y: float) -> None:
        # Forced: Textual scrolls no widget whose scrollbar it has not laid out yet.
        self.scroll_to(y=y, animate=False, force=True)

    # -- the columns and the selected row's lines --------------------------------------------
    def relayout(self) -> None:
        """The rows' content changed (a value change arrived, names were learnt): lay out the
        columns again and repaint."""
        self._relayout(bottom=self.following)
        if self.following:
            self._scroll_bottom()
        self.refresh()

    def _relayout(self, *, bottom: bool = False) -> None:
        """Columns from what the rows on screen need; the selected row's lines if it is cut."""
        if self._relaying:
            return
        self._relaying = True
        try:
            view, store, names = self.store.view, self.store, self.environment_names
            width = self.scrollable_content_region.width
            height = max(1, self.scrollable_content_region.height)
            count = len(view)
            first = count - height if bottom else self._row_at(int(self.scroll_y))[0]
            first = max(0, min(first, count - 1))
            rows = [view[i] for i in range(first, min(count, first + height))]
            item = self.cursor_item
            if item is not None:
                rows.append(item)
            mode = self.time_mode
            layout = layout_for(width, needs_of(rows, store, names), mode)
            expansion: list[Text] = []
            cut = item is not None and row_is_cut(item, width, layout, names, store, mode)
            if item is not None and width > 0 and cut:
                expansion = expanded_lines(item, width, names, store)
            self.columns, self.expansion = layout, expansion
            self._set_virtual_size(Size(self.size.width, self.lines))
        finally:
            self._relaying = False

    def _set_virtual_size(self, size: Size) -> None:
        """A new row lays the screen out only when it brings the scrollbar (scroll_size.py):
        most of a light stream's paint was that layout."""
        old = self.virtual_size
        if old == size:
            return
        if not keeps_layout(self, old, size):
            self.virtual_size = size
            return
        self.set_reactive(EventFeed.virtual_size, size)
        self._scroll_update(size)

    def _row_at(self, line: int) -> tuple[int, int]:
        """(row index, -1) for a row's line, (cursor, i) for the i-th line under the cursor."""
        cursor, extra = self.cursor, len(self.expansion)
        if cursor < 0 or line <= cursor or not extra:
            return line, -1
        if line <= cursor + extra:
            return cursor, line - cursor - 1
        return line - extra, -1

    def watch_time_mode(self) -> None:
        if self.is_mounted:
            self.relayout()  # the time column's width

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value) and self.is_mounted:
            self._relayout()  # other rows on screen: their needs

    # -- actions ---------------------------------------------------------------------------
    def action_cursor(self, delta: int) -> None:
        self._move_to(self.cursor + delta if self.cursor >= 0 else int(self.scroll_y))

    def action_page(self, direction: int) -> None:
        if self.cursor < 0:  # nothing selected (its row left the view): the top row on screen
            self._move_to(int(self.scroll_y))
            return
        self._move_to(self.cursor + direction * max(1, self.scrollable_content_region.height - 1))

    def action_top(self) -> None:
        self._move_to(0)

    def move_to(self, index: int) -> None:
        """Put the cursor on row `index` (the jump finder), as the keys move it."""
        self._move_to(index)

    def select_nothing(self) -> None:
        """No row selected (the jump finder's flag has none): `enter`, `y` say so, and `w`, `o`
        act on the selected flag, rather than on a row of another flag. `end` follows again."""
        self.cursor = -1
        self.following = False
        self._relayout()
        self.refresh()

    def _move_to(self, index: int) -> None:
        count = len(self.store.view)
        if count == 0:
            return
        self.cursor = max(0, min(count - 1, index))
        self.following = self.cursor == count - 1 and not self.store.paused
        if self.following:
            self.unseen = 0
        self._relayout()
        self._scroll_cursor_into_view()
        self.refresh()
        self.post_message(self.CursorMoved(self.cursor_item))

    def _scroll_cursor_into_view(self) -> None:
        height = self.scrollable_content_region.height
        top = int(self.scroll_y)
        last = self.cursor + len(self.expansion)  # the selected row's own lines too
        if self.cursor < top:
            self._scroll_y_to(self.cursor)
        elif last >= top + height:
            self._scroll_y_to(min(self.cursor, last - height + 1))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None:
            self._move_to(self._row_at(int(self.scroll_y) + offset.y)[0])

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        # Scrolling back through the feed stops following (toolong's tail): new rows are
        # counted as "+N new" instead of pulling the view down.
        if self.store.view:
            self.following = False

    def on_resize(self) -> None:
        self._relayout(bottom=self.following)
        if self.following:
            self.follow()

    # -- rendering -------------------------------------------------------------------------
    def render_lines(self, crop: Region) -> list[Strip]:
        # What every line of one frame shares, worked out once: the style alone (CSS lookups)
        # cost as much as a row's text.
        region, base = self.scrollable_content_region, self.rich_style
        self._frame = (region.width, base, self.clock())
        shared = (region.width, base, self.time_mode, self.columns)
        # Following a burst (more new rows a frame than the screen holds), no line would be
        # shown again, and keeping them would only cost their keys; scrolled back, the rows on
        # screen stay where they are, whatever comes.
        self._keeping = not self.following or self._new_rows < region.height
        self._new_rows = 0
        if shared != self._lines_shared or len(self._lines) > LINES_KEPT or not self._keeping:
            self._lines_shared = shared
            self._lines = {}
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def render_line(self, y: int) -> Strip:
        width, base, now = self._frame or (
            self.scrollable_content_region.width,
            self.rich_style,
            self.clock(),
        )
        view = self.store.view
        if not view:
            style = self.get_component_rich_style("event-feed--empty")
            message = wrap_words(self.empty_message, width - 4)
            if 1 <= y <= len(message):
                return self._strip(Text("  " + message[y - 1], style=style), width, base)
            return Strip.blank(width, base)
        index, sub = self._row_at(int(self.scroll_y) + y)
        if index >= len(view):
            return Strip.blank(width, base)
        key: tuple[object, ...] | None = None
        if sub >= 0:
            text = self.expansion[sub].copy()
        else:
            row = view[index]
            if self._frame is not None and self._keeping and index != self.cursor:
                key = self._line_key(row, index, now)
                strip = self._lines.get(key)
                if strip is not None:
                    return strip
            text = row_text(
                row,
                width,
                time_mode=self.time_mode,
                now=now,
                environment_names=self.environment_names,
                store=self.store,
                layout=self.columns,
            )
        if index < self.store.recorded:
            text.stylize("dim")  # recorded by an earlier run (the journal), not seen live
        if index == self.cursor:
            text.pad_right(max(0, width - text.cell_len))
            text.stylize(self.get_component_rich_style("event-feed--cursor"))
        strip = self._strip(text, width, base)
        if key is not None:
            self._lines[key] = strip
        return strip

    def _line_key(self, row: Row, index: int, now: float) -> tuple[object, ...]:
        """Everything a row's line shows beyond what its frame shares (`render_lines`): the
        same key, the same line. A light stream scrolls every line a few rows a frame; their
        text is made once, not once a frame."""
        recorded, names = index < self.store.recorded, self.environment_names
        if not isinstance(row, FlagEvent):  # a marker: its line is its text
            key = (row.received_at, row.marker, row.text, recorded, self._stamp(row, now))
            # A found row names the profile's environment, which may be learnt after it.
            if isinstance(row, FoundChange):
                return (*key, found_label(self.store, names, row))
            return key
        label = names.get(row.environment_id) if names else None
        return (row, recorded, self._stamp(row, now), label, row_change(row, self.store))

    def _stamp(self, row: Row, now: float) -> str | None:
        """The time a row shows, when it moves with `now` (relative ages)."""
        relative = self.time_mode == "relative"
        return fmt_clock(row.received_at, "relative", now) if relative else None

    def _strip(self, text: Text, width: int, base: Style) -> Strip:
        text.no_wrap = True
        text.overflow = "ellipsis"
        segments = list(text.render(self.app.console, end=""))
        strip = Strip(segments).apply_style(base) if segments else Strip([Segment("")])
        return strip.crop_extend(0, width, base)
