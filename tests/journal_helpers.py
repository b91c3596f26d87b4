"""Test helpers for the SQLite journal (`togul_monitor/store/journal.py`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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
