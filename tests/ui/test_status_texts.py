"""What the status bar and the feed say: the first frame, the hidden types, the outage marker,
a long error (each failed before its fix)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from togul_monitor.config.profiles import Profile
from togul_monitor.core import MonitorThread
from togul_monitor.domain.events import (
    ConnectionState,
    FlagEvent,
    Outage,
    Status,
    StreamCounters,
)
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.support.plain_errors import PlainError
from togul_monitor.ui.view.empty_panes import feed_empty_message
from togul_monitor.ui.view.feed_store import FeedStore
from togul_monitor.ui.view.rows import outage_text
from togul_monitor.ui.view.status import StatusInfo, status_info
from togul_monitor.ui.widgets.status_bar import render_status

from .helpers import make_app, make_profile, wait_for, wait_live
from .test_status_bar import snapshot

DNS = "connect failed: [Errno -2] Name or service not known (api.togul.example:443)"


async def test_the_first_frame_says_connecting_not_switching(emulator: EmulatorHandle) -> None:
    release = threading.Event()

    def slow_start(profile: Any, clock: Any) -> MonitorThread:
        monitor = MonitorThread(profile, clock=clock)
        real_start = monitor.start

        def start() -> None:
            release.wait(5)  # the first monitor is still starting while the screen paints
            real_start()

        monitor.start = start  # type: ignore[method-assign]
        return monitor

    app = make_app(make_profile(emulator), monitor_factory=slow_start)
    async with app.run_test(size=(120, 40)) as pilot:
        status = app.query_one("#status")
        await wait_for(pilot, lambda: app.main.feed.empty_message != "Waiting for the stream…")
        first_line = status.render_line(0).text
        feed_text = "\n".join(app.main.feed.render_line(y).text for y in range(3))
        release.set()
        assert "Connecting…" in feed_text and "Switching" not in feed_text
        assert "connecting" in first_line and "switching" not in first_line
        await wait_live(pilot, app)


@pytest.mark.parametrize(
    ("size", "expected"),
    [((120, 40), "hidden: flag.created, rule.*"), ((80, 24), "hidden f.created r.*")],
)
async def test_hidden_types_are_named(
    emulator: EmulatorHandle, size: tuple[int, int], expected: str
) -> None:
    """It said "4 type(s) hidden": which?"""
    app = make_app(make_profile(emulator))
    async with app.run_test(size=size) as pilot:
        await wait_live(pilot, app)
        await pilot.press("1", "4", "5", "6")
        status = app.query_one("#status")
        await wait_for(pilot, lambda: "hidden" in status.render_line(0).text)
        line = status.render_line(0).text
        assert expected in line and "type(s)" not in line, line


def test_one_replayed_event_is_one_event() -> None:
    outage = Outage(0.0, 5.0, replayed=1, may_have_missed=False, received_at=5.0)
    assert "1 event replayed" in outage_text(outage, "utc", 10.0)[0][1]
    outage = Outage(0.0, 5.0, replayed=2, may_have_missed=False, received_at=5.0)
    assert "2 events replayed" in outage_text(outage, "utc", 10.0)[0][1]


def test_a_long_error_uses_the_room_there_is_and_is_cut_between_words() -> None:
    info = StatusInfo(
        profile="prod",
        environment="production",
        state=ConnectionState.RETRYING,
        error=PlainError(DNS),
    )
    wide = render_status(info, width=200).plain.split("\n")[0]
    assert f"({DNS})" in wide  # room to spare: all of it (it was cut at 48 characters)
    # Short of room on the first line: a line of its own, whole when it fits, and the modes
    # (a filter, PAUSED) keep theirs.
    first, _, third = render_status(info, width=100).plain.split("\n")
    assert third == f" {DNS}" and "time local" in first and "(" not in first
    third = render_status(info, width=60).plain.split("\n")[2]
    assert len(third) <= 60 and third.endswith("…")
    cut = third[1:-1]
    assert DNS.startswith(cut) and DNS[len(cut)] == " "  # at a space, not inside "known"


def cleared_text(events: int, **fields: object) -> str:
    """What the empty feed says after `C` cleared `events`, with the monitor's snapshot."""
    store = FeedStore()
    store.received = events
    store.clear_view(0.0)
    shown = snapshot(**{"recording": False, **fields})
    live = StatusInfo(state=ConnectionState.LIVE)
    return feed_empty_message(False, live, store, "production", shown, "utc", 0.0)


def test_a_cleared_view_says_only_where_its_events_are_kept() -> None:
    recording = {"recording": True}
    said = cleared_text(2, events_in_log=2, **recording)
    assert "(the 2 events before it are kept in the event log and the journal)" in said
    # Not recording (another process records, a journal it only reads, a failed writer).
    assert "(the 2 events before it are kept in the event log)." in cleared_text(2, events_in_log=2)
    assert "journal" not in cleared_text(2, events_in_log=2, recording=True, journal_dropped=1)
    # The log trimmed the oldest of them, or all.
    said = cleared_text(300, events_in_log=100, **recording)
    assert "(the 300 events before it are kept in the journal, the newest 100 in the event" in said
    said = cleared_text(300, events_in_log=100)
    assert "(the 300 events before it: the newest 100 are kept in the event log)" in said
    assert "(the event before it is kept in the journal)" in cleared_text(1, **recording)
    assert "(the 300 events before it)." in cleared_text(300)


def test_a_paused_view_holding_events_back_blames_no_filter() -> None:
    # `C` while paused: the events that come are held back by the pause, not filtered out.
    store = FeedStore()
    store.set_paused(True)
    store.clear_view(0.0)
    store.add_row(FlagEvent("flag.updated", "f", "env", 2, 1.0, "1", 1.0))
    assert store.pending_events == 1 and not store.view
    live = StatusInfo(state=ConnectionState.LIVE)
    said = feed_empty_message(False, live, store, "production", None, "utc", 0.0)
    assert "filter" not in said and "cleared" in said


def test_paused_says_every_new_event_and_how_many_the_view_kept() -> None:
    def bar(new: int, kept: int, narrow: bool = False) -> str:
        info = StatusInfo(profile="p", paused=True, pending=kept, paused_new=new)
        return render_status(info, narrow=narrow).plain.split("\n")[0]

    assert "❚❚ PAUSED +12 new " in bar(12, 12)
    assert "PAUSED +16,600 new, the latest 5,000 kept " in bar(16_600, 5_000)
    assert "PAUSED +16,600 new, 5,000 kept " in bar(16_600, 5_000, narrow=True)


def test_with_no_monitor_the_counts_of_the_rows_still_shown_stay() -> None:
    # A profile that could not be opened stopped the monitor before: its rows are still shown
    # (not followed), and so are their counts, not zeros beside a `malformed` row.
    profile = Profile("wrongenv", "http://127.0.0.1:9", "production")
    shown = status_info(
        profile=profile,
        status=Status(ConnectionState.LIVE, at=1.0),
        switching=False,
        store=FeedStore(),
        snapshot=snapshot(
            profile_name="p", counters=StreamCounters(malformed=2, duplicates=1), dropped_updates=3
        ),
        now=2.0,
    )
    stopped = status_info(
        profile=profile,
        status=Status(ConnectionState.STOPPED, at=3.0, error="no such environment"),
        switching=False,
        store=FeedStore(),
        snapshot=None,
        now=4.0,
        before=shown,
    )
    assert (stopped.malformed, stopped.duplicates, stopped.dropped) == (2, 1, 3)
    assert stopped.rate == () and stopped.lag is None


def test_the_empty_feed_says_the_whole_reason_the_stream_is_down() -> None:
    # The status bar has room for the reason; the feed, empty, for the words that fix it.
    error = (
        "cannot connect: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
        "self-signed certificate (_ssl.c:1006)"
    )
    status = Status(ConnectionState.RETRYING, at=1.0, attempt=2, next_try_at=3.0, error=error)
    down = snapshot(profile_name="tls", status=status)
    profile = Profile("tls", "https://togul.example", "production")
    info = status_info(
        profile=profile, status=status, switching=False, store=FeedStore(), snapshot=down, now=2.0
    )
    said = feed_empty_message(False, info, FeedStore(), "production", down, "utc", 2.0)
    assert said == (
        "Disconnected: cannot trust togul.example:443: certificate refused (self-signed "
        "certificate); SSL_CERT_FILE (or SSL_CERT_DIR) may name the CA that signed it. "
        "Retrying (the status bar says when)."
    )
    assert info.error is not None
    assert info.error.brief == "certificate refused (self-signed certificate): togul.example:443"
    # The next attempt keeps the reason (the bar keeps it too: `keep_last_error`).
    again = Status(ConnectionState.CONNECTING, at=3.0)
    info = status_info(
        profile=profile,
        status=again,
        switching=False,
        store=FeedStore(),
        snapshot=snapshot(profile_name="tls", status=again),
        now=3.0,
        before=info,
    )
    said = feed_empty_message(False, info, FeedStore(), "production", None, "utc", 3.0)
    assert said.startswith("Disconnected: cannot trust togul.example:443: certificate refused")
    assert said.endswith("signed it. Connecting again…")


def test_a_server_that_does_not_answer_is_said_from_the_profiles_start_on() -> None:
    profile = Profile("silent", "http://127.0.0.1:9", "production")
    opened = Status(ConnectionState.CONNECTING, at=100.0)  # the screen's, as the profile opens

    def info_at(now: float, shown: object = None, before: StatusInfo | None = None) -> StatusInfo:
        return status_info(
            profile=profile,
            status=opened,
            switching=False,
            store=FeedStore(),
            snapshot=shown,  # type: ignore[arg-type]
            now=now,
            before=before,
        )

    assert info_at(102.0).no_answer is None  # a moment: nothing to say
    starting = info_at(104.0)  # the start's checks, before the monitor has a snapshot
    assert starting.no_answer == 4.0
    assert "◌ connecting · no answer 4s" in render_status(starting, width=80).plain
    said = feed_empty_message(False, starting, FeedStore(), "production", None, "utc", 104.0)
    assert said == "Connecting… no answer for 4 s yet."
    # The first attempt begins later: the count goes on from the start, it does not begin again.
    attempt = snapshot(profile_name="silent", status=Status(ConnectionState.CONNECTING, at=105.0))
    assert info_at(110.0, attempt, before=starting).no_answer == 10.0
    # An answer (connected, no data yet) or a failure ends it; the next attempt counts anew.
    failed = Status(ConnectionState.RETRYING, at=190.0, attempt=1, error="no data for 90 s")
    down = info_at(191.0, snapshot(profile_name="silent", status=failed), before=starting)
    assert down.no_answer is None and "no answer" not in render_status(down, width=120).plain
    again = snapshot(profile_name="silent", status=Status(ConnectionState.CONNECTING, at=195.0))
    waited = info_at(199.0, again, before=down)
    assert waited.no_answer == 4.0
    # `r` starts another attempt at once (the stream's reconnect count moves): counted anew.
    counters = StreamCounters(reconnects=1)
    restarted = Status(ConnectionState.CONNECTING, at=200.0)
    after_r = snapshot(profile_name="silent", status=restarted, counters=counters)
    assert info_at(204.0, after_r, before=waited).no_answer == 4.0
