"""A second recorder of a shared (PostgreSQL) journal that starts while the first one is live:
the time since the mark it found was watched by that one, so it journals no outage between the
runs; a mark that then fails to move (the first one had stopped there) has the window
journalled after all, late, once. Against the documented stream (no event ids, so no replay
proves the window whole), with an injectable clock. Skipped without TOGUL_TEST_POSTGRES_URL."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import pytest

from tests.journal_backends import postgres_url, scratch_profile
from togul_monitor.core import Monitor
from togul_monitor.core.watched import LIVE_MARK_SLACK, WATCHED_PACE
from togul_monitor.domain.events import ConnectionState, FlagEvent, Outage
from togul_monitor.emulator.harness import EmulatorHandle, running_emulator
from togul_monitor.store.journal import open_journal_at, open_reader_at

from .test_monitor import Recorder, make_profile, wait_for


@pytest.fixture
def idless() -> Iterator[EmulatorHandle]:
    with running_emulator(seed=0, heartbeat=0.2, replay=1000, ids=False) as emu:
        yield emu


@pytest.mark.parametrize("first_live", [True, False], ids=["first-live", "first-dead"])
async def test_a_second_recorder_journals_no_outage_a_live_recorder_watched(
    idless: EmulatorHandle, first_live: bool
) -> None:
    url = postgres_url()
    shift = [0.0]

    def clock() -> float:
        return time.time() + shift[0]

    with scratch_profile(url) as name:
        profile = dataclasses.replace(make_profile(idless, name=name), journal_url=url)
        environment = idless.credentials.environment_ids["production"]
        first = open_journal_at(name, url)  # the first recorder: its event and its mark
        mark = clock() - 10.0
        first.append_event(
            FlagEvent("flag.updated", "dark-mode", environment, 2, mark - 2, None, mark - 2)
        )
        first.set_watched_until(mark)
        assert first.flush()
        second = Monitor(profile, journal_writer=True, clock=clock)
        rec = Recorder(second)
        look = open_reader_at(name, url)
        try:
            await second.start()
            rec.start()
            await wait_for(lambda: rec.of(Outage), what="the second's outage between the runs")
            assert second.snapshot().status.state is ConnectionState.LIVE
            assert second.journal is not None and second.journal.flush(timeout=10)
            assert look.outages() == []  # held: the first one's mark is recent
            if first_live:
                first.set_watched_until(clock())  # it watches on
                assert first.flush()
            shift[0] += WATCHED_PACE + profile.heartbeat_seconds + LIVE_MARK_SLACK
            judge = second._recording._look
            await wait_for(lambda: judge is not None and judge.done(), what="the judgement")
            assert second.journal.flush(timeout=10)
            # Its own marks are written from now on.
            await wait_for(lambda: (look.watched_until() or 0) > mark, what="a mark")
        finally:
            await second.stop()
            first.close()
        try:
            outages = look.outages()
        finally:
            look.close()
    if first_live:
        assert outages == []
    else:  # the first had stopped at its mark: the window from it, once, not proven whole
        assert [(o.started_at, o.may_have_missed) for o in outages] == [(mark, True)]
