"""Named contexts in the journal (store/sqlite/schema.py version 2): a version-1 journal is migrated
when a recorder opens it and read as the `default` context's before that; last values are kept
per (context, flag); one event's transitions of several contexts are read back together, tied
to their preloaded event per context (store/recorded.py), and kept apart in histories."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.history import merge_history
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.store import reader
from togul_monitor.store.export_json import transition_from_json, transition_json
from togul_monitor.store.journal import Journal
from togul_monitor.store.recorded import read_recorded_changes, tie_changes
from togul_monitor.store.schema import SCHEMA_VERSION

from ..journal_backends import JournalBackend

ON = Evaluation(True, "boolean", "rule_match", True)
OFF = Evaluation(False, "boolean", "default", True)

# The tables of a version-1 journal, as the program before named contexts created them.
V1_DDL = """
CREATE TABLE events (
    seq INTEGER PRIMARY KEY, event_id TEXT, type TEXT NOT NULL, flag_key TEXT NOT NULL,
    environment_id TEXT NOT NULL, version INTEGER NOT NULL, timestamp REAL NOT NULL,
    received_at REAL NOT NULL
);
CREATE TABLE transitions (
    seq INTEGER PRIMARY KEY, flag_key TEXT NOT NULL, event_id TEXT, at REAL NOT NULL,
    before TEXT, after TEXT
);
CREATE INDEX transitions_by_flag ON transitions (flag_key, seq);
CREATE INDEX transitions_by_event ON transitions (event_id);
CREATE TABLE outages (
    seq INTEGER PRIMARY KEY, started_at REAL NOT NULL, ended_at REAL NOT NULL, replayed INTEGER,
    may_have_missed INTEGER NOT NULL, received_at REAL NOT NULL
);
CREATE TABLE last_values (
    flag_key TEXT PRIMARY KEY, evaluation TEXT, at REAL NOT NULL, deleted INTEGER NOT NULL
);
PRAGMA user_version = 1;
"""


def _json(e: Evaluation) -> str:
    return json.dumps(
        {"value": e.value, "value_type": e.value_type, "reason": e.reason, "enabled": e.enabled}
    )


def v1_journal(path: Path, now: float) -> None:
    """A version-1 journal holding an event, its transition and two last values."""
    conn = sqlite3.connect(path)
    conn.executescript(V1_DDL)
    conn.execute(
        "INSERT INTO events (event_id, type, flag_key, environment_id, version, timestamp,"
        " received_at) VALUES ('e1', 'flag.updated', 'f', 'env-1', 2, 100, ?)",
        (now,),
    )
    conn.execute(
        "INSERT INTO transitions (flag_key, event_id, at, before, after) VALUES ('f', 'e1', ?, ?, ?)",
        (now + 0.5, _json(OFF), _json(ON)),
    )
    conn.executemany(
        "INSERT INTO last_values (flag_key, evaluation, at, deleted) VALUES (?, ?, ?, ?)",
        [("f", _json(ON), now + 0.5, 0), ("gone", _json(OFF), now - 10, 1)],
    )
    conn.commit()
    conn.close()


def _columns(path: Path, table: str) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def test_a_version_1_journal_reads_as_the_default_context_before_any_recorder_opens_it(
    tmp_path: Path,
) -> None:
    path, now = tmp_path / "j.sqlite3", 1_000_000.0
    v1_journal(path, now)
    (transition,) = reader.read_transitions_for(path, "e1", "f")
    assert (transition.context, transition.before, transition.after) == ("default", OFF, ON)
    history = reader.read_history(path, "f")
    assert [type(h).__name__ for h in history] == ["ValueTransition", "FlagEvent"]
    assert history[0] == transition
    assert reader.read_changes_since(path, 0, 10)[0] == [transition]
    last = reader.read_last_values(path)
    assert list(last) == ["default"] and last["default"]["f"].evaluation == ON
    assert last["default"]["gone"].deleted and last["default"]["gone"].context == "default"
    assert "context" not in _columns(path, "transitions")  # a reader never migrates


def test_a_recorder_migrates_a_version_1_journal_keeping_every_row(tmp_path: Path) -> None:
    path, now = tmp_path / "j.sqlite3", 1_000_000.0
    v1_journal(path, now)
    before = reader.read_last_values(path)
    journal = Journal.open(path, clock=lambda: now)
    try:
        assert journal.recent_events(5)[0].event_id == "e1"
        assert journal.last_values() == before  # copied as the `default` context's
        # What the new program records next goes beside the migrated rows.
        journal.append_transition(ValueTransition("f", ON, OFF, "e2", now + 2, "premium"))
        journal.set_last_value("f", OFF, now + 2, context="premium")
        assert journal.flush()
        contexts = [
            t.context for t in reader.read_history(path, "f") if isinstance(t, ValueTransition)
        ]
        assert contexts == ["premium", "default"]
        assert journal.last_values()["premium"]["f"].evaluation == OFF
        assert journal.last_values()["default"]["f"].evaluation == ON
    finally:
        journal.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "last_values" not in tables and "context_last_values" in tables
    assert _columns(path, "transitions")[-3:] == ["context", "includes_unseen", "environment_key"]
    # Opening it again changes nothing: the migration ran once.
    Journal.open(path, clock=lambda: now).close()
    assert reader.read_transitions_for(path, "e1", "f")[0].context == "default"
    assert len(reader.read_last_values(path)["default"]) == 2


def test_a_new_journal_is_version_2_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    Journal.open(path).close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert "context" in _columns(path, "transitions")
    assert _columns(path, "last_values") == []


def test_last_values_are_kept_per_context_and_flag(journal_backend: JournalBackend) -> None:
    journal = journal_backend.open()
    journal.set_last_value("f", ON, 1.0)  # the default context's
    journal.set_last_value("f", OFF, 2.0, context="premium")
    journal.set_last_value("f", ON, 3.0, context="premium")  # replaces premium's only
    journal.set_last_value("g", OFF, 4.0, deleted=True, context="free")
    journal.close()
    last = journal_backend.open()
    try:
        values = last.last_values()
    finally:
        last.close()
    assert sorted(values) == ["default", "free", "premium"]
    assert (values["default"]["f"].evaluation, values["default"]["f"].at) == (ON, 1.0)
    assert (values["premium"]["f"].evaluation, values["premium"]["f"].at) == (ON, 3.0)
    assert values["free"]["g"].deleted and values["free"]["g"].context == "free"
    assert "g" not in values["premium"]


def test_retention_keeps_the_last_values_whatever_their_age(
    journal_backend: JournalBackend,
) -> None:
    now = 10_000_000.0
    journal = journal_backend.open(clock=lambda: now)
    journal.set_last_value("f", ON, now - 500 * 86400.0, context="premium")
    journal.append_transition(ValueTransition("f", OFF, ON, "1", now - 500 * 86400.0, "premium"))
    journal.close()
    journal = journal_backend.open(max_age_days=1, clock=lambda: now)
    try:
        assert journal.last_values()["premium"]["f"].evaluation == ON
        assert journal.transitions_for("1", "f") == []  # the old transition is gone
    finally:
        journal.close()


def test_an_events_transitions_of_every_context_come_back_in_the_order_recorded(
    journal_backend: JournalBackend,
) -> None:
    journal = journal_backend.open()
    try:
        for context in ("premium", "free", "eu"):
            journal.append_transition(ValueTransition("f", OFF, ON, "7", 10.0, context))
        journal.append_transition(ValueTransition("f", OFF, ON, "8", 11.0, "premium"))
        # The same id again (a replayed event): the newest of that context is the one kept.
        journal.append_transition(ValueTransition("f", ON, OFF, "7", 12.0, "free"))
        assert journal.flush()
        found = journal.transitions_for("7", "f")
    finally:
        journal.close()
    assert [(t.context, t.at) for t in found] == [("premium", 10.0), ("eu", 10.0), ("free", 12.0)]
    assert found[2].after == OFF


def test_a_flags_history_keeps_each_contexts_transition_of_one_event(
    journal_backend: JournalBackend,
) -> None:
    journal = journal_backend.open()
    try:
        journal.append_event(FlagEvent("flag.updated", "f", "env-1", 2, 10, "7", 10.0))
        for context in ("premium", "free"):
            journal.append_transition(ValueTransition("f", OFF, ON, "7", 10.5, context))
        assert journal.flush()
        history = journal.history("f")
    finally:
        journal.close()
    contexts = sorted(h.context for h in history if isinstance(h, ValueTransition))
    assert contexts == ["free", "premium"]
    # Merged with memory (the same rows): no repeat, and no context lost as a repeat.
    merged = merge_history(history, list(reversed(history)), limit=10)
    assert len(merged) == 3


# --- tied to preloaded events per context --------------------------------------------------------


def _event(version: int, at: float, event_id: str | None) -> FlagEvent:
    return FlagEvent("flag.updated", "f", "env-1", version, int(at), event_id, at)


def test_with_ids_an_event_owns_one_transition_per_context(
    journal_backend: JournalBackend,
) -> None:
    e1, e2 = _event(1, 10, "1"), _event(2, 20, "2")
    journal = journal_backend.open()
    journal.append_events([e1, e2])
    journal.append_transition(ValueTransition("f", OFF, ON, "1", 10.5, "premium"))
    journal.append_transition(ValueTransition("f", OFF, ON, "1", 10.5, "free"))
    journal.append_transition(ValueTransition("f", ON, OFF, "2", 20.5, "premium"))
    journal.append_transition(ValueTransition("f", OFF, ON, "2", 20.9, "premium"))  # newest wins
    journal.close()
    read = journal_backend.reader()
    loaded = read.recent_events(10)
    got = read_recorded_changes(read, loaded, contexts=2)
    assert [(e.event_id, t.context, t.at) for e, t in got.transitions] == [
        ("1", "premium", 10.5),
        ("1", "free", 10.5),
        ("2", "premium", 20.9),
    ]
    assert got.transitions[0][0] is loaded[0] and got.transitions[1][0] is loaded[0]


def test_without_ids_the_time_window_tie_is_made_per_context() -> None:
    e1, e2 = _event(1, 10, None), _event(2, 20, None)
    transitions = [
        ValueTransition("f", OFF, ON, None, 10.4, "premium"),  # e1's, premium
        ValueTransition("f", OFF, ON, None, 10.6, "free"),  # e1's, free: not a re-evaluation
        ValueTransition("f", ON, OFF, None, 10.8, "premium"),  # premium again: no row
        ValueTransition("f", ON, OFF, None, 20.2, "free"),  # e2's, free
    ]
    got = tie_changes([e1, e2], transitions, [], "env-1")
    assert [(e.version, t.context, t.at) for e, t in got.transitions] == [
        (1, "premium", 10.4),
        (1, "free", 10.6),
        (2, "free", 20.2),
    ]


# --- transitions as JSON ---------------------------------------------------------------------------


def test_a_transition_as_json_carries_its_context_and_reads_back() -> None:
    t = ValueTransition("f", OFF, ON, "7", 1_700_000_000.25, "premium")
    data = transition_json(t, "production")
    assert data["context"] == "premium" and data["environment_key"] == "production"
    assert transition_from_json(json.loads(json.dumps(data))) == t


def test_a_transition_written_before_named_contexts_reads_as_the_default_one() -> None:
    old = {"kind": "transition", "flag_key": "f", "before": None, "after": None, "at": 5}
    back = transition_from_json({**old, "event_id": None, "after": {"value": True}})
    assert back.context == "default" and back.at == 5 and back.after is not None
    for bad in ({**old, "context": ""}, {**old, "at": "yesterday"}, {**old, "flag_key": 3}):
        try:
            transition_from_json(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad} was read as a transition")


def test_a_migration_cut_short_still_reads_the_version_1_last_values(tmp_path: Path) -> None:
    # A recorder creates the new tables, then dies before its migration copies the last values:
    # the file is still version 1 and its readers still see them.
    path, now = tmp_path / "j.sqlite3", 1_000_000.0
    v1_journal(path, now)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE context_last_values (context TEXT NOT NULL, flag_key TEXT NOT NULL,"
            " evaluation TEXT, at REAL NOT NULL, deleted INTEGER NOT NULL,"
            " PRIMARY KEY (context, flag_key))"
        )
    last = reader.read_last_values(path)
    assert last["default"]["f"].evaluation == ON and last["default"]["gone"].deleted
