"""Kept for imports from before the store had two backends: the rows are `store/model.py`, the
SQLite tables `store/sqlite/schema.py`."""

from togul_monitor.store.model import JournalError, LastValue, StoredDiff
from togul_monitor.store.sqlite.schema import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "JournalError", "LastValue", "StoredDiff"]
