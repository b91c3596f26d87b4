"""A flag's history merged from a journal another process records and this process's memory
(domain/history.py): each process received the event and computed the value change itself, at
its own times; the history shows each once. Two changes of one source stay two rows."""

from __future__ import annotations

from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.history import merge_history
from togul_monitor.domain.values import Evaluation, ValueTransition

ON = Evaluation(True, "boolean", "default", True)
OFF = Evaluation(False, "boolean", "disabled", False)


def event(received_at: float, event_id: str | None, version: int = 3) -> FlagEvent:
    return FlagEvent("flag.updated", "f", "env-1", version, 90, event_id, received_at)


def change(
    before: Evaluation, after: Evaluation, at: float, event_id: str | None
) -> ValueTransition:
    return ValueTransition("f", before, after, event_id, at)


def test_the_recorders_copy_and_this_processs_copy_of_an_event_and_its_change_are_one_row() -> None:
    journal = [change(ON, OFF, 101.0, "7"), event(100.0, "7")]
    memory = [change(ON, OFF, 101.4, "7"), event(100.3, "7")]
    assert merge_history(journal, memory, limit=10) == journal


def test_without_event_ids_copies_within_seconds_are_one_row_and_flips_stay_rows() -> None:
    # The flag went off, on and off again: three changes, each seen by both processes.
    journal = [change(ON, OFF, 100.0, None), change(OFF, ON, 101.0, None)]
    journal += [change(ON, OFF, 103.0, None), event(99.0, None)]
    memory = [change(ON, OFF, 100.4, None), change(OFF, ON, 101.3, None)]
    memory += [change(ON, OFF, 103.2, None), event(99.2, None)]
    merged = merge_history(journal, memory, limit=10)
    assert merged == sorted(journal, key=lambda e: -getattr(e, "at", 99.0))
    # A change only this process saw stays, as does one seen much later.
    extra = [change(OFF, ON, 130.0, None)]
    assert len(merge_history(journal, memory + extra, limit=10)) == 5


def test_events_of_one_flag_differing_in_what_the_server_sent_are_rows_of_their_own() -> None:
    merged = merge_history([event(100.0, None, 3)], [event(100.0, None, 4)], limit=10)
    assert len(merged) == 2


def test_a_row_in_both_sources_pairs_with_itself_not_with_an_earlier_flip() -> None:
    """One process, no ids: what the pane kept (newest first) and what a read brought again."""
    a, b, c = (
        change(ON, OFF, 101.0, None),
        change(OFF, ON, 103.0, None),
        change(ON, OFF, 105.0, None),
    )
    assert merge_history([c], [c, b, a], limit=10) == [c, b, a]
    assert merge_history([b, a], [c, b, a], limit=10) == [c, b, a]


def test_copies_that_differ_only_in_their_mark_are_one_row() -> None:
    marked = ValueTransition("f", ON, OFF, None, 100.4, includes_unseen=True)
    assert merge_history([change(ON, OFF, 100.0, None)], [marked], limit=10) == [
        change(ON, OFF, 100.0, None)
    ]


def test_events_received_together_are_newest_first_by_version() -> None:
    """A replay after an outage brings several events of the flag in one read."""
    replayed = [event(100.0, str(i), version=i) for i in (4, 5, 6)]  # as they came
    assert [e.version for e in merge_history(replayed, limit=10)] == [6, 5, 4]  # type: ignore[union-attr]
