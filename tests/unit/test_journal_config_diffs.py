"""The journal's configuration diffs: written and read back, kept by retention, and a journal
from before the table (no `config_diffs`) still reads, and gets the table when recorded again."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_config import Change, ConfigDiff
from togul_monitor.store.export import write_jsonl
from togul_monitor.store.journal import Journal
from togul_monitor.store.reader import read_config_diffs, read_history
from togul_monitor.store.schema import StoredDiff

from ..journal_backends import JournalBackend

ROLLOUT = Change("rules[r2].rollout_percentage", "changed", 25, 50, "r2", 2, "percentage by x")


def diff(version: int, key: str = "f") -> ConfigDiff:
    return ConfigDiff(key, "env-1", str(version), version, (ROLLOUT,))


def event(version: int, at: float, key: str = "f") -> FlagEvent:
    return FlagEvent("rule.updated", key, "env-1", version, 1000, str(version), at)


def test_diffs_are_written_and_read_back_newest_first(journal_backend: JournalBackend) -> None:
    journal = journal_backend.open()
    journal.append_config_diff(diff(1), 10.0)
    journal.append_config_diff(diff(2, "other"), 11.0)
    journal.append_config_diff(diff(3), 12.0)
    journal.close()
    read = journal_backend.reader()
    assert [s.diff for s in read.config_diffs("f")] == [diff(3), diff(1)]
    assert [s.at for s in read.config_diffs(None, limit=2)] == [12.0, 11.0]
    assert [s.diff.version for s in read.config_diffs(None, since=11.5)] == [3]


def test_a_journal_from_before_the_table_reads_and_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    journal = Journal.open(path)
    journal.append_event(event(1, 5.0))
    journal.close()
    with sqlite3.connect(path) as conn:  # what a journal of the first release holds
        conn.execute("DROP TABLE config_diffs")
    assert read_config_diffs(path, "f") == []  # no table: no diffs, no error
    assert [e.version for e in read_history(path, "f")] == [1]  # type: ignore[union-attr]
    journal = Journal.open(path)  # a recorder adds the table
    journal.append_config_diff(diff(2), 6.0)
    journal.close()
    assert [s.diff for s in read_config_diffs(path, "f")] == [diff(2)]


def test_jsonl_export_puts_each_diff_after_its_event() -> None:
    events = [event(1, 1.0), event(2, 2.0, "g"), event(3, 3.0)]
    diffs = [StoredDiff(diff(1), 1.5), StoredDiff(diff(2, "g"), 2.5), StoredDiff(diff(3), 3.5)]
    out = io.StringIO()
    assert write_jsonl(events, out, {}, diffs) == 3
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r.get("kind", "event"), r["version"]) for r in rows] == [
        ("event", 1), ("diff", 1), ("event", 2), ("diff", 2), ("event", 3), ("diff", 3),
    ]  # fmt: skip
    filtered = io.StringIO()  # a filtered export: the diffs of the events it wrote
    write_jsonl([events[1]], filtered, {}, diffs, all_diffs=False)
    rows = [json.loads(line) for line in filtered.getvalue().splitlines()]
    assert [(r.get("kind", "event"), r["flag_key"]) for r in rows] == [
        ("event", "g"),
        ("diff", "g"),
    ]


def test_a_flag_created_again_keeps_the_diffs_of_both_flags(
    journal_backend: JournalBackend,
) -> None:
    # No event ids: the flag deleted and created again with its key starts at version 1 again,
    # and only its id (the server's) says these are two flags' diffs.
    created = Change("flag", "added", None, {"enabled": True})
    first = ConfigDiff("f", "env-1", None, 1, (created,), flag_id="id-1")
    again = ConfigDiff("f", "env-1", None, 1, (created,), flag_id="id-2")
    journal = journal_backend.open()
    journal.append_config_diff(first, 10.0)
    journal.append_config_diff(again, 20.0)
    assert journal.flush(timeout=10) and journal.write_error is None
    journal.close()
    read = journal_backend.reader()
    assert [s.diff for s in read.config_diffs("f")] == [again, first]
