"""Events the monitor cannot attribute to one flag (both stream forms): like the official SDKs,
it takes them as "something changed" and re-evaluates every value; data that is not even a JSON
object is only counted and shown."""

from __future__ import annotations

import asyncio
import json
import time

from togul_monitor.core import TransitionRecorded
from togul_monitor.domain.events import Malformed
from togul_monitor.domain.values import Evaluation
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.view.rows import marker_items

from .test_monitor import expected, settled, started, wait_for


def malformed_rows(monitor: object) -> list[Malformed]:
    rows, _ = monitor.rows_since(0)  # type: ignore[attr-defined]
    return [r for r in rows if isinstance(r, Malformed)]


async def test_an_event_without_flag_key_re_evaluates_every_value(
    emulator_any: EmulatorHandle,
) -> None:
    monitor, rec = await started(emulator_any, watch=("new-dashboard", "checkout-v2"))
    try:
        for flag in ("new-dashboard", "checkout-v2"):
            await wait_for(lambda f=flag: settled(monitor, f), what=f"{flag} first value")
        counters = monitor.evaluator.counters  # type: ignore[union-attr]
        asked = counters.requests
        # Data that is no JSON object: counted and shown, nothing asked.
        emulator_any.faults.emit_malformed("not json")
        await wait_for(lambda: len(malformed_rows(monitor)) == 1, what="the first row")
        await wait_for(monitor.evaluations_idle, what="idle")
        assert counters.requests == asked
        # A change whose event names no flag: the server says "something changed".
        await asyncio.to_thread(
            emulator_any.world.update_flag,
            "production",
            "new-dashboard",
            enabled=False,
            publish=False,
        )
        production = emulator_any.credentials.environment_ids["production"]
        emulator_any.faults.emit_malformed(
            json.dumps({"type": "flag.updated", "environment_id": production, "version": 2})
        )
        await wait_for(lambda: rec.of(TransitionRecorded), what="the change found")
        (recorded,) = rec.of(TransitionRecorded)
        assert recorded.transition.flag_key == "new-dashboard"
        assert recorded.transition.after == Evaluation(False, "boolean", "disabled", False)
        await wait_for(lambda: settled(monitor, "checkout-v2"), what="settled")
        assert counters.requests == asked + 2  # every monitored flag, once
        assert monitor.values()["checkout-v2"].current == expected(emulator_any, "checkout-v2")
        # Still a counted, shown row, and the feed says what the monitor did with it.
        plain, unusable = malformed_rows(monitor)
        assert (plain.re_evaluate, unusable.re_evaluate) == (False, True)
        assert monitor.snapshot().counters.malformed == 2
        (item,) = marker_items(unusable)
        assert item.marker == "malformed"
        assert item.text.startswith(
            "unusable event (missing fields flag_key, timestamp): every value re-evaluated · "
        )
        assert marker_items(plain)[0].text.startswith("malformed event skipped: not JSON")
    finally:
        await monitor.stop()


async def test_a_flood_of_unusable_events_costs_at_most_one_re_evaluation_a_second(
    emulator_any: EmulatorHandle,
) -> None:
    monitor, rec = await started(emulator_any)
    try:
        await wait_for(lambda: settled(monitor, "new-dashboard"), what="first value")
        counters = monitor.evaluator.counters  # type: ignore[union-attr]
        asked = counters.requests
        started_at = time.monotonic()
        for _ in range(50):
            emulator_any.faults.emit_malformed('{"type": "flag.updated"}')
        await wait_for(lambda: len(malformed_rows(monitor)) == 50, what="50 rows")
        # One at once, one when the second is over (it covers the events since the first).
        await wait_for(lambda: counters.requests == asked + 2, what="the trailing one")
        await wait_for(monitor.evaluations_idle, what="idle")
        elapsed = time.monotonic() - started_at
        assert counters.requests - asked <= 1 + int(elapsed) + 1
        assert all(r.re_evaluate for r in malformed_rows(monitor))
    finally:
        await monitor.stop()
