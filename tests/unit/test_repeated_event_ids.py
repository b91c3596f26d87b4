"""A server that restarts numbers its events from 1 again: one id then names events of two flags.
A value change is found for an event by its id and its flag (and the profile's environment), in
memory, in the journal and when a start ties the journal's changes to its preloaded events."""

from __future__ import annotations

import time
from pathlib import Path

from togul_monitor.core.contexts import ContextEvaluations
from togul_monitor.core.environment import Environments
from togul_monitor.core.loop import OwnerLoop
from togul_monitor.core.queries import transitions_for
from togul_monitor.core.transition_memory import TransitionMemory
from togul_monitor.domain.event_log import EventLog
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.store.journal import open_journal_at
from togul_monitor.store.recorded import tie_changes

from ..journal_backends import JournalBackend

OFF = Evaluation(False, "boolean", "default", True)
ON = Evaluation(True, "boolean", "default", True)
# The first server life's event 4, which changed no value, and the second life's event 4.
EARLIER = FlagEvent("flag.updated", "new-dashboard", "env-1", 5, 100, "4", 100.0)
LATER = FlagEvent("flag.updated", "beta-search", "env-1", 5, 200, "4", 200.0)
CHANGE = ValueTransition("beta-search", OFF, ON, "4", 200.5)


def test_the_journal_finds_an_events_change_by_its_id_and_its_flag(
    journal_backend: JournalBackend,
) -> None:
    journal = journal_backend.open()
    try:
        journal.append_events([EARLIER, LATER])
        journal.append_transition(CHANGE)
        assert journal.flush()
    finally:
        journal.close()
    read = journal_backend.reader()
    assert read.transitions_for("4", "new-dashboard") == []
    assert read.transitions_for("4", "beta-search") == [CHANGE]
    # Of the flag's events of the id, the one computed when (domain/change_owners.py).
    assert read.transitions_for("4", "beta-search", 195.0, None) == [CHANGE]
    assert read.transitions_for("4", "beta-search", 195.0, 200.5) == []
    assert read.transitions_for("4", "beta-search", 200.6) == []
    assert read.transitions_for("4", "beta-search", None, 200.6) == [CHANGE]


def test_memory_finds_an_events_change_by_its_id_and_its_flag() -> None:
    memory = TransitionMemory()
    memory.add(CHANGE)
    assert memory.for_event("4", "new-dashboard") == []
    assert memory.for_event("4", "beta-search") == [CHANGE]


def test_the_monitors_lookup_falls_back_to_the_journal_for_the_same_flag_only(
    tmp_path: Path,
) -> None:
    journal = open_journal_at("p", tmp_path / "j.sqlite3")
    try:
        journal.append_transition(CHANGE)  # an earlier run's: not in this run's memory
        evaluations = ContextEvaluations(lambda _: None, time.time, watched=(), retry_delay=5.0)
        environments = Environments("production")
        state = OwnerLoop(), evaluations, environments, journal, EventLog()
        assert transitions_for(*state, EARLIER) == []
        assert transitions_for(*state, LATER) == [CHANGE]
        # A token's stream: the same id and flag in another environment changed none of the
        # profile's values.
        environments.environment_id = "env-1"
        elsewhere = FlagEvent("flag.updated", "beta-search", "env-2", 5, 200, "4", 200.0)
        assert transitions_for(*state, elsewhere) == []
        assert transitions_for(*state, LATER) == [CHANGE]
    finally:
        journal.close()


def test_a_start_ties_a_recorded_change_to_its_own_flags_event_of_that_id() -> None:
    old_change = ValueTransition("new-dashboard", OFF, ON, "4", 100.5)
    # The newer event of the id is another flag's: the older change stays with its own.
    tied = tie_changes([EARLIER, LATER], [old_change], [])
    assert tied.transitions == ((EARLIER, old_change),)
    tied = tie_changes([EARLIER, LATER], [CHANGE], [])
    assert tied.transitions == ((LATER, CHANGE),)
    # Of the profile's environment only, when it is known.
    elsewhere = FlagEvent("flag.updated", "beta-search", "env-2", 5, 300, "4", 300.0)
    tied = tie_changes([LATER, elsewhere], [CHANGE], [], "env-1")
    assert tied.transitions == ((LATER, CHANGE),)


def test_a_start_ties_each_life_s_change_to_its_own_event_of_one_flag_and_id() -> None:
    """The same flag's event 4 in both lives of the server: the first life's change is the
    first event's, not the newer one's (received after the change was computed)."""
    again = FlagEvent("flag.updated", "beta-search", "env-1", 9, 300, "4", 300.0)
    newer = ValueTransition("beta-search", ON, OFF, "4", 300.5)
    tied = tie_changes([LATER, again], [CHANGE, newer], [], "env-1")
    assert tied.transitions == ((LATER, CHANGE), (again, newer))


def test_the_monitors_lookup_gives_an_event_of_an_earlier_life_its_own_changes_only(
    tmp_path: Path,
) -> None:
    """The flag's event 4 of the first life changed no value, that of the second did: the
    detail's look-up (memory, else the journal) of the first says none, as the feed's row does,
    not the second life's change; and each life's change is its own event's."""
    first = FlagEvent("flag.updated", "beta-search", "env-1", 3, 100, "4", 100.0)
    log = EventLog()
    log.extend([first, LATER])
    for in_memory in (True, False):
        journal = open_journal_at("p", tmp_path / f"{in_memory}.sqlite3")
        try:
            journal.append_events([first, LATER])
            evaluations = ContextEvaluations(lambda _: None, time.time, watched=(), retry_delay=5.0)
            if in_memory:
                evaluations.memory.add(CHANGE)
            else:
                journal.append_transition(CHANGE)
            state = OwnerLoop(), evaluations, Environments("production"), journal, log
            assert transitions_for(*state, first) == [], in_memory
            assert transitions_for(*state, LATER) == [CHANGE], in_memory
            # The first life's event 4 changed the value too: each event its own change.
            own = ValueTransition("beta-search", ON, OFF, "4", 100.5)
            if in_memory:
                evaluations.memory.add(own)
            else:
                journal.append_transition(own)
            assert transitions_for(*state, first) == [own], in_memory
            assert transitions_for(*state, LATER) == [CHANGE], in_memory
        finally:
            journal.close()
