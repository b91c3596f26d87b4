"""A token's stream carries every environment, and a server with ids numbers them all in one
sequence: a run of a token profile resumed from its journal is proved whole by the replay
whatever environment the journal's last event and the first replayed one are of
(docs/stream-client.md). Two recording runs against the emulator with ids over loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from togul_monitor.core import Monitor
from togul_monitor.domain.events import ConnectionState, Outage
from togul_monitor.emulator.harness import EmulatorHandle

from .test_monitor import Recorder, make_profile, wait_for


@pytest.mark.parametrize(
    "first_run",
    [("production", "staging"), ("staging",)],
    ids=["last-of-another-environment", "only-another-environment"],
)
async def test_a_token_profile_resumed_from_its_journal_is_proved_whole_by_consecutive_ids(
    emulator: EmulatorHandle, tmp_path: Path, first_run: tuple[str, ...]
) -> None:
    token = emulator.credentials.org_token
    profile = make_profile(emulator, api_key=None, token=token, watch=())
    first = Monitor(profile, journal_dir=tmp_path)
    await first.start()
    try:
        await wait_for(lambda: first.snapshot().status.state is ConnectionState.LIVE, what="live")
        for environment in first_run:
            await asyncio.to_thread(emulator.world.update_flag, environment, "dark-mode")
        await wait_for(lambda: len(first.event_log) == len(first_run), what="the first run's")
    finally:
        await first.stop()
    last = first.event_log.events()[-1]
    assert last.environment_id == emulator.credentials.environment_ids["staging"]
    await asyncio.to_thread(emulator.world.update_flag, "production", "dark-mode")  # unwatched

    second = Monitor(profile, journal_dir=tmp_path)
    rec = Recorder(second)
    await second.start()
    rec.start()
    try:
        await wait_for(lambda: rec.of(Outage), what="the outage between the runs")
        await wait_for(lambda: len(second.event_log.events()) > len(first_run), what="replay")
        replayed = second.event_log.events()[len(first_run)]
        assert replayed.event_id == str(int(last.event_id or "0") + 1)
        outages = [row for row in second.rows_since(0)[0] if isinstance(row, Outage)]
        assert outages and not outages[-1].may_have_missed  # consecutive ids: nothing missed
    finally:
        await second.stop()
