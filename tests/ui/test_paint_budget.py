"""A paint costs the same at any rate: it takes the newest rows that fit its budget into the view,
counts the rest as not shown, and the drain slows down when nothing arrives."""

from __future__ import annotations

import asyncio
from typing import Any

from togul_monitor.core import MonitorThread
from togul_monitor.domain.events import FlagEvent
from togul_monitor.emulator.harness import EmulatorHandle, running_emulator
from togul_monitor.ui.screens.main_paint import FRAME_ROWS
from togul_monitor.ui.view.pace import DrainPace
from togul_monitor.ui.widgets.status_bar import render_status

from .helpers import accounted, inject_rows, make_app, make_profile, wait_for, wait_live

BATCH = 50_000


def roomy_monitor(profile: Any, clock: Any) -> MonitorThread:
    """The real monitor, with room for the whole batch in its drain buffer (none dropped)."""
    return MonitorThread(profile, clock=clock, max_pending=2 * BATCH)


def events(environment_id: str, count: int, now: float) -> list[FlagEvent]:
    return [
        FlagEvent("flag.updated", f"burst-{i % 40}", environment_id, 10_000 + i, now, None, now)
        for i in range(count)
    ]


async def test_a_50000_row_batch_paints_the_visible_rows_and_counts_the_rest(
    emulator: EmulatorHandle,
) -> None:
    app = make_app(make_profile(emulator), monitor_factory=roomy_monitor)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        main, store = app.main, app.main.store
        await wait_for(pilot, lambda: main.pacer.timer is not None)
        rendered: list[int] = []
        feed = main.feed
        render_line = feed.render_line

        def counting(y: int) -> Any:
            rendered.append(y)
            return render_line(y)

        feed.render_line = counting  # type: ignore[method-assign]
        # Hold the paint timer while the monitor publishes the batch: one drain takes it all.
        main.pacer.timer.pause()  # type: ignore[union-attr]
        before = store.received
        environment_id = emulator.credentials.environment_ids["production"]
        inject_rows(app, events(environment_id, BATCH, app.clock()))
        hub: Any = app.monitor._hub  # type: ignore[union-attr]
        await wait_for(pilot, lambda: len(hub._buffer) >= BATCH, what="the batch to be published")
        rendered.clear()
        main.pacer.timer.resume()  # type: ignore[union-attr]
        await wait_for(pilot, lambda: store.received >= before + BATCH, what="the drain")
        await wait_for(pilot, lambda: rendered, what="a frame")
        await pilot.pause()

        # The newest rows that fit the budget are in the view; the rest are counted, not shown.
        assert store.received - before == BATCH
        assert store.skipped == BATCH - FRAME_ROWS
        newest = [row for row in store.view if type(row) is FlagEvent][-FRAME_ROWS:]
        last = 10_000 + BATCH
        assert [row.version for row in newest] == list(range(last - FRAME_ROWS, last))
        assert accounted(app)
        # A frame renders the lines on screen, not the rows received.
        height = feed.scrollable_content_region.height
        assert 0 < len(rendered) <= height * 2  # at most a frame or two of visible lines
        # The status bar counts them: they are trimmed (in the log, not in the view).
        main.paint_texts()
        info = main.painter.status_bar.info
        assert info is not None and info.trimmed >= BATCH - FRAME_ROWS
        counts = render_status(info, 200).plain.split()
        assert counts[counts.index("shown") + 1] == str(store.shown)
        assert str(info.trimmed) in counts


async def test_every_event_of_a_burst_is_shown_or_counted_as_not_shown() -> None:
    burst = 3_000
    with running_emulator(seed=0, heartbeat=0.2, replay=burst * 2, max_pending=burst * 2) as emu:
        app = make_app(make_profile(emu))
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_live(pilot, app)
            store = app.main.store
            app.main.painter.frame_rows = 40  # a small budget: the burst outruns it
            before = store.received

            def publish() -> None:
                for i in range(burst):
                    emu.world.update_flag("production", "checkout-v2", enabled=bool(i % 2))

            await asyncio.to_thread(publish)
            await wait_for(
                pilot, lambda: store.received - before == burst, timeout=30, what="every event"
            )
            assert store.skipped > 0  # the budget left some out of the view...
            shown = sum(1 for row in store.view if type(row) is FlagEvent)
            assert shown == store.shown
            # ...and every one is accounted for: shown, or counted as not shown.
            assert store.shown + store.trimmed + store.filtered + store.pending_events == (
                store.received
            )
            assert accounted(app)


def test_the_drain_slows_down_when_idle_and_speeds_up_on_the_first_update() -> None:
    pace = DrainPace(busy_hz=20.0, idle_hz=4.0, idle_after=2.0)  # not the defaults: any rates
    assert pace.interval == 1 / 20
    changes = 0
    for tick in range(40):  # 1.95 s of empty drains at 20 Hz: still busy
        changes += pace.drained(0, 100.0 + tick / 20)
    assert changes == 0 and not pace.idle
    now = 102.0
    assert pace.drained(0, now)  # 2 s without an update: the interval changes
    assert pace.idle and pace.interval == 1 / 4
    # Idle, the drains are 4 a second: a quiet minute is 240 drains, not 1,200.
    drains, t = 0, now + 0.25
    while t < now + 60:
        assert not pace.drained(0, t)
        drains += 1
        t += pace.interval
    assert drains <= 241
    assert pace.drained(3, t)  # the first update: at once back to the paint rate
    assert pace.interval == 1 / 20 and not pace.idle
    assert not pace.drained(0, t + 0.05)  # a short pause does not slow it down again


async def test_an_idle_screen_slows_its_paint_timer(emulator: EmulatorHandle) -> None:
    app = make_app(make_profile(emulator))
    fake = [0.0]
    moving = [False]

    def clock() -> float:  # half a second a drain, once the test lets it move
        fake[0] += 0.5 if moving[0] else 0.0
        return fake[0]

    app.main.pacer.clock = clock
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        pacer = app.main.pacer
        await wait_for(pilot, lambda: pacer.timer is not None)
        assert not pacer.idle  # the clock stands still: never quiet long enough
        moving[0] = True  # the drains that follow see a quiet stream (heartbeats only)
        await wait_for(pilot, lambda: pacer.idle, what="the drain to slow down")
        assert pacer.timer is not None and pacer.timer._interval == 1 / pacer.pace.idle_hz
        emulator.world.update_flag("production", "checkout-v2", enabled=False)
        await wait_for(pilot, lambda: not pacer.idle, what="the drain to speed up")
        assert pacer.timer._interval == 1 / pacer.pace.busy_hz
