"""A server with churn (flags created and deleted all day) against the monitor, in both stream
forms: past `MAX_DELETED_FLAGS` (core/deleted_flags.py, lowered here) the oldest deleted flags
leave the monitor's values, said by `FlagsForgotten`; their history still reads."""

from __future__ import annotations

import asyncio

import pytest

from togul_monitor.core import deleted_flags
from togul_monitor.core.updates import FlagsForgotten
from togul_monitor.domain.events import FlagEvent
from togul_monitor.emulator.harness import EmulatorHandle

from .test_monitor import settled, started, wait_for


async def test_past_the_bound_the_oldest_deleted_flags_leave_the_snapshot(
    emulator_any: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deleted_flags, "MAX_DELETED_FLAGS", 5)
    world = emulator_any.world
    monitor, rec = await started(emulator_any)
    try:
        await wait_for(lambda: settled(monitor, "new-dashboard"), what="first value")
        live = {key for key, value in monitor.snapshot().values.items() if not value.deleted}
        keys = [f"churn-{i}" for i in range(8)]
        for key in keys:
            await asyncio.to_thread(world.create_flag, "production", key)
        # Answered before they go: an answer then would be a 404, a deletion out of order.
        await wait_for(lambda: all(settled(monitor, key) for key in keys), what="their values")
        for key in keys:
            await asyncio.to_thread(world.delete_flag, "production", key)

        def deleted() -> set[str]:
            return {key for key, value in monitor.snapshot().values.items() if value.deleted}

        await wait_for(lambda: deleted() == set(keys[3:]), what="the newest five deleted kept")
        await wait_for(monitor.evaluations_idle, what="idle")
        values = monitor.snapshot().values
        assert not set(keys[:3]) & set(values)  # forgotten: no late answer brought them back
        assert live <= {key for key, value in values.items() if not value.deleted}

        def said() -> list[str]:
            return [key for update in rec.of(FlagsForgotten) for key in update.keys]

        # The snapshot changes before its updates reach a reader, and a batch may say only some.
        await wait_for(lambda: len(said()) >= 3, what="the updates")
        assert said() == keys[:3]  # each once, the oldest first
        # The journal and the event log keep what they have: the history still reads.
        history = monitor.history(keys[0])
        types = [entry.type for entry in history if isinstance(entry, FlagEvent)]
        assert types == ["flag.deleted", "flag.created"]
    finally:
        await monitor.stop()
