"""Test helpers for the SQLite journal (`togul_monitor/store/journal.py`)."""

from __future__ import annotations

from collections.abc import Iterable

from togul_monitor.domain.events import FlagEvent
from togul_monitor.store.journal import Journal


def import_events(journal: Journal, events: Iterable[FlagEvent]) -> int:
    """Append events (e.g. read back from an export) and wait for the commit; how many."""
    n = 0
    for event in events:
        journal.append_event(event)
        n += 1
    journal.flush()
    return n
