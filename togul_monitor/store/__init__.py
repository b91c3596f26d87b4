"""Store stage: the per-profile SQLite journal."""
