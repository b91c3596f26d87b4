"""Kept for imports from before the store had two backends: SQLite's reads by path are
`store/sqlite/reader.py`; the interface's (either backend) `store/journal.py` `open_reader_at`."""

from togul_monitor.store.sqlite.read_connection import check_journal
from togul_monitor.store.sqlite.reader import (
    iter_journal_events,
    read_changes_since,
    read_config_diffs,
    read_environment_names,
    read_event_count,
    read_history,
    read_last_values,
    read_recent_events,
    read_transitions_for,
)

__all__ = [
    "check_journal",
    "iter_journal_events",
    "read_changes_since",
    "read_config_diffs",
    "read_environment_names",
    "read_event_count",
    "read_history",
    "read_last_values",
    "read_recent_events",
    "read_transitions_for",
]
