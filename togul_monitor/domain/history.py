"""One flag's history: its events, value transitions and the outages around them, merged.

The journal (past runs) and the monitor's memory (this run) each hold part of it; the views
show one list, newest first, with no row twice.
"""

from __future__ import annotations

from collections.abc import Iterable

from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.values import ValueTransition

HistoryEntry = FlagEvent | ValueTransition | Outage


def _entry_time(entry: HistoryEntry) -> float:
    if isinstance(entry, FlagEvent):
        return entry.received_at
    if isinstance(entry, ValueTransition):
        return entry.at
    return entry.received_at


def _entry_key(entry: HistoryEntry) -> tuple[object, ...]:
    # Not the record's hash: an Evaluation may hold an unhashable JSON value.
    if isinstance(entry, FlagEvent):
        return ("e", entry.event_id, entry.flag_key, entry.version, entry.received_at)
    if isinstance(entry, ValueTransition):
        # The context too: one event changes the values of several contexts at the same time.
        return ("t", entry.flag_key, entry.event_id, entry.at, entry.context)
    return ("o", entry.started_at, entry.ended_at, entry.received_at)


def merge_history(*groups: Iterable[HistoryEntry], limit: int) -> list[HistoryEntry]:
    """Entries of several sources, newest first, without repeats, the first `limit`.

    At equal times a transition sorts before (newer than) the event that caused it, and an
    outage before both, which reads naturally newest-first.
    """
    rank = {ValueTransition: 0, FlagEvent: 1, Outage: 2}
    seen: set[object] = set()
    merged: list[HistoryEntry] = []
    for group in groups:
        for entry in group:
            key = _entry_key(entry)
            if key in seen:  # the same row from the journal and from memory
                continue
            seen.add(key)
            merged.append(entry)
    merged.sort(key=lambda e: (-_entry_time(e), rank[type(e)]))
    return merged[:limit]
