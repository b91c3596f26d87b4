"""An event the server replayed after an outage is marked in the feed's row and said in its
detail (domain/history.py `Replays`, the rule `history` and `tail` use): the row's time is when
it was received, after the outage it happened in."""

from __future__ import annotations

from textual.geometry import Region

from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.screens.event_detail import EventDetailScreen, detail_text
from togul_monitor.ui.view.feed_layout import row_text
from togul_monitor.ui.view.feed_store import FeedStore
from togul_monitor.ui.widgets.event_feed import EventFeed

from .helpers import inject_rows, make_app, make_profile, wait_for, wait_live

T = 1_700_000_000.0
OUTAGE = Outage(T, T + 60, 1, False, T + 60.2)


def event(version: int, timestamp: float, received_at: float) -> FlagEvent:
    return FlagEvent(
        "flag.updated", "checkout-v2", "env", version, timestamp, str(version), received_at
    )


def test_a_replayed_events_row_and_detail_say_so_a_live_ones_do_not() -> None:
    store = FeedStore()
    store.answers.reset(evaluates=False)
    replayed, live = event(16, T + 30, T + 60.3), event(17, T + 60, T + 60.3)
    for row in (OUTAGE, replayed, live):
        store.add_row(row)

    def says(row: FlagEvent) -> str:
        return row_text(row, 80, time_mode="utc", now=0.0, environment_names={}, store=store).plain

    assert "replayed · not evaluated" in says(replayed)
    assert "replayed" not in says(live)  # stamped in the reconnect's second: maybe live
    detail = detail_text(replayed, (), "utc", replayed=store.replays.outage_of(replayed)).plain
    assert "replayed    re-sent after the outage 22:13:20Z–22:14:20Z" in detail
    assert "replayed" not in detail_text(live, (), "utc").plain.split("event JSON")[0]
    # A new monitor (a switch) starts from its own outages.
    store.attach(store.source, 0)
    assert store.replays.outage_of(replayed) is None


async def test_the_feed_marks_a_replayed_event_at_80_columns(emulator: EmulatorHandle) -> None:
    app = make_app(make_profile(emulator, watch=()))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_live(pilot, app)
        now = app.clock()
        outage = Outage(now - 60, now - 1, 1, False, now)
        replayed = FlagEvent("flag.updated", "checkout-v2", "env", 7, now - 30, "9", now + 0.1)
        received = app.main.store.received
        inject_rows(app, [outage, replayed])
        await wait_for(pilot, lambda: app.main.store.received == received + 1, what="the event")
        await pilot.pause()
        feed = app.main.query_one(EventFeed)
        region = Region(0, 0, feed.size.width, feed.size.height)
        lines = [strip.text.rstrip() for strip in feed.render_lines(region)]
        row, *expanded = [line for line in lines if "checkout-v2" in line]
        assert "replayed · " in row, lines
        assert expanded and "replayed · " in expanded[0]  # the selected row, whole under it
        assert len(row) <= 80
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EventDetailScreen), what="detail")
        assert "re-sent after the outage" in app.screen.body.plain
