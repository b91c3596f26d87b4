"""The live event feed: a virtual, line-rendered list over a bounded FeedStore.

toolong-style tail: while following, the cursor sits on the newest row and the view scrolls with
it; moving the cursor up stops following and new rows are counted instead ("+N new"); `end`
follows again. Only visible lines are rendered, so a 5,000-row view costs what 40 rows cost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from togul_monitor.domain.events import FlagEvent
from togul_monitor.support.text import safe_text
from togul_monitor.ui.view.feed_store import FeedStore
from togul_monitor.ui.view.format import change_text, fit, fmt_clock, type_style
from togul_monitor.ui.view.rows import FeedItem, Row

MARKER_STYLES = {
    "outage": "bold yellow",
    "outage-missing": "bold red",
    "malformed": "red",
    "gap": "yellow",
    "info": "italic dim",
    "continued": "bold red",  # the second row of a marker: no time column, so it fits 80 cols
}


def environment_label(environment_id: str, names: Mapping[str, str] | None) -> str:
    if names and environment_id in names:
        return names[environment_id]
    return environment_id[:8]


# Column widths of an event row (see row_text).
FLAG_FIRST = 24  # `checkout-button-color` and the like, whole
CHANGE_MIN = 15  # `false → true` whole


def row_text(
    item: Row,
    width: int,
    *,
    time_mode: str,
    now: float,
    environment_names: Mapping[str, str] | None,
    store: FeedStore,
) -> Text:
    """One feed row: time, type (coloured), flag, environment, version, value change."""
    stamp = fit(fmt_clock(item.received_at, time_mode, now), 9)
    if isinstance(item, FeedItem):
        if item.marker == "continued":
            return Text(safe_text(item.text), style=MARKER_STYLES["continued"])
        text = Text(stamp + " ", style="dim")
        text.append(safe_text(item.text), style=MARKER_STYLES.get(item.marker, ""))
        return text
    event: FlagEvent = item
    # time 9 + type 13 + environment 11 = 33 columns; the rest is shared by the flag key and the
    # value change. The key comes first (up to FLAG_FIRST: typical keys whole), then the change
    # (up to 25), then the key again (up to 40). The version (6) is left out of narrow panes:
    # the detail screen shows it, and a skipped version shows up as a "possible gap" row.
    show_version = width - 39 >= FLAG_FIRST + CHANGE_MIN
    rest = max(FLAG_FIRST, width - (39 if show_version else 33))
    change_width = max(min(CHANGE_MIN, rest // 2), min(25, rest - FLAG_FIRST))
    flag_width = min(rest - change_width, 40)
    text = Text(stamp + " ", style="dim")
    text.append(fit(safe_text(event.type), 12) + " ", style=type_style(event.type))
    text.append(fit(safe_text(event.flag_key), flag_width - 1) + " ")
    text.append(fit(safe_text(environment_label(event.environment_id, environment_names)), 10))
    if show_version:
        text.append(" " + fit(f"v{event.version}", 5), style="dim")
    else:
        text.append(" ")
    transition = store.transition_for(event)
    if transition is not None:
        limit = max(3, (change_width - 3) // 2)
        text.append_text(change_text(transition.before, transition.after, limit=limit))
    return text


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
        self._generation = store.generation

    # -- state from the store --------------------------------------------------------------
    def sync(self) -> None:
        """Take what the store appended/trimmed since the last paint and move the view."""
        store = self.store
        removed, appended = store.front_removed, store.appended
        store.front_removed = store.appended = 0
        count = len(store.view)
        reset = store.generation != self._generation  # the view was replaced wholesale
        if reset:
            self._generation = store.generation
            self.unseen = 0
            removed = appended = 0
            if not self.following:
                self.cursor = min(self.cursor, count - 1)
        if not (reset or removed or appended) and self.virtual_size.height == count:
            if self.following and self.cursor != count - 1:
                self.cursor = count - 1
                self.refresh()
            return
        self.virtual_size = Size(self.size.width, count)
        if self.following:
            self.cursor = count - 1
            self.scroll_to(y=max(0, count - self.scrollable_content_region.height), animate=False)
        else:
            self.unseen += appended
            if removed:
                self.cursor = max(0, self.cursor - removed)
                self.scroll_to(y=max(0, self.scroll_y - removed), animate=False)
        self.refresh()

    @property
    def cursor_item(self) -> Row | None:
        view = self.store.view
        if 0 <= self.cursor < len(view):
            return view[self.cursor]
        return None

    def follow(self) -> None:
        self.following = True
        self.unseen = 0
        count = len(self.store.view)
        self.cursor = count - 1
        self.scroll_to(y=max(0, count - self.scrollable_content_region.height), animate=False)
        self.refresh()

    # -- actions ---------------------------------------------------------------------------
    def action_cursor(self, delta: int) -> None:
        self._move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor + direction * max(1, self.scrollable_content_region.height - 1))

    def action_top(self) -> None:
        self._move_to(0)

    def _move_to(self, index: int) -> None:
        count = len(self.store.view)
        if count == 0:
            return
        self.cursor = max(0, min(count - 1, index))
        self.following = self.cursor == count - 1 and not self.store.paused
        if self.following:
            self.unseen = 0
        self._scroll_cursor_into_view()
        self.refresh()
        self.post_message(self.CursorMoved(self.cursor_item))

    def _scroll_cursor_into_view(self) -> None:
        height = self.scrollable_content_region.height
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None:
            self._move_to(int(self.scroll_y) + offset.y)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        # Scrolling back through the feed stops following (toolong's tail): new rows are
        # counted as "+N new" instead of pulling the view down.
        if self.store.view:
            self.following = False

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.store.view))
        if self.following:
            self.follow()

    # -- rendering -------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        view = self.store.view
        index = int(self.scroll_y) + y
        if not view:
            if y == 1:
                style = self.get_component_rich_style("event-feed--empty")
                text = Text("  " + self.empty_message, style=style, no_wrap=True)
                return self._strip(text, width, base)
            return Strip.blank(width, base)
        if index >= len(view):
            return Strip.blank(width, base)
        item = view[index]
        text = row_text(
            item,
            width,
            time_mode=self.time_mode,
            now=self.clock(),
            environment_names=self.environment_names,
            store=self.store,
        )
        if index == self.cursor:
            text.pad_right(max(0, width - text.cell_len))
            text.stylize(self.get_component_rich_style("event-feed--cursor"))
        return self._strip(text, width, base)

    def _strip(self, text: Text, width: int, base: Style) -> Strip:
        text.no_wrap = True
        text.overflow = "ellipsis"
        segments = list(text.render(self.app.console, end=""))
        strip = Strip(segments).apply_style(base) if segments else Strip([Segment("")])
        return strip.crop_extend(0, width, base)
