"""The feed's lines are made once and shown again while nothing they show has changed
(widgets/event_feed.py): a line must never outlive what it says (a value answered, a name
learnt, an age moving, the time format), and a frame with nothing new makes no line anew."""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.geometry import Region

from togul_monitor.core.updates import TransitionRecorded
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import Evaluation, FlagValue, ValueTransition
from togul_monitor.ui.view.batch import take_batch
from togul_monitor.ui.view.feed_store import FeedStore
from togul_monitor.ui.widgets import event_feed
from togul_monitor.ui.widgets.event_feed import EventFeed

from .helpers import wait_for

OURS = "f7c1bd87-0000-4000-8000-000000000001"
OTHER = "0c0ffee0-0000-4000-8000-000000000002"
NOW = 1_700_000_100.0


def event(key: str, event_id: str, env: str = OURS, received: float = 1_700_000_000.5) -> FlagEvent:
    return FlagEvent("flag.updated", key, env, 2, 1_700_000_000.0, event_id, received)


def answer(current: bool) -> Evaluation:
    return Evaluation(current, "boolean", "rule_match", True)


def value(key: str, current: bool, *, stale: bool = False) -> FlagValue:
    return FlagValue(key, answer(current), None, 1.0, None, stale, False, None)


class FeedApp(App[None]):
    CSS = "#feed { scrollbar-size-vertical: 1; overflow-x: hidden; }"  # as the app's (app.tcss)

    def __init__(self) -> None:
        super().__init__()
        self.store = FeedStore()
        self.names: dict[str, str] = {OURS: "production"}
        self.now = NOW

    def compose(self) -> ComposeResult:
        feed = EventFeed(self.store, lambda: self.now, id="feed")
        feed.environment_names = self.names
        yield feed

    def feed(self, *updates: object) -> None:
        """As the main screen paints a batch (screens/main_paint.py)."""
        batch = take_batch(
            updates, self.store, environment_names=self.names, selected=None, watched=set()
        )
        feed = self.query_one(EventFeed)
        feed.sync()
        if batch.repaint_rows:
            feed.relayout()

    def learn(self, env_id: str, key: str) -> None:
        self.names[env_id] = key  # in place, as the main screen learns names
        self.query_one(EventFeed).relayout()


def shown(feed: EventFeed) -> list[str]:
    """What a frame shows (through `render_lines`, as Textual paints)."""
    region = Region(0, 0, feed.size.width, feed.size.height)
    return [strip.text.rstrip() for strip in feed.render_lines(region)]


def line_of(feed: EventFeed, key: str) -> str:
    (line,) = [line for line in shown(feed) if key in line]
    return line


async def test_a_line_shows_the_answer_that_came_after_it_was_first_made() -> None:
    app = FeedApp()
    async with app.run_test(size=(120, 10)):
        feed = app.query_one(EventFeed)
        app.feed(value("search", True))  # known before its event
        app.feed(event("search", "1"), value("search", True, stale=True), event("other", "2"))
        assert feed.cursor_item == event("other", "2")  # the line below is not the cursor's
        assert line_of(feed, "search").endswith("evaluating…")
        change = ValueTransition("search", answer(True), answer(False), "1", NOW)
        # Published together (core/evaluation.py): the value, then the transition.
        app.feed(value("search", False), TransitionRecorded(change, False))
        assert line_of(feed, "search").endswith("true → false")


async def test_a_line_shows_a_name_learnt_after_it_was_first_made() -> None:
    app = FeedApp()
    async with app.run_test(size=(160, 10)):
        feed = app.query_one(EventFeed)
        app.feed(event("search", "1", env=OTHER), event("other", "2"))
        assert OTHER[:8] in line_of(feed, "search")
        app.learn(OTHER, "staging")
        assert "staging" in line_of(feed, "search")


async def test_relative_ages_move_and_the_time_format_changes_every_line() -> None:
    app = FeedApp()
    async with app.run_test(size=(120, 10)):
        feed = app.query_one(EventFeed)
        app.feed(event("search", "1", received=NOW - 5), event("other", "2", received=NOW - 1))
        assert "12:" not in line_of(feed, "search")  # local time, not an age
        feed.time_mode = "relative"
        assert line_of(feed, "search").startswith("5s ago")
        app.now = NOW + 60
        feed.refresh()  # as the main screen does every second in this mode
        assert line_of(feed, "search").startswith("1m ago")


async def test_a_frame_with_nothing_new_makes_no_line_anew(monkeypatch: Any) -> None:
    app = FeedApp()
    async with app.run_test(size=(120, 12)) as pilot:
        feed = app.query_one(EventFeed)
        app.feed(*(event(f"flag-{i}", str(i)) for i in range(20)))

        def newest_shown() -> bool:
            feed.follow()  # the newest rows on screen, the cursor on the last (once laid out)
            return feed.show_vertical_scrollbar and "flag-19" in shown(feed)[-1]

        await wait_for(pilot, newest_shown, what="the newest rows")
        made: list[Any] = []
        real = event_feed.row_text

        def counting(row: Any, *args: Any, **kwargs: Any) -> Any:
            made.append(row.flag_key)
            return real(row, *args, **kwargs)

        monkeypatch.setattr(event_feed, "row_text", counting)
        feed.refresh()  # painted again with nothing new (another pane's change, say)
        # The cursor's line is the last on screen: when it is made, the frame is.
        await wait_for(pilot, lambda: "flag-19" in made, what="a repaint")
        assert made == ["flag-19"]  # the cursor's line only: it is styled as selected
        made.clear()
        app.feed(event("flag-20", "20"))  # one new row: every line moves up one
        await wait_for(pilot, lambda: "flag-20" in made, what="the new row painted")
        # The old cursor's line, now unselected, and the new cursor's: every other line was
        # made for the frame before.
        assert sorted(made) == ["flag-19", "flag-20"]
        assert "flag-9 " in shown(feed)[0] and "flag-20" in shown(feed)[-1]


async def test_a_burst_frame_keeps_no_line() -> None:
    """More new rows than the screen holds: every line is new, and keeping them would only
    cost their keys (the feed at 5,000 events a second)."""
    app = FeedApp()
    async with app.run_test(size=(120, 12)):
        feed = app.query_one(EventFeed)
        # No await between a batch and its frame: nothing else paints meanwhile.
        app.feed(*(event(f"flag-{i}", str(i)) for i in range(5)))
        shown(feed)
        assert feed._keeping  # a light stream's frame keeps its lines
        app.feed(*(event(f"burst-{i}", f"b{i}") for i in range(40)))
        shown(feed)
        assert not feed._keeping and feed._lines == {}
        shown(feed)  # the next, with nothing new: kept again
        assert feed._keeping


async def test_scrolled_back_a_burst_keeps_the_lines_on_screen() -> None:
    """The user reads an older row while a burst comes: the rows on screen stay put, and their
    lines are shown again frame after frame."""
    app = FeedApp()
    async with app.run_test(size=(120, 12)):
        feed = app.query_one(EventFeed)
        app.feed(*(event(f"flag-{i}", str(i)) for i in range(20)))
        shown(feed)
        feed.move_to(3)  # the cursor up: no longer following
        assert not feed.following
        app.feed(*(event(f"burst-{i}", f"b{i}") for i in range(40)))
        shown(feed)
        assert feed._keeping


async def test_a_found_rows_line_shows_the_environment_name_learnt_after_it() -> None:
    """A change found on re-evaluation (view/found.py) is in the profile's environment: its
    line names it as the event rows do, once the name is learnt."""
    app = FeedApp()
    del app.names[OURS]  # its id is known, its key not yet
    app.store.answers.environment_id = OURS
    async with app.run_test(size=(160, 10)):
        feed = app.query_one(EventFeed)
        found = ValueTransition("search", answer(True), answer(False), None, NOW)
        app.feed(event("other", "1", env=OTHER), TransitionRecorded(found, False))
        app.feed(event("other", "2", env=OTHER))  # the cursor's: the found row's line is kept
        assert OURS[:8] in line_of(feed, "search")
        app.learn(OURS, "prod")  # no wider than the id: the columns stay as they are
        assert "prod " in line_of(feed, "search")
