"""A recording `tail` killed with SIGKILL has journalled everything it printed: it prints an
update only once the journal has committed it (cli/tail_record.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from click.testing import CliRunner

from togul_monitor.domain.values import ValueTransition
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.store.export_json import iso_time
from togul_monitor.store.journal import journal_path
from togul_monitor.store.reader import iter_journal_events, read_history

from .test_stream_tail import add_local_profile

KILL_AFTER = 150  # event lines printed before the kill
FLAGS = ("new-dashboard", "checkout-v2")


@contextmanager
def firehose(emu: EmulatorHandle) -> Iterator[None]:
    """Change flags in bursts, as fast as the emulator takes them, while the block runs."""
    stop = threading.Event()

    def produce() -> None:
        enabled = False
        while not stop.is_set():
            for _ in range(10):
                enabled = not enabled
                for flag in FLAGS:
                    emu.world.update_flag("production", flag, enabled=enabled)
            stop.wait(0.002)  # pacing only: leave the 2 cores some room for the tail

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def test_everything_a_killed_recording_tail_printed_is_in_its_journal(
    emulator: EmulatorHandle,
) -> None:
    # Before: the writer committed every 50 ms or so, after the lines were printed; a kill
    # lost the events of the last batch from the journal though they were on the screen.
    assert add_local_profile(CliRunner(), emulator).exit_code == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "togul_monitor", "tail", "--profile", "local", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
        text=True,
    )
    printed: list[dict[str, object]] = []
    try:
        assert proc.stdout is not None
        with firehose(emulator):
            for line in proc.stdout:
                printed.append(json.loads(line))
                if sum(1 for p in printed if p["kind"] == "event") >= KILL_AFTER:
                    proc.kill()
                    break
            # stdout is written in pieces of many lines (cli/tail_output.py): a kill in the
            # middle of one into a full pipe leaves its last line cut short, never printed.
            rest = proc.stdout.read()
            whole = rest[: rest.rfind("\n") + 1]
            printed += [json.loads(line) for line in whole.splitlines()]
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    path = journal_path("local")
    journalled = {(e.flag_key, e.version) for e in iter_journal_events(path)}
    shown = {(p["flag_key"], p["version"]) for p in printed if p["kind"] == "event"}
    assert len(shown) >= KILL_AFTER and shown <= journalled, shown - journalled

    transitions = {
        (entry.flag_key, iso_time(entry.at))
        for flag in FLAGS
        for entry in read_history(path, flag, limit=100_000)
        if isinstance(entry, ValueTransition)
    }
    shown_transitions = {
        (p["flag_key"], p["at"]) for p in printed if p["kind"] in ("transition", "found")
    }
    assert shown_transitions <= transitions, shown_transitions - transitions
