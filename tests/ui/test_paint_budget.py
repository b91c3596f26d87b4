"""A paint costs the same at any rate: it takes the newest rows that fit its budget into the view,
counts the rest as not shown; and the screen drains when the monitor wakes it, never polling."""

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
        rendered: list[int] = []
        feed = main.feed
        render_line = feed.render_line

        def counting(y: int) -> Any:
            rendered.append(y)
            return render_line(y)

        feed.render_line = counting  # type: ignore[method-assign]
        # Hold the drains while the monitor publishes the batch: one drain takes it all.
        tick = main.pacer.tick
        main.pacer.tick = lambda: None
        before = store.received
        environment_id = emulator.credentials.environment_ids["production"]
        inject_rows(app, events(environment_id, BATCH, app.clock()))
        hub: Any = app.monitor._hub  # type: ignore[union-attr]
        await wait_for(pilot, lambda: len(hub._buffer) >= BATCH, what="the batch to be published")
        rendered.clear()
        main.pacer.tick = tick
        main.pacer.wake()  # the monitor woke the held screen already: this stands for it
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
        # A frame renders the lines on screen, not the rows received: however many frames a
        # loaded machine painted meanwhile, the lines rendered are a few screens' worth, not the
        # batch's.
        height = feed.size.height
        assert 0 < len(rendered) <= height * 10 < BATCH // 100
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


def test_the_first_wake_after_quiet_drains_at_once_and_a_busy_stream_once_a_frame() -> None:
    pace = DrainPace(busy_hz=20.0)
    assert pace.wake(100.0) == 0.0  # never drained: at once
    assert pace.wake(100.0) is None  # a drain is due: coalesced
    pace.fired(100.0)
    pace.drained(50, 100.003)  # a busy drain; the frame counts from the drain's start
    assert not pace.idle(100.5)
    # Woken right after a drain: the next waits for the frame, and more wakes add nothing.
    delay = pace.wake(100.01)
    assert delay is not None and abs(delay - 0.04) < 1e-9
    assert pace.wake(100.02) is None
    pace.fired(100.05)
    pace.drained(3, 100.06)
    # After a quiet spell the first update is drained at once, not a frame late.
    assert pace.idle(103.0)
    assert pace.wake(103.0) == 0.0


def test_a_light_stream_is_drained_a_shorter_frame_apart_than_a_busy_one() -> None:
    pace = DrainPace(busy_hz=20.0, light_hz=40.0, light_updates=4)
    assert pace.wake(10.0) == 0.0
    pace.fired(10.0)
    pace.drained(2, 10.001)  # a few updates: light, the next drain 25 ms after this one
    delay = pace.wake(10.005)
    assert delay is not None and abs(delay - 0.020) < 1e-9
    pace.fired(10.025)
    pace.drained(50, 10.03)  # a burst: 50 ms apart
    delay = pace.wake(10.03)
    assert delay is not None and abs(delay - 0.045) < 1e-9
    pace.fired(10.075)
    pace.drained(-1, 10.075)  # input went first: says nothing of the stream's weight
    assert not pace.light
    pace.fired(10.125)
    pace.drained(0, 10.13)  # nothing came: light again
    assert pace.light


async def test_an_idle_screen_drains_on_the_monitors_wake_not_on_a_timer(
    emulator: EmulatorHandle,
) -> None:
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        main, store = app.main, app.main.store
        pacer = main.pacer
        await wait_for(pilot, lambda: not pacer.pace.scheduled, what="no drain due")
        # Nothing repeats: no paint timer runs (only the one-second ages timer, which never
        # drains), so what drains next can only be a wake.
        assert not any(t.name == "paint" and t._repeat != 0 for t in main._timers)
        before, wakes, ticks = store.received, pacer.monitor_wakes, pacer.ticks
        emulator.world.update_flag("production", "checkout-v2", enabled=False)
        await wait_for(pilot, lambda: store.received > before, what="the update drained")
        assert pacer.monitor_wakes > wakes  # the monitor woke the screen...
        assert pacer.ticks > ticks  # ...which drained it
        assert pacer.ticks - ticks <= pacer.wakes  # every drain was asked for by a wake
