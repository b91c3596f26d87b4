"""Watched-flag notifications: named, real changes only, and one per flag per few seconds."""

from __future__ import annotations

import time
from typing import Any

from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.view.rings import WatchRings

from .helpers import make_app, make_profile, wait_for, wait_live


def ev(value: object, reason: str = "default", enabled: bool = True) -> Evaluation:
    return Evaluation(value, "boolean", reason, enabled)


def change(before: Evaluation | None, after: Evaluation | None, key: str = "f") -> ValueTransition:
    return ValueTransition(key, before, after, None, 0.0)


def test_only_value_changes_ring_and_a_burst_rings_once_then_counts() -> None:
    now = [100.0]
    rings = WatchRings("prod / production", window=5.0, clock=lambda: now[0])
    rings.add(change(ev(False, "default"), ev(False, "disabled", False)))  # reason only
    assert rings.due() == []
    rings.add(change(ev(False), ev(True)))
    first = rings.due()
    assert [r.message for r in first] == ["prod / production · f: false → true"]
    for value in (False, True, False):
        rings.add(change(ev(not value), ev(value)))
    assert rings.due() == []  # counted, not shown, inside the window
    now[0] += 5.0
    (summary,) = rings.due()
    assert summary.changes == 3
    assert summary.message == "prod / production · f: 3 more changes in 5s, now false"
    now[0] += 5.0
    assert rings.due() == []  # a quiet window closes
    rings.add(change(ev(True), None))  # deleted: a real change, and the window was closed
    assert [r.message for r in rings.due()] == ["prod / production · f: true → deleted"]
    rings.add(change(None, ev("blue"), key="g"))  # another flag has a window of its own
    assert [r.message for r in rings.due()] == ['prod / production · g: ∅ → "blue"']


async def test_a_flapping_watched_flag_does_not_pile_up_notifications(
    emulator: EmulatorHandle,
) -> None:
    app = make_app(make_profile(emulator, watch=("new-dashboard", "checkout-v2")))
    notes: list[tuple[float, str, str]] = []
    async with app.run_test(size=(120, 40)) as pilot:
        original_notify = app.notify

        def notify(message: str, **kwargs: Any) -> None:
            notes.append((time.monotonic(), str(kwargs.get("title", "")), message))
            original_notify(message, **kwargs)

        app.notify = notify  # type: ignore[method-assign]
        app.bell = lambda: None  # type: ignore[method-assign]
        await wait_live(pilot, app)
        values = app.main.values_table.values
        await wait_for(
            pilot,
            lambda: all(values.get(k) and values[k].current for k in WATCHED),
            what="both values",
        )
        # Shorter than the default, so the test is short; longer than the monitor's pacing of
        # one flag's re-evaluations (about one a second, core/reevaluate.py), so it collapses.
        window = app.main.painter.rings.window = 2.5
        # checkout-v2 is false for this context whether enabled or not: "false → false".
        for enabled in (False, True, False, True):
            emulator.world.update_flag("production", "checkout-v2", enabled=enabled)
        # new-dashboard flips for real, six times, each waited for (so none is coalesced).
        for n, enabled in enumerate((False, True) * 3, 1):
            emulator.world.update_flag("production", "new-dashboard", enabled=enabled)
            await wait_for(pilot, lambda n=n: flips(app) == n, what=f"change {n}")

        def rang() -> list[tuple[float, str]]:
            return [(at, m) for at, title, m in notes if title == "watched flag changed"]

        def reported() -> int:
            return sum(
                1 if "more change" not in m else int(m.split(": ")[1].split()[0]) for _, m in rang()
            )

        await wait_for(pilot, lambda: reported() == 6, timeout=10, what="every change counted")
        assert rang()[0][1] == "test-production / production · new-dashboard: true → false"
        assert not any("checkout-v2" in m for _, m in rang())  # false → false never rings
        assert rang()[-1][1].endswith("now true") and "more change" in rang()[-1][1]
        times = [at for at, _ in rang()]
        # No pile: one toast per window at most, however fast the flag flips.
        assert all(b - a >= 0.9 * window for a, b in zip(times, times[1:], strict=False))
        assert len(times) < 6 and any(m.split(": ")[1][0] in "23456" for _, m in rang())


def flips(app: Any) -> int:
    return sum(t.flag_key == "new-dashboard" for t in app.main.store.changes.held())


WATCHED = ("new-dashboard", "checkout-v2")
