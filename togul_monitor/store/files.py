"""Kept for imports from before the store had two backends: `store/sqlite/files.py`."""

from togul_monitor.store.sqlite.files import journal_path, move_aside

__all__ = ["journal_path", "move_aside"]
