"""A monitor that reads a SQLite journal because another process records it takes the recording
over once that process is gone (core/takeover.py), and journals what it saw meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
from click.testing import CliRunner

from togul_monitor import core
from togul_monitor.cli import tail_record
from togul_monitor.cli.tail import run_tail
from togul_monitor.core import Monitor
from togul_monitor.core.updates import RECORDING_TAKEN
from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.values import ValueTransition
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.store.journal import journal_path
from togul_monitor.store.reader import iter_journal_events, read_config_diffs, read_history
from togul_monitor.store.sqlite.sink import SqliteSink

from .test_monitor import make_profile, settled, wait_for
from .test_stream_tail import add_local_profile

FLAG = "new-dashboard"


def recording_tail() -> subprocess.Popen[str]:
    """`tail --profile local --json`: it records the profile's journal, and prints an event only
    once the journal holds it (cli/tail_record.py)."""
    return subprocess.Popen(
        [sys.executable, "-m", "togul_monitor", "tail", "--profile", "local", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
        text=True,
    )


async def printed_event(tail: subprocess.Popen[str]) -> dict[str, object]:
    assert tail.stdout is not None
    while True:
        line = await asyncio.wait_for(asyncio.to_thread(tail.stdout.readline), 20)
        assert line, "the tail ended"
        printed: dict[str, object] = json.loads(line)
        if printed["kind"] == "event":
            return printed


def events_of(monitor: Monitor) -> list[tuple[str, int]]:
    return [(e.flag_key, e.version) for e in monitor.events() if e.flag_key == FLAG]


def diffed(monitor: Monitor) -> bool:
    """FLAG's configuration is the one of its last event: that event's diff is made."""
    config, events = monitor.flag_configs().get(FLAG), events_of(monitor)
    return config is not None and bool(events) and config.version == events[-1][1]


async def test_a_reader_takes_the_recording_over_once_the_recorder_is_gone(
    emulator_any: EmulatorHandle,
) -> None:
    # Before: the reader tried the recorder lock once, at its start; once the recorder had
    # gone it said "another process records this profile" for good, and what it showed
    # from then on reached no journal.
    assert add_local_profile(CliRunner(), emulator_any).exit_code == 0
    world = emulator_any.world
    tail = recording_tail()
    reader: Monitor | None = None
    try:
        await wait_for(lambda: emulator_any.open_streams == 1, timeout=20, what="the tail")
        # With a token (the tail has none): the reader alone finds configuration diffs.
        token = emulator_any.credentials.org_token
        reader = Monitor(
            make_profile(emulator_any, name="local", token=token), takeover_interval=0.05
        )
        await reader.start()
        assert reader.snapshot().recorder_busy and not reader.snapshot().recording
        await wait_for(lambda: emulator_any.open_streams == 2, what="the reader's stream")
        await wait_for(lambda: settled(reader, FLAG), what="the first value")
        await wait_for(lambda: reader.snapshot().config_state == "complete", what="configs")

        await asyncio.to_thread(world.update_flag, "production", FLAG, enabled=False)
        recorded = await printed_event(tail)  # journalled by the tail
        await wait_for(lambda: len(events_of(reader)) == 1, what="the event on the reader")
        await wait_for(lambda: diffed(reader), what="its configuration diff")
        # Tried every 50 ms while the tail runs: it stays a reader, and journals nothing.
        assert reader.snapshot().recorder_busy and not reader.snapshot().recording

        # The recorder stops reading (still holding the lock), so the next change reaches the
        # reader only; then it dies without journalling it.
        os.kill(tail.pid, signal.SIGSTOP)
        await asyncio.to_thread(world.update_flag, "production", FLAG, enabled=True)
        await wait_for(lambda: len(events_of(reader)) == 2, what="the unrecorded event")
        await wait_for(lambda: settled(reader, FLAG), what="its value change")
        await wait_for(lambda: diffed(reader), what="its configuration diff")
        assert reader.snapshot().recorder_busy  # the lock is still the tail's
        tail.kill()
        await asyncio.to_thread(tail.wait)

        await wait_for(lambda: reader.snapshot().recording, what="the reader recording")
        journal = reader.journal
        assert journal is not None and journal.flush(timeout=5)
        # Its mark at once, not a pace later: the tail's, older than what only the reader saw,
        # would make a crash now an outage back to before that.
        unrecorded = [e for e in reader.events() if e.flag_key == FLAG][1]
        assert (journal.watched_until() or 0) >= unrecorded.received_at
        snapshot = reader.snapshot()
        assert not snapshot.recorder_busy
        assert "another" not in (snapshot.journal_notice or "")
        await asyncio.to_thread(world.update_flag, "production", FLAG, enabled=False)
        await wait_for(lambda: len(events_of(reader)) == 3, what="an event after the takeover")
        await wait_for(lambda: settled(reader, FLAG), what="its value change")
        await wait_for(lambda: diffed(reader), what="its configuration diff")
        seen = events_of(reader)
    finally:
        if tail.poll() is None:
            tail.kill()
            tail.wait()
        if reader is not None:
            await reader.stop()

    path = journal_path("local")
    journalled = [(e.flag_key, e.version) for e in iter_journal_events(path)]
    assert journalled == seen  # each once: the tail's, then the reader's
    assert journalled[0] == (recorded["flag_key"], recorded["version"])
    history = read_history(path, FLAG)
    changes = [entry for entry in history if isinstance(entry, ValueTransition)]
    assert [(t.before and t.before.value, t.after and t.after.value) for t in changes][:2] == [
        (True, False),  # after the takeover
        (False, True),  # seen while the tail was stopped: journalled at the hand-over
    ]
    # Each event's diff once: the two the reader found while reading too (the tail has no
    # token), journalled at the hand-over.
    diffs = [stored.diff.version for stored in read_config_diffs(path, FLAG)]
    assert diffs == [v for _, v in seen][::-1]
    # The reader watched all along: no time nobody recorded.
    assert not [entry for entry in history if isinstance(entry, Outage)]
    assert [e.version for e in history if isinstance(e, FlagEvent)] == [v for _, v in seen][::-1]


class JournalChecked(io.StringIO):
    """A tail's stdout that notes, as each line of an event of FLAG is written, its version and
    whether the journal held the event then."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[int, bool]] = []

    def write(self, text: str) -> int:
        for line in text.splitlines():
            printed = json.loads(line)
            if printed["kind"] == "event" and printed["flag_key"] == FLAG:
                journal = iter_journal_events(journal_path("local"))
                journalled = {(e.flag_key, e.version) for e in journal}
                self.events.append((printed["version"], (FLAG, printed["version"]) in journalled))
        return super().write(text)


async def test_a_tail_that_takes_the_recording_over_prints_only_what_its_journal_holds(
    emulator_any: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: the tail held what it printed for the journal it had at its start, read only (its
    # marks are all written at once): once it recorded, it printed events its journal had not
    # committed, and it never said it recorded.
    tails: list[Monitor] = []
    holders: list[tail_record.CommittedFirst] = []
    real_run_headless = core.run_headless

    @contextlib.asynccontextmanager
    async def spy(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        async with real_run_headless(*args, takeover_interval=0.05, **kwargs) as pair:
            tails.append(pair[0])
            yield pair

    class Holder(tail_record.CommittedFirst):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            holders.append(self)

    commits = threading.Event()  # cleared: the journals' writers commit nothing
    commits.set()
    write = SqliteSink.write

    def gated(self: SqliteSink, *args: Any) -> None:
        commits.wait(10)
        write(self, *args)

    monkeypatch.setattr(core, "run_headless", spy)  # where `tail` looks them up
    monkeypatch.setattr(tail_record, "CommittedFirst", Holder)
    monkeypatch.setattr(SqliteSink, "write", gated)
    profile = make_profile(emulator_any, name="local")
    recorder = Monitor(profile)
    await recorder.start()
    out, err = JournalChecked(), io.StringIO()
    tail = asyncio.create_task(
        run_tail(profile, query=None, count=None, as_json=True, out=out, err=err, record=True)
    )
    try:
        await wait_for(lambda: tails and settled(tails[0], FLAG), what="the tail's first value")
        await wait_for(lambda: emulator_any.open_streams == 2, what="the tail's stream")
        assert tails[0].snapshot().recorder_busy
        await recorder.stop()  # the profile's recorder has gone
        await wait_for(lambda: RECORDING_TAKEN in err.getvalue(), what="the tail recording")
        assert tails[0].snapshot().recording

        commits.clear()
        await asyncio.to_thread(emulator_any.world.update_flag, "production", FLAG, enabled=False)
        looks = [0]

        def held() -> bool:  # at two looks in a row: not just on its way to the output
            waiting = [u for *_, u in holders[0]._held]
            looks[0] = looks[0] + 1 if any(e in waiting for e in tails[0].events()) else 0
            return looks[0] >= 2

        await wait_for(lambda: out.events or held(), what="the event printed, or held")
        assert out.events == []  # not while its row waits for the commit
        commits.set()
        await wait_for(lambda: out.events, what="the event printed")
    finally:
        commits.set()
        tail.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tail
        await recorder.stop()
    assert [journalled for _, journalled in out.events] == [True]
    assert err.getvalue().count(RECORDING_TAKEN) == 1
