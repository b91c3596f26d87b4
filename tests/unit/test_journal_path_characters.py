"""A SQLite journal is read wherever it lives: a reader opens it by a `file:` URI (read-only),
where `#`, `?` and `%` in a path mean something else unless they are escaped."""

from __future__ import annotations

from pathlib import Path

import pytest

from togul_monitor.domain.events import FlagEvent
from togul_monitor.store.journal import open_journal_at, open_reader_at


@pytest.mark.parametrize("directory", ["a#b", "a?b", "a%20b", "a b"])
def test_a_journal_under_a_path_with_uri_characters_reads_back(
    tmp_path: Path, directory: str
) -> None:
    path = tmp_path / directory / "p.sqlite3"
    path.parent.mkdir()
    event = FlagEvent("flag.updated", "f", "env", 2, 1.0, "1", 2.0)
    journal = open_journal_at("p", path)
    journal.append_events([event])
    journal.close()
    reader = open_reader_at("p", path)
    try:
        assert reader.recent_events(10) == [event]
    finally:
        reader.close()
