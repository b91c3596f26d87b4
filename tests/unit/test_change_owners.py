"""Which event a journalled value change belongs to (domain/change_owners.py): the one rule the
backfill of a monitor's rows (store/recorded.py) and `export` (store/export_window.py) tie by."""

from __future__ import annotations

from msgspec.structs import replace

from togul_monitor.domain.change_owners import (
    CLOCKS_APART,
    TIE_WITHIN,
    UNSEEN_TIE_WITHIN,
    ChangeOwners,
    owned_span,
)
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import Evaluation, ValueTransition

ON = Evaluation(True, "boolean", "default", True)


def event(env: str, at: float, event_id: str | None = None, key: str = "f") -> FlagEvent:
    return FlagEvent("flag.updated", key, env, 2, 100, event_id, at)


def change(at: float, event_id: str | None = None, key: str = "f") -> ValueTransition:
    return ValueTransition(key, None, ON, event_id, at)


def owners(*events: FlagEvent, environment_id: str | None = "env-p") -> ChangeOwners:
    made = ChangeOwners(environment_id)
    for e in events:
        made.add(e)
    return made


def test_a_tokens_stream_ties_a_change_to_the_profiles_environment_only() -> None:
    """A token's stream carries every environment, with the same flag keys, and ids that each
    environment numbers on its own; the values are the profile's environment's."""
    production, staging = event("env-p", 10.0), event("env-s", 10.3)
    assert owners(production, staging).owner(change(10.5)) is production
    with_ids = event("env-p", 10.0, "7"), event("env-s", 10.3, "7")
    assert owners(*with_ids).owner(change(10.5, "7")) is with_ids[0]
    # Only staging's event came: the change explains none of it.
    assert owners(staging).owner(change(10.5)) is None
    assert owners(with_ids[1]).owner(change(10.5, "7")) is None
    # The profile's environment not known: any event may explain it.
    assert owners(production, staging, environment_id=None).owner(change(10.5)) is staging


def test_with_an_id_the_flags_newest_event_of_that_id_received_by_then() -> None:
    # A restarted server numbers its events from 1 again: the same flag's id 4, twice.
    first, again = event("env-p", 100.0, "4"), event("env-p", 200.0, "4")
    other_flag = event("env-p", 150.0, "4", key="g")
    found = owners(first, other_flag, again)
    assert found.owner(change(100.5, "4")) is first
    assert found.owner(change(200.5, "4")) is again
    # Another recorder stamped the event, by a clock a little ahead (a shared journal).
    assert found.owner(change(200.0 - CLOCKS_APART / 2, "4")) is again
    assert found.owner(change(99.0 - CLOCKS_APART, "4")) is None
    assert found.owner(change(200.5, "5")) is None


def test_without_an_id_the_last_event_without_one_if_the_change_came_soon_after() -> None:
    edited = event("env-p", 10.0)
    found = owners(edited)
    assert found.owner(change(10.0 + TIE_WITHIN)) is edited
    assert found.owner(change(10.0 + TIE_WITHIN + 1)) is None  # a re-evaluation of its own
    unseen = replace(change(10.0 + UNSEEN_TIE_WITHIN + 1), includes_unseen=True)
    assert found.owner(unseen) is None  # found after an outage: not the event's from before
    assert found.owner(change(9.0)) is None  # computed before any event: none
    # Where events have ids, a change without one was found by a re-evaluation of its own.
    assert owners(event("env-p", 10.0, "1")).owner(change(10.5)) is None


def test_an_export_keeps_the_latest_events_of_each_flag() -> None:
    kept = ChangeOwners("env-p", per_flag=2)
    events = [event("env-p", float(at), str(at)) for at in range(10)]
    for e in events:
        kept.add(e)
    assert kept.owner(change(9.5, "9")) is events[9]
    assert kept.owner(change(8.5, "8")) is events[8]
    assert kept.owner(change(0.5, "0")) is None  # long forgotten


def test_an_events_span_is_when_the_rule_gives_it_a_change_of_its_id() -> None:
    """`owned_span` (the monitor's look-up of one event's changes) says what `owner` says: a
    restarted server's two events 1 of the flag, another flag's between them."""
    first, other, again = (
        event("env-p", 10.0, "1"),
        event("env-p", 20.0, "1", "g"),
        event("env-p", 50.0, "1"),
    )
    rule = owners(first, other, again)
    spans = {id(first): owned_span(first, [other, again]), id(again): owned_span(again, [])}
    assert spans[id(first)] == (10.0 - CLOCKS_APART, 50.0 - CLOCKS_APART)
    for at in (4.0, 5.0, 10.5, 44.9, 45.0, 50.5, 99.0):
        owner = rule.owner(change(at, "1"))
        for e in (first, again):
            since, until = spans[id(e)]
            inside = since <= at and (until is None or at < until)
            assert inside == (owner is e), (at, e.received_at)
