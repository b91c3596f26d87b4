"""A monitor's history queries: what the journal (past runs) and memory (this run) know of one
flag, merged. Asked from any thread: the loop's state is read on the loop (`OwnerLoop.ask`), the
journal on the asking thread, with a connection of its own."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from togul_monitor.core.contexts import ContextEvaluations
from togul_monitor.core.environment import Environments
from togul_monitor.core.intake import Intake
from togul_monitor.core.loop import OwnerLoop
from togul_monitor.domain.change_owners import owned_span
from togul_monitor.domain.event_log import EventLog
from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.history import FoundDiff, HistoryEntry, merge_history
from togul_monitor.domain.values import ValueTransition
from togul_monitor.store.journal import Journal, JournalError
from togul_monitor.store.recorded import read_merged

log = logging.getLogger("togul_monitor.core.monitor")


def flag_history(
    owner: OwnerLoop,
    intake: Intake,
    evaluations: ContextEvaluations,
    journal: Journal | None,
    flag_key: str,
    limit: int,
    environment_id: str | None = None,
) -> list[HistoryEntry]:
    """Events, value transitions, outages and the diffs re-fetches found of one flag, newest
    first; each value change tied to an event of `environment_id` (the profile's, when known:
    domain/change_owners.py).

    From the journal when recording (so it reaches back past restarts), merged with what is in
    memory (which also covers a journal that fell behind or failed).
    """
    events = intake.log.for_flag(flag_key, limit)

    def in_memory() -> tuple[list[ValueTransition], list[Outage]]:
        return evaluations.transitions_of(flag_key), list(intake.outages)

    transitions, outages = owner.ask(in_memory)
    if events or transitions:
        oldest = min([e.received_at for e in events] + [t.at for t in transitions])
        outages = [o for o in outages if o.received_at >= oldest]
    else:
        outages = []
    stored: list[HistoryEntry] = []
    if journal is not None:
        journal.flush(timeout=2.0)
        try:
            stored = journal.history(flag_key, limit, environment_id)
            # A diff an event explains shows under it (the views keep those by event).
            stored += [
                FoundDiff(d.diff, d.at)
                for d in journal.config_diffs(flag_key, limit)
                if d.diff.found_by_refetch
            ]
        except JournalError as exc:
            log.warning("journal history unavailable: %s", exc)
    return merge_history(
        stored, transitions, events, outages, limit=limit, environment_id=environment_id
    )


def flag_merged(
    journal: Journal | None, flag_key: str, entries: Sequence[HistoryEntry]
) -> dict[FlagEvent, tuple[str, ...]]:
    """The events among `entries` (`flag_history`'s) evaluated with their flag's next change,
    with the contexts: by the journal's answers, the rule `history` reads them by
    (domain/merged.py), in one query; none without a journal, or one that fails (the pane
    then says what it always said)."""
    events = [entry for entry in entries if isinstance(entry, FlagEvent)]
    if journal is None or not events:
        return {}
    try:
        return read_merged(journal, events, flag_key)
    except JournalError as exc:
        log.warning("journal answers unavailable: %s", exc)
        return {}


def transitions_for(
    owner: OwnerLoop,
    evaluations: ContextEvaluations,
    environments: Environments,
    journal: Journal | None,
    log: EventLog,
    event: FlagEvent,
) -> list[ValueTransition]:
    """The transitions the event caused, one per context it changed: from memory, else from
    the journal. Found by the event's id and flag, and when they were computed: a restarted
    server numbers its events from 1 again, so another flag's event of the id changed another
    flag, and the flag's own event of the id in another life of the server (in `log`, the
    monitor's events) changed the values then (domain/change_owners.py `owned_span`). Values
    are the profile's environment's: an event of another (a token's stream) changed none."""
    event_id, flag_key = event.event_id, event.flag_key
    if event_id is None:
        return []
    since, until = owned_span(event, _after(log, event, environments.environment_id))

    def in_memory() -> list[ValueTransition] | None:
        if environments.environment_id not in (None, event.environment_id):
            return None
        return evaluations.transitions_for(event_id, flag_key)

    found = owner.ask(in_memory)
    if found is None:
        return []
    found = [t for t in found if since <= t.at and (until is None or t.at < until)]
    if found or journal is None:
        return found
    journal.flush(timeout=2.0)
    try:
        return journal.transitions_for(event_id, flag_key, since, until)
    except JournalError:
        return []


def _after(log: EventLog, event: FlagEvent, environment_id: str | None) -> list[FlagEvent]:
    """The flag's events in `log` received after `event` (of the profile's environment, when
    known), oldest first."""
    events = log.for_flag(event.flag_key)
    index = next((i for i, e in enumerate(events) if e is event), None)
    later = (
        events[index + 1 :]
        if index is not None
        else [e for e in events if e.received_at > event.received_at]
    )
    return [e for e in later if environment_id in (None, e.environment_id)]
