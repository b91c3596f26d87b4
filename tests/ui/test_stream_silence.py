"""A live stream that stalls says so on the status bar long before the read timeout (3
heartbeats) ends it: `● live · no data 40s`, counted from its last sign of life, whatever it was
(view/status.py `silence`), once its heartbeat is overdue: a burst that ends is not a stall."""

from __future__ import annotations

import dataclasses

from msgspec.structs import replace

from togul_monitor.core import MonitorSnapshot
from togul_monitor.domain.events import ConnectionState, Status, StreamCounters
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.view.status import StatusInfo, silence
from togul_monitor.ui.widgets.status_bar import render_status

from .helpers import make_app, make_profile, wait_for, wait_live

LIVE = Status(ConnectionState.LIVE, at=0.0)


def snapshot(alive: float | None, rates: tuple[int, ...] = (), **fields: object) -> MonitorSnapshot:
    base = MonitorSnapshot(
        profile_name="p",
        environment_key="production",
        status=LIVE,
        last_heartbeat_at=None,
        counters=StreamCounters(),
        trimmed=0,
        dropped_updates=0,
        last_alive_at=alive,
        events_per_second=rates,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def test_a_quiet_stream_is_silent_only_once_its_heartbeat_is_overdue() -> None:
    quiet = snapshot(1_000.0, (0,) * 60)
    assert silence(quiet, 30.0, 1_034.0) is None  # a heartbeat may still be on its way
    assert silence(quiet, 30.0, 1_036.0) == 36.0
    assert silence(snapshot(None), 30.0, 1_036.0) is None  # never live
    retrying = snapshot(1_000.0, status=Status(ConnectionState.RETRYING, at=1.0))
    assert silence(retrying, 30.0, 1_100.0) is None  # the bar says retrying instead


def test_a_burst_that_ends_is_not_a_silence_until_the_heartbeat_is_overdue() -> None:
    # 20 events a second for a minute, then nothing: the end of a deploy's changes. The server
    # owes nothing but its heartbeat meanwhile, so nothing is in doubt before that is late.
    for quiet in (7, 20, 34):
        burst = snapshot(1_000.0, (20,) * (60 - quiet) + (0,) * quiet)
        assert silence(burst, 30.0, 1_000.0 + quiet) is None
    burst = snapshot(1_000.0, (20,) * 24 + (0,) * 36)
    assert silence(burst, 30.0, 1_036.0) == 36.0


def test_the_bar_says_how_long_the_live_stream_has_sent_nothing() -> None:
    info = StatusInfo(profile="inc", environment="production", state=ConnectionState.LIVE)
    assert "no data" not in render_status(info, width=80).plain
    info.silent = 41.5
    first = render_status(info, narrow=True, width=80).plain.split("\n")[0]
    assert first.startswith(" inc / production  ● live · no data 41s"), first


async def test_a_stalled_stream_shows_no_data_before_the_read_timeout(
    emulator: EmulatorHandle,
) -> None:
    # The profile expects a heartbeat every 1.2 s (read timeout 3.6 s): silent after 1.8 s.
    profile = dataclasses.replace(make_profile(emulator), heartbeat_seconds=1.2)
    app = make_app(profile)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_live(pilot, app)
        status = app.main.painter.status_bar
        assert status.info.silent is None
        emulator.faults.stall(3.0)
        await wait_for(
            pilot, lambda: status.info.silent is not None, timeout=3.0, what="no data said"
        )
        assert "● live · no data " in status.render().plain
        assert app.monitor is not None
        assert app.monitor.snapshot().status.state is ConnectionState.LIVE  # not timed out
        await wait_for(pilot, lambda: status.info.silent is None, timeout=5.0, what="data again")
