"""The monitor keeps an outage proved whole after it was reported (client/outages.py,
`OutageProven`) as one outage, revised: in its event log, its history and its journal's row."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.test_monitor import settled, started, wait_for
from togul_monitor.client import outages
from togul_monitor.domain.events import Outage, OutageProven
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.store.journal import journal_path
from togul_monitor.store.sqlite.reader import read_outages

FLAG = "new-dashboard"


async def test_a_quiet_reconnect_proved_whole_is_revised_where_it_is_kept(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outages, "DECISION_DELAY", 0.1)
    monitor, rec = await started(emulator)
    try:
        await wait_for(lambda: settled(monitor, FLAG), what="first value")
        await asyncio.to_thread(emulator.world.update_flag, "production", FLAG, enabled=False)
        await wait_for(lambda: monitor.events(), what="the first event")
        monitor.restart_stream()
        await wait_for(lambda: rec.of(Outage), what="the outage, reported without proof")
        (reported,) = rec.of(Outage)
        assert reported.may_have_missed is True
        await asyncio.to_thread(emulator.world.update_flag, "production", FLAG, enabled=True)
        await wait_for(lambda: rec.of(OutageProven), what="the proof")
        (proven,) = rec.of(OutageProven)
        assert proven.reported == reported
        rows, _ = monitor.rows_since(0)
        assert [row for row in rows if isinstance(row, Outage)] == [proven.outage]
        (outage,) = [h for h in monitor.history(FLAG) if isinstance(h, Outage)]  # one row
        assert outage.received_at == reported.received_at and not outage.may_have_missed
    finally:
        await monitor.stop()
    (kept,) = read_outages(journal_path("test"))  # its row updated, no second one
    assert (kept.started_at, kept.received_at, kept.may_have_missed) == (
        reported.started_at,
        reported.received_at,
        False,
    )
