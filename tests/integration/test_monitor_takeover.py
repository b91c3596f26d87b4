"""A monitor that reads a SQLite journal because another process records it takes the recording
over once that process is gone (core/takeover.py), and journals what it saw meanwhile."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys

from click.testing import CliRunner

from togul_monitor.core import Monitor
from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.values import ValueTransition
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.store.journal import journal_path
from togul_monitor.store.reader import iter_journal_events, read_history

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
        reader = Monitor(make_profile(emulator_any, name="local"), takeover_interval=0.05)
        await reader.start()
        assert reader.snapshot().recorder_busy and not reader.snapshot().recording
        await wait_for(lambda: emulator_any.open_streams == 2, what="the reader's stream")
        await wait_for(lambda: settled(reader, FLAG), what="the first value")

        await asyncio.to_thread(world.update_flag, "production", FLAG, enabled=False)
        recorded = await printed_event(tail)  # journalled by the tail
        await wait_for(lambda: len(events_of(reader)) == 1, what="the event on the reader")
        # Tried every 50 ms while the tail runs: it stays a reader, and journals nothing.
        assert reader.snapshot().recorder_busy and not reader.snapshot().recording

        # The recorder stops reading (still holding the lock), so the next change reaches the
        # reader only; then it dies without journalling it.
        os.kill(tail.pid, signal.SIGSTOP)
        await asyncio.to_thread(world.update_flag, "production", FLAG, enabled=True)
        await wait_for(lambda: len(events_of(reader)) == 2, what="the unrecorded event")
        await wait_for(lambda: settled(reader, FLAG), what="its value change")
        assert reader.snapshot().recorder_busy  # the lock is still the tail's
        tail.kill()
        await asyncio.to_thread(tail.wait)

        await wait_for(lambda: reader.snapshot().recording, what="the reader recording")
        snapshot = reader.snapshot()
        assert not snapshot.recorder_busy
        assert "another" not in (snapshot.journal_notice or "")
        await asyncio.to_thread(world.update_flag, "production", FLAG, enabled=False)
        await wait_for(lambda: len(events_of(reader)) == 3, what="an event after the takeover")
        await wait_for(lambda: settled(reader, FLAG), what="its value change")
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
    # The reader watched all along: no time nobody recorded.
    assert not [entry for entry in history if isinstance(entry, Outage)]
    assert [e.version for e in history if isinstance(e, FlagEvent)] == [v for _, v in seen][::-1]
