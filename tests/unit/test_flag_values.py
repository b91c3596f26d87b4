"""The rules that turn evaluate answers into values and before → after transitions."""

from __future__ import annotations

from togul_monitor.domain.flag_values import FlagValues
from togul_monitor.domain.values import (
    Evaluation,
    evaluation_from_json,
    evaluation_to_json,
    evaluations_differ,
)

ON = Evaluation(True, "boolean", "default", True)
OFF = Evaluation(False, "boolean", "disabled", False)


def test_first_answer_is_a_baseline_not_a_transition() -> None:
    values = FlagValues()
    value, transition = values.record("f", ON, event_id="7", at=1.0)
    assert transition is None
    assert value.current == ON and value.previous is None and not value.stale
    assert value.trigger_event_id == "7"


def test_change_of_value_records_one_transition_tied_to_the_event() -> None:
    values = FlagValues()
    values.record("f", ON, event_id=None, at=1.0)
    value, transition = values.record("f", OFF, event_id="42", at=2.0)
    assert transition is not None
    assert (transition.before, transition.after, transition.event_id) == (ON, OFF, "42")
    assert value.previous == ON and value.current == OFF


def test_same_answer_records_nothing() -> None:
    values = FlagValues()
    values.record("f", ON, event_id="1", at=1.0)
    value, transition = values.record("f", ON, event_id="2", at=2.0)
    assert transition is None
    assert value.trigger_event_id == "1"  # the event that produced the value we show


def test_reason_or_enabled_alone_is_a_change_but_value_type_alone_is_not() -> None:
    assert evaluations_differ(ON, Evaluation(True, "boolean", "rule_match", True))
    assert evaluations_differ(ON, Evaluation(True, "boolean", "default", False))
    assert not evaluations_differ(ON, Evaluation(True, None, "default", True))


def test_true_and_one_are_different_values_but_one_and_one_point_zero_are_one_number() -> None:
    """JSON has one number type: a server that writes `1.0` for `1` changed nothing."""
    assert evaluations_differ(Evaluation(True, None, "x", True), Evaluation(1, None, "x", True))
    assert evaluations_differ(Evaluation(1, None, "x", True), Evaluation("1", None, "x", True))
    assert not evaluations_differ(Evaluation(1, None, "x", True), Evaluation(1.0, None, "x", True))
    assert not evaluations_differ(
        Evaluation({"a": 1, "b": {"c": [1, 2.0]}}, "json", "x", True),
        Evaluation({"b": {"c": [1, 2]}, "a": 1.0}, "json", "x", True),
    )
    assert evaluations_differ(
        Evaluation({"a": [1, True]}, "json", "x", True),
        Evaluation({"a": [1, 1]}, "json", "x", True),
    )
    deep: object = 0
    for _ in range(5000):  # deeper than Python recurses: compared, not a crash
        deep = [deep]
    assert not evaluations_differ(
        Evaluation(deep, "json", "x", True), Evaluation(deep, "json", "x", True)
    )
    assert not evaluations_differ(
        Evaluation({"a": 1, "b": [1]}, "json", "x", True),
        Evaluation({"b": [1], "a": 1}, "json", "x", True),
    )


def test_mark_stale_reports_only_the_first_of_a_burst() -> None:
    values = FlagValues()
    values.record("f", ON, event_id=None, at=1.0)
    first = values.mark_stale("f")
    assert first is not None and first.stale
    assert values.mark_stale("f") is None


def test_deletion_keeps_the_last_value_and_records_a_transition_to_nothing() -> None:
    values = FlagValues()
    values.record("f", ON, event_id=None, at=1.0)
    value, transition = values.mark_deleted("f", event_id="9", at=2.0)
    assert value.deleted and value.current is None and value.previous == ON
    assert transition is not None and transition.after is None and transition.before == ON
    again, second = values.mark_deleted("f", event_id="10", at=3.0)
    assert again.deleted and second is None


def test_a_flag_that_comes_back_after_deletion_is_a_transition_from_nothing() -> None:
    values = FlagValues()
    values.record("f", ON, event_id=None, at=1.0)
    values.mark_deleted("f", event_id="9", at=2.0)
    value, transition = values.record("f", ON, event_id="11", at=3.0)
    assert transition is not None and transition.before is None and transition.after == ON
    assert not value.deleted


def test_a_flag_created_by_an_event_gets_its_first_value_as_a_transition_from_nothing() -> None:
    values = FlagValues()
    values.mark_new("new", created=True)
    values.mark_stale("new")
    value, transition = values.record("new", ON, event_id="3", at=1.0)
    assert transition is not None and (transition.before, transition.after) == (None, ON)
    assert transition.event_id == "3" and value.current == ON and value.previous is None
    # Once: the next answer compares with that value.
    assert values.record("new", ON, event_id="4", at=2.0)[1] is None


def test_created_marks_only_a_flag_without_a_value_and_ends_with_its_deletion() -> None:
    values = FlagValues()
    values.record("known", ON, event_id=None, at=1.0)
    values.mark_new("known", created=True)  # it had a value: compared as ever
    assert values.record("known", ON, event_id="2", at=2.0)[1] is None
    values.mark_new("gone", created=True)
    values.mark_deleted("gone", event_id="5", at=3.0)  # deleted before it answered
    _, back = values.record("gone", ON, event_id="6", at=4.0)
    assert back is not None and back.before is None  # from deleted, as a flag that came back
    values.mark_new("once", created=True)
    values.mark_deleted("once", event_id="7", at=5.0)
    values.mark_deleted("once", event_id="8", at=6.0)
    assert values._new == {}


def test_the_first_answer_of_a_flag_an_event_brought_is_its_first_value_once() -> None:
    values = FlagValues()
    values.mark_new("seen", created=False)
    assert values.first_by_event("seen") and not values.first_by_event("other")
    _, transition = values.record("seen", ON, event_id="1", at=1.0)
    assert transition is None and not values.first_by_event("seen")  # answered: once
    values.mark_new("seen", created=False)  # it has a value now: no longer new
    assert not values.first_by_event("seen")


def test_seeded_value_from_the_journal_is_the_baseline_of_the_first_answer() -> None:
    values = FlagValues()
    seeded = values.seed("f", ON, 1.0)
    assert seeded.stale
    _, transition = values.record("f", OFF, event_id=None, at=5.0)
    assert transition is not None and transition.before == ON and transition.event_id is None


def test_error_keeps_the_value_and_stays_stale() -> None:
    values = FlagValues()
    values.record("f", ON, event_id=None, at=1.0)
    value = values.mark_error("f", "HTTP 503")
    assert value.current == ON and value.stale and value.error == "HTTP 503"
    cleared, _ = values.record("f", ON, event_id=None, at=2.0)
    assert cleared.error is None


def test_evaluation_json_round_trip_is_tolerant() -> None:
    ev = Evaluation({"k": [1, 2]}, "json", "rule_match", True)
    assert evaluation_from_json(evaluation_to_json(ev)) == ev
    assert evaluation_from_json({"value": 3}) == Evaluation(3, None, None, None)
    assert evaluation_from_json("nope") is None


def test_a_change_after_the_stream_may_have_missed_some_says_so_once() -> None:
    values = FlagValues()
    values.record("f", ON, event_id="1", at=1.0)
    values.record("g", ON, event_id="2", at=1.0)
    values.mark_unseen()
    # A superseded answer (a newer change is being evaluated) settles nothing.
    _, transition = values.record("f", OFF, event_id="3", at=2.0, still_stale=True)
    assert transition is not None and transition.includes_unseen
    _, transition = values.record("f", ON, event_id="4", at=3.0)
    assert transition is not None and transition.includes_unseen
    _, transition = values.record("f", OFF, event_id="5", at=4.0)  # seen from here on
    assert transition is not None and not transition.includes_unseen
    _, deleted = values.mark_deleted("g", event_id="6", at=5.0)
    assert deleted is not None and deleted.includes_unseen


def test_a_value_remembered_from_an_earlier_run_may_have_changed_unseen() -> None:
    values = FlagValues()
    values.seed("f", ON, 1.0)
    values.seed("gone", None, 1.0, deleted=True)
    _, transition = values.record("f", OFF, event_id="7", at=2.0)
    assert transition is not None and transition.event_id == "7" and transition.includes_unseen
    _, back = values.record("gone", ON, event_id=None, at=2.0)  # came back while away
    assert back is not None and back.includes_unseen
    _, transition = values.record("f", ON, event_id="8", at=3.0)
    assert transition is not None and not transition.includes_unseen


def test_a_remembered_value_is_unmarked_once_the_time_since_its_run_is_proved_whole() -> None:
    """The journal dates the earlier run's end (`dated`): the time since is the run's first
    outage, and its replay proved whole makes the remembered value and the replayed events the
    whole account, at once or later (domain/unseen.py)."""
    at_once = FlagValues()
    at_once.seed("f", ON, 1.0, dated=True)
    at_once.seed("gone", None, 1.0, deleted=True, dated=True)
    at_once.unseen.unmark_remembered()  # the outage between the runs, told whole
    _, transition = at_once.record("f", OFF, event_id="7", at=2.0)
    assert transition is not None and not transition.includes_unseen
    _, back = at_once.record("gone", ON, event_id="8", at=2.0)
    assert back is not None and not back.includes_unseen

    later = FlagValues()
    later.seed("f", ON, 1.0, dated=True)
    later.mark_unseen()  # reported as one that may have missed changes...
    later.unseen.unmark_outage()  # ...then proved whole by the first event after it
    _, transition = later.record("f", OFF, event_id="7", at=2.0)
    assert transition is not None and not transition.includes_unseen


def test_a_remembered_value_keeps_its_mark_where_nothing_proved_the_time_since() -> None:
    undated = FlagValues()  # an older program's journal: no "watched until" mark
    undated.seed("f", ON, 1.0)
    undated.unseen.unmark_remembered()
    undated.mark_unseen()
    undated.unseen.unmark_outage()
    never = FlagValues()  # the outage between the runs not proved, a later one proved whole
    never.seed("f", ON, 1.0, dated=True)
    never.mark_unseen()
    never.mark_unseen()
    never.unseen.unmark_outage()
    never.unseen.unmark_remembered()
    gap = FlagValues()  # a possible gap of the flag's own before the proof
    gap.seed("f", ON, 1.0, dated=True)
    gap.mark_unseen(["f"])
    gap.unseen.unmark_remembered()
    for values in (undated, never, gap):
        _, transition = values.record("f", OFF, event_id="7", at=2.0)
        assert transition is not None and transition.includes_unseen


def test_a_deletion_answered_again_is_known_as_it_is_and_clears_the_mark() -> None:
    """A flag deleted before an outage, answered 404 after it: still deleted, nothing missed; its
    creation afterwards is its event's alone."""
    values = FlagValues()
    values.record("f", ON, event_id="1", at=1.0)
    values.mark_deleted("f", event_id="2", at=2.0)
    values.mark_unseen()
    _, again = values.mark_deleted("f", event_id=None, at=3.0)  # the re-evaluation's 404
    assert again is None
    _, created = values.record("f", OFF, event_id="4", at=4.0)
    assert created is not None and created.before is None and not created.includes_unseen
    values.seed("g", None, 5.0, deleted=True)  # remembered deleted from an earlier run
    values.mark_deleted("g", event_id=None, at=6.0)  # and answered 404 at the start
    _, back = values.record("g", ON, event_id="7", at=7.0)
    assert back is not None and not back.includes_unseen


def test_every_change_found_while_the_stream_is_blind_is_marked() -> None:
    """Down, or back and not proved whole: a change then may hold one whose event was lost."""
    values = FlagValues()
    values.record("f", ON, event_id="1", at=1.0)
    values.record("g", ON, event_id="2", at=1.0)
    values.blind = True
    _, transition = values.record("f", OFF, event_id="1", at=2.0)
    assert transition is not None and transition.includes_unseen
    _, deleted = values.mark_deleted("g", event_id="2", at=2.0)
    assert deleted is not None and deleted.includes_unseen
    values.blind = False  # the outage proved continuity: nothing is left marked
    _, transition = values.record("f", ON, event_id="3", at=3.0)
    assert transition is not None and not transition.includes_unseen
