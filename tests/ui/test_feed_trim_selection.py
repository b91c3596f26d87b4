"""Scrolled back, the feed's selected row stays selected while the bounded view trims its oldest
rows; once that row itself is trimmed nothing is selected (and the user is told), so `enter`,
`w`, `y`, `o` never act on a row that merely slid under the cursor (widgets/event_feed.py)."""

from __future__ import annotations

from textual.app import App, ComposeResult

from togul_monitor.domain.events import FlagEvent
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.screens.event_detail import EventDetailScreen
from togul_monitor.ui.view.feed_store import FeedStore
from togul_monitor.ui.view.rows import row_event
from togul_monitor.ui.widgets.event_feed import EventFeed

from .helpers import make_app, make_profile, wait_for, wait_live

ENV = "f7c1bd87-0000-4000-8000-000000000001"


def event(key: str, number: int) -> FlagEvent:
    return FlagEvent("flag.updated", key, ENV, number, 1_700_000_000.0, str(number), 1.7e9)


class FeedApp(App[None]):
    def __init__(self, view_size: int) -> None:
        super().__init__()
        self.store = FeedStore(view_size=view_size)
        self.said: list[str] = []

    def notify(self, message: str, **kwargs: object) -> None:  # type: ignore[override]
        self.said.append(message)

    def compose(self) -> ComposeResult:
        yield EventFeed(self.store, lambda: 1.7e9, id="feed")

    def add(self, *rows: FlagEvent) -> None:
        """As the main screen paints (screens/main_paint.py): into the store, then `sync`."""
        for row in rows:
            self.store.add_row(row)
        self.query_one(EventFeed).sync()


def selected(feed: EventFeed) -> str | None:
    item = feed.cursor_item
    event = row_event(item) if item is not None else None
    return event.flag_key if event is not None else None


async def test_the_selected_row_stays_selected_until_it_is_trimmed_then_none_is() -> None:
    app = FeedApp(view_size=5)
    async with app.run_test(size=(100, 12)) as pilot:
        feed = app.query_one(EventFeed)
        app.add(*(event(f"flag-{i}", i) for i in range(5)))
        feed.move_to(1)  # scrolled back to an older row: not following
        assert selected(feed) == "flag-1" and not feed.following
        app.add(event("flag-5", 5))  # flag-0 is trimmed: the cursor stays on its row
        assert selected(feed) == "flag-1"
        assert app.said == []
        app.add(event("flag-6", 6), event("flag-7", 7))  # flag-1 is trimmed too
        assert feed.cursor_item is None and not feed.following  # not flag-2 or flag-3
        (note,) = app.said
        assert "selected row left the view" in note
        app.add(event("flag-8", 8))  # more trimming changes nothing
        assert feed.cursor_item is None and len(app.said) == 1
        await pilot.press("down")  # a key selects a row again: the top one on screen
        assert selected(feed) == "flag-4"
        await pilot.press("down")
        assert selected(feed) == "flag-5"


async def test_enter_and_w_act_on_the_chosen_row_not_on_the_one_that_slid_under_it(
    emulator: EmulatorHandle,
) -> None:
    """The whole app with a 4-row view: home selects the oldest row; the view trims it; enter
    opens nothing, and `w` watches the flag of the row chosen (the history's), no other."""
    app = make_app(make_profile(emulator, watch=()), view_size=4)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        main = app.main
        flags = ["dark-mode", "new-dashboard", "checkout-v2", "beta-search"]
        for flag in flags:
            emulator.world.update_flag("production", flag, enabled=False)
            await wait_for(pilot, lambda f=flag: selected(main.feed) == f, what=f"{flag}'s row")
        main.feed.focus()
        await pilot.press("home")
        assert selected(main.feed) == "dark-mode" and main.selected_flag == "dark-mode"
        emulator.world.update_flag("production", "maintenance-banner", enabled=False)
        await wait_for(pilot, lambda: main.store.trimmed == 1, what="the oldest row trimmed")
        await wait_for(pilot, lambda: main.feed.cursor_item is None, what="no row selected")
        assert main.selected_flag == "dark-mode"  # the flag chosen stays so (history, w, o)
        await pilot.press("enter")
        assert not isinstance(app.screen, EventDetailScreen)  # no detail of an unchosen row
        await pilot.press("w")
        assert main.watched == {"dark-mode"}
