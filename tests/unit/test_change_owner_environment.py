"""A token's stream carries every environment, whose event ids repeat from one to the next: only
the profile's environment's events own a value change (domain/change_owners.py). The journal's
key of a change (PostgreSQL's `event_seq`: store/postgres/sink.py) and `history`'s tie follow
that rule, so a production event's replayed change replaces its first one instead of being
taken for a staging event's of the same id."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.journal_backends import JournalBackend
from togul_monitor.core.recording import open_journal
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.history import merge_history
from togul_monitor.domain.values import Evaluation, ValueTransition

R = int(time.time()) - 3600  # within the journal's retention
A, B, C = (Evaluation(v, "string", "rule_match", True) for v in "abc")
PROD = FlagEvent("flag.updated", "f", "prod", 7, R, "5", R)
STAGING = FlagEvent("flag.updated", "f", "staging", 3, R + 10, "5", R + 10)  # the same id
FIRST = ValueTransition("f", A, B, "5", R + 0.3)
# The production event replayed after an outage (the same event: journalled once), the value
# moved meanwhile: a new change of that event, after staging's event of the id came.
REPLAYED = ValueTransition("f", A, C, "5", R + 100)


def test_history_ties_a_change_to_the_profiles_environment_only() -> None:
    journal = [REPLAYED, FIRST], [STAGING, PROD]  # SQLite keeps both changes, newest first
    shown = merge_history(*journal, limit=10, environment_id="prod")
    assert [e for e in shown if isinstance(e, ValueTransition)] == [REPLAYED]
    # Not known (an ad-hoc profile): any environment's event may own it, as before.
    unknown = merge_history(*journal, limit=10)
    assert [e for e in unknown if isinstance(e, ValueTransition)] == [REPLAYED, FIRST]


def test_a_replayed_change_replaces_the_first_in_the_journal(
    journal_backend: JournalBackend,
) -> None:
    journal = journal_backend.open(environment_id="prod")
    try:
        journal.append_events([PROD])
        journal.append_transition(FIRST)
        journal.append_events([STAGING])
        journal.append_events([PROD])
        journal.append_transition(REPLAYED)
        assert journal.flush(timeout=10) and journal.write_error is None
    finally:
        journal.close()
    read = journal_backend.reader()
    changes = [
        e for e in read.history("f", environment_id="prod") if isinstance(e, ValueTransition)
    ]
    assert changes == [REPLAYED]
    if journal_backend.name == "postgres":  # one row: the change replaced (SQLite keeps both)
        assert list(read.iter_transitions()) == [REPLAYED]


def test_a_recorder_opens_its_journal_with_the_profiles_environment(tmp_path: Path) -> None:
    opened = asyncio.run(open_journal("p", tmp_path, time.time, {}, 10, environment_id="prod"))
    assert opened.journal is not None
    try:
        assert opened.journal.environment_id == "prod"
    finally:
        opened.journal.close()


# A token profile edited from staging to production: its journal holds both environments'
# events (a token's stream carries every one), and a staging change without an event id came
# just after a production event of the flag. It recorded its environment: only a staging event
# explains it, never the production one, though the profile's environment is production now.
NAMES = {"staging": "staging env", "prod": "production"}
STAGED = FlagEvent("flag.updated", "f", "staging", 3, R, None, R)
PRODUCED = FlagEvent("flag.updated", "f", "prod", 8, R + 20, None, R + 20)
STAGING_CHANGE = ValueTransition("f", A, B, None, R + 20.5, environment_key="staging env")


def test_a_change_is_tied_only_to_an_event_of_the_environment_it_recorded() -> None:
    from togul_monitor.domain.change_owners import ChangeOwners
    from togul_monitor.store.recorded import tie_changes

    owners = ChangeOwners("prod", environment_names=NAMES)
    owners.add(STAGED)
    owners.add(PRODUCED)
    assert owners.owner(STAGING_CHANGE) is STAGED  # was PRODUCED
    tied = tie_changes([STAGED, PRODUCED], [STAGING_CHANGE], [], "prod", NAMES)  # the backfill
    assert tied.transitions == ((STAGED, STAGING_CHANGE),)
    # Not recorded (a row written before): the profile's environment's event, as before.
    before = ValueTransition("f", A, B, None, R + 20.5)
    assert owners.owner(before) is PRODUCED
    # With no staging event before it, it is found by a re-evaluation of its own.
    alone = ChangeOwners("prod", environment_names=NAMES)
    alone.add(PRODUCED)
    assert alone.owner(STAGING_CHANGE) is None


def test_export_ties_a_staging_change_to_no_production_event() -> None:
    import io
    import json

    from togul_monitor.store.export import write_jsonl

    out = io.StringIO()
    write_jsonl([PRODUCED], out, NAMES, transitions=[STAGING_CHANGE], environment_id="prod")
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    written = [(r["kind"], r.get("environment_key")) for r in rows]
    assert written == [("event", "production"), ("found", "staging env")]  # was a transition
