"""A burst of edits whose events the stream brings late (the server answers a fetch before it
streams the events of the versions it shows): the diff that ends on the final configuration is
still tied to the event of that configuration's version, so the flag's last row carries it
(core/configs.py, core/config_ahead.py)."""

from __future__ import annotations

import asyncio

from togul_monitor.domain.events import FlagEvent
from togul_monitor.emulator.harness import EmulatorHandle

from .test_config_diffs import ENV, diffs_of, started, world_config
from .test_monitor import wait_for

FLAGS = ("checkout-v2", "new-dashboard", "dark-mode")


async def test_a_burst_streamed_late_ends_with_each_flags_diff_on_its_last_event(
    emulator: EmulatorHandle,
) -> None:
    world = emulator.world
    monitor, rec = await started(emulator, name="late")
    initial = {key: world.get_flag(ENV, key).default_value for key in FLAGS}

    def toggles(count: int) -> None:
        for _ in range(count):
            for key in FLAGS:
                flag = world.get_flag(ENV, key)
                world.update_flag(ENV, key, default_value=not flag.default_value)

    def received(key: str) -> int:
        return max((e.version or 0 for e in rec.of(FlagEvent) if e.flag_key == key), default=0)

    try:
        await asyncio.to_thread(toggles, 10)
        versions = {key: world.get_flag(ENV, key).version for key in FLAGS}
        await wait_for(lambda: all(received(k) == versions[k] for k in FLAGS), what="1st half")
        # The rest of the burst is streamed late: the fetches its first events asked for read
        # versions whose events have not come yet, once and again after the flag's interval.
        emulator.faults.stall(1.6)
        await asyncio.to_thread(toggles, 11)  # an odd count: each flag ends changed
        final = {key: world_config(world, key) for key in FLAGS}
        assert all(final[k].default_value != initial[k] for k in FLAGS)
        await wait_for(
            lambda: (
                all(received(k) == final[k].version for k in FLAGS)
                and all(monitor.flag_configs().get(k) == final[k] for k in FLAGS)
                and monitor.configs_idle()
            ),
            timeout=15,
            what="the burst settled",
        )
        for key in FLAGS:
            last = diffs_of(rec, key)[-1]
            assert last.event is not None
            # Tied to the event of the version it read, never to an older one of the burst.
            assert (last.event.version, last.diff.version) == (final[key].version,) * 2, key
            change = last.diff.changes[-1]
            assert (change.path, change.after) == ("default_value", final[key].default_value)
    finally:
        await monitor.stop()
