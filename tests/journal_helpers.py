"""Test helpers for the SQLite journal (`togul_monitor/store/sqlite/journal.py`)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from togul_monitor.domain.events import FlagEvent
from togul_monitor.store.journal import Journal


def import_events(
    journal: Journal,
    events: Iterable[FlagEvent],
    environment_names: Mapping[str, str] | None = None,
) -> int:
    """Append events (e.g. read back from an export, `store/export.py` `read_jsonl`) and the
    environment keys the export named (id → key), and wait for the commit; how many events."""
    n = 0
    for event in events:
        journal.append_event(event)
        n += 1
    if environment_names:
        journal.set_environment_names(dict(environment_names))
    journal.flush()
    return n


def damage_pages(path: Path, events: int = 5000) -> bytes:
    """A real journal of `events` events whose middle pages are then overwritten (what a bad
    copy or a torn write leaves); the damaged file's bytes."""
    journal = Journal.open(path)
    now = time.time()
    journal.append_events(
        [
            FlagEvent("flag.updated", f"flag-{i % 50}", "env-1", i, 1000 + i, str(i), now)
            for i in range(events)
        ]
    )
    journal.set_environment_names({"env-1": "production"})
    journal.flush()
    journal.close()
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 3000] = b"\xff" * 3000
    path.write_bytes(bytes(data))
    return bytes(data)
