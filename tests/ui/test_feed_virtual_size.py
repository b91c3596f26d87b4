"""A new row changes the feed's virtual height, which Textual answers with a layout of the whole
screen: the feed asks for one only when its scrollbar comes or goes (widgets/event_feed.py
`_set_virtual_size`), and otherwise moves the scrollbar alone. The batch that brings the
scrollbar is followed to its last row, although Textual scrolls no widget whose scrollbar it has
not laid out yet."""

from __future__ import annotations

from typing import Any

from togul_monitor.ui.widgets.event_feed import EventFeed

from .test_feed_lines import FeedApp, event, shown


def count_layouts(app: FeedApp) -> list[object]:
    calls: list[object] = []
    screen = app.screen
    original = screen._refresh_layout

    def counted(*args: Any, **kwargs: Any) -> None:
        calls.append(kwargs)
        original(*args, **kwargs)

    screen._refresh_layout = counted  # type: ignore[method-assign]
    return calls


async def settled(pilot: Any, layouts: list[object]) -> None:
    """Until a pause brings no more layouts: a scrollbar that comes takes several, which a
    loaded machine may spread over more than one pause."""
    for _ in range(50):
        seen = len(layouts)
        await pilot.pause()
        if len(layouts) == seen:
            return
    raise AssertionError("the layouts never settled")


async def test_a_row_added_under_a_shown_scrollbar_lays_nothing_out() -> None:
    app = FeedApp()
    async with app.run_test(size=(60, 10)) as pilot:
        feed = app.query_one(EventFeed)
        layouts = count_layouts(app)
        app.feed(*(event(f"flag-{i}", str(i)) for i in range(20)))
        await settled(pilot, layouts)
        assert feed.show_vertical_scrollbar
        layouts.clear()
        for i in range(20, 23):
            app.feed(event(f"flag-{i}", str(i)))
            await pilot.pause()
        assert layouts == []
        assert feed.virtual_size.height == feed.lines == 23
        assert feed.vertical_scrollbar.window_virtual_size == 23
        assert feed.scroll_y == feed.max_scroll_y == 23 - feed.scrollable_content_region.height
        assert "flag-22" in shown(feed)[-1]


async def test_the_rows_that_bring_the_scrollbar_narrow_the_feed_and_it_follows_them() -> None:
    app = FeedApp()
    async with app.run_test(size=(60, 10)) as pilot:
        feed = app.query_one(EventFeed)
        app.feed(*(event(f"flag-{i}", str(i)) for i in range(3)))
        await pilot.pause()
        assert not feed.show_vertical_scrollbar
        assert feed.scrollable_content_region.width == 60
        app.feed(*(event(f"flag-{i}", str(i)) for i in range(3, 30)))
        await pilot.pause()
        assert feed.show_vertical_scrollbar
        assert feed.scrollable_content_region.width == 59
        assert "flag-29" in shown(feed)[-1]
