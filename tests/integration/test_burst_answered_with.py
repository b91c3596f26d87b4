"""Two edits of a flag sent back to back against the emulator: one re-evaluation answers both,
so the first event's own effect was never observed, and nothing may call it "unchanged"."""

from __future__ import annotations

import asyncio

from tests.integration.test_monitor import Recorder, make_profile, wait_for
from tests.integration.test_monitor_contexts import settled
from togul_monitor.core import Monitor
from togul_monitor.domain.events import FlagEvent
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.view.batch import take_batch
from togul_monitor.ui.view.feed_layout import row_text
from togul_monitor.ui.view.feed_store import FeedStore

FLAG = "checkout-v2"
CONTEXTS = {"default": {"user_id": "monitor"}, "free": {"user_id": "u-2", "plan": "free"}}


def _settled(monitor: Monitor) -> bool:
    return settled(monitor, FLAG, CONTEXTS)


async def _burst(emulator: EmulatorHandle) -> tuple[list[FlagEvent], Recorder, Monitor]:
    """Rollout 10 → 60 → 10 % sent back to back; the monitor, once it has answered."""
    world = emulator.world
    world.update_rule("production", FLAG, 1, rollout_percentage=10)  # before the monitor
    profile = make_profile(emulator, context={}, contexts=CONTEXTS, watch=(FLAG,))
    monitor = Monitor(profile)
    recorder = Recorder(monitor)
    await monitor.start()
    recorder.start()
    await wait_for(lambda: emulator.open_streams == 1, what="stream open")
    await wait_for(lambda: _settled(monitor), what="a first value in every context")

    def edits() -> None:
        for percentage in (60, 10):
            world.update_rule("production", FLAG, 1, rollout_percentage=percentage)

    await asyncio.to_thread(edits)

    def events() -> list[FlagEvent]:
        return [e for e in recorder.of(FlagEvent) if e.flag_key == FLAG]

    await wait_for(lambda: len(events()) == 2 and _settled(monitor), what="both answered")
    return events(), recorder, monitor


async def test_the_first_of_two_edits_evaluated_together_is_not_called_unchanged(
    emulator: EmulatorHandle,
) -> None:
    (first, second), recorder, monitor = await _burst(emulator)
    try:
        store = FeedStore()
        store.answers.reset(evaluates=True, contexts=tuple(CONTEXTS))
        take_batch(recorder.items, store, environment_names={}, selected=None, watched=set())

        def says(row: FlagEvent) -> str:
            return row_text(
                row, 200, time_mode="utc", now=0.0, environment_names={}, store=store
            ).plain

        assert says(first).endswith("evaluated with the next change"), says(first)
        assert "unchanged" not in says(first)
    finally:
        await monitor.stop()
