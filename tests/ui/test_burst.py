"""A 10,000-event burst: every event is accounted for, and keys are handled during it."""

from __future__ import annotations

import asyncio

from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.filters import parse_filter
from togul_monitor.emulator.harness import running_emulator
from togul_monitor.ui.widgets.filter_bar import FilterBar

from .helpers import accounted, make_app, make_profile, wait_for, wait_live

BURST = 10_000


def publish_burst(world) -> None:  # type: ignore[no-untyped-def]
    for i in range(BURST):
        key = "checkout-v2" if i % 2 else "new-dashboard"
        world.update_flag("production", key, enabled=bool(i % 4 < 2))


async def test_a_10000_event_burst_is_fully_accounted_for() -> None:
    with running_emulator(seed=0, heartbeat=0.2, replay=BURST * 2, max_pending=BURST * 2) as emu:
        app = make_app(make_profile(emu), view_size=2_000)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_live(pilot, app)
            app.main.post_message(FilterBar.Applied(parse_filter("flag:checkout-*")))
            await wait_for(pilot, lambda: app.main.filter.text == "flag:checkout-*")
            burst = asyncio.create_task(asyncio.to_thread(publish_burst, emu.world))
            await wait_for(pilot, lambda: app.main.store.received > 0, what="the burst to arrive")
            received_at_press = app.main.store.received
            await pilot.press("t")  # a key during the burst is handled at once
            assert app.main.time_mode == "utc"
            await burst
            await wait_for(
                pilot, lambda: app.main.store.received == BURST, timeout=30, what="every event"
            )
            assert received_at_press < BURST
            store = app.main.store
            # The bounded view: full, unless so few paints took the burst that their row budget
            # (400 each) left out more (a loaded machine paints less often).
            assert 0 < store.shown == len(store.view) <= 2_000
            # new-dashboard events are hidden by the filter (counted as filtered even when a
            # paint left them out under its row budget); the other rows that did not fit are
            # counted among the trimmed.
            assert store.filtered == BURST // 2
            assert store.trimmed == BURST // 2 - store.shown
            assert all(
                type(row) is FlagEvent and row.flag_key == "checkout-v2" for row in store.view
            )
            assert accounted(app)
            snap = app.monitor.snapshot()
            assert snap.dropped_updates == 0 and snap.counters.events == BURST
            # Refiltering the store (10,000 events) goes through a worker and stays exact.
            await pilot.press("slash")
            app.query_one(FilterBar).input.value = "new-dash"
            await wait_for(
                pilot,
                lambda: (
                    store.view
                    and all(
                        isinstance(i, FlagEvent) and i.flag_key == "new-dashboard"
                        for i in store.view
                    )
                ),
                what="the refiltered view",
            )
            assert store.filtered == BURST // 2 and store.shown == 2_000
            assert accounted(app)
