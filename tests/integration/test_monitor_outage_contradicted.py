"""An outage the stream's ids would prove whole, while the values asked again after it found a
change no event explains: the proof is not taken (docs/stream-client.md, "Outages and gaps").

A server killed and started again numbers its events from 1: once it has numbered the client's
last id `L` before the client is back, the client's `Last-Event-ID: L` replays nothing and the
next event, `L + 1` of the new life, looks like the continuation. The change the re-evaluation
found meanwhile, of an event the client never got, says otherwise. Over a real loopback socket,
the server restarted on the same port."""

from __future__ import annotations

import asyncio
import contextlib
import threading

import pytest

from tests.integration.test_monitor import settled, started, wait_for
from togul_monitor.client import outages
from togul_monitor.domain.events import Outage, OutageProven
from togul_monitor.domain.values import ValueTransition
from togul_monitor.emulator.harness import running_emulator
from togul_monitor.store.journal import journal_path
from togul_monitor.store.sqlite.reader import read_outages

FLAG = "new-dashboard"  # true for the monitor's context (plan premium) while enabled
OTHER = "dark-mode"  # a flag of which the monitor never saw an event


async def test_a_change_no_event_explains_keeps_the_outage_one_that_may_have_missed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outages, "DECISION_DELAY", 0.1)

    def value(wanted: bool) -> bool:
        found = monitor.values().get(FLAG)
        return (
            settled(monitor, FLAG)
            and found is not None
            and found.current is not None
            and (found.current.value is wanted)
        )

    with contextlib.ExitStack() as lives:
        emu = lives.enter_context(running_emulator(seed=0, heartbeat=0.2, ids=True))
        port = int(emu.base_url.rsplit(":", 1)[1])
        monitor, rec = await started(emu)
        try:
            await wait_for(lambda: value(True), what="the first value")
            await asyncio.to_thread(emu.world.update_flag, "production", FLAG, enabled=False)
            await wait_for(lambda: value(False) and monitor.events(), what="the change")
            assert [e.event_id for e in monitor.events()] == ["1"]  # L = 1
            await asyncio.to_thread(lives.close)  # killed: the new life is seeded afresh
            go = threading.Event()
            emu = await asyncio.to_thread(
                lives.enter_context,
                running_emulator(seed=0, heartbeat=0.2, ids=True, port=port, serve_after=go),
            )
            # The new life numbers L events before the monitor is back (its id 1: lost).
            emu.world.update_flag("production", FLAG, enabled=True)
            go.set()
            await wait_for(lambda: rec.of(Outage), what="the outage")
            (reported,) = rec.of(Outage)
            assert reported.may_have_missed  # nothing came within DECISION_DELAY
            await wait_for(lambda: value(True), what="the change found on re-evaluation")
            found = [t for t in monitor.history(FLAG) if isinstance(t, ValueTransition)]
            assert [(t.event_id, t.includes_unseen) for t in found] == [(None, True), ("1", False)]
            await asyncio.to_thread(emu.world.update_flag, "production", OTHER, enabled=False)
            await wait_for(lambda: len(monitor.events()) == 2, what="the event L + 1")
            assert monitor.events()[-1].event_id == "2"
            # The proof would have come right before that event: it is not taken.
            rows, _ = monitor.rows_since(0)
            assert [row for row in rows if isinstance(row, Outage)] == [reported]
            (kept,) = [h for h in monitor.history(FLAG) if isinstance(h, Outage)]
            assert kept.may_have_missed
            assert not rec.of(OutageProven)
        finally:
            await monitor.stop()
    (journalled,) = read_outages(journal_path("test"))
    assert journalled.may_have_missed
