"""Which answer is a flag's first value that an event brought (`ValueUpdated.first`, what
`tail` prints as `now X (first value …)`) and which one a transition from nothing (a flag an
event created), driven through `Evaluations` without a server: the answers are handed to it as
the reevaluator would."""

from __future__ import annotations

from togul_monitor.client.evaluate import EvaluateResult, Outcome
from togul_monitor.core.evaluation import Evaluations
from togul_monitor.core.updates import MonitorUpdate, TransitionRecorded, ValueUpdated
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import Evaluation

ON = Evaluation(True, "boolean", "default", True)
OFF = Evaluation(False, "boolean", "disabled", False)


def evaluations(
    watched: tuple[str, ...] = (), listed: tuple[str, ...] = ()
) -> tuple[Evaluations, list[MonitorUpdate]]:
    published: list[MonitorUpdate] = []
    e = Evaluations(published.append, lambda: 0.0, watched=watched, retry_delay=0)
    e.seed({}, listed)
    return e, published


def ev(key: str, type_: str = "flag.updated", event_id: str = "1") -> FlagEvent:
    return FlagEvent(type_, key, "env", 1, 0.0, event_id, 0.0)


def answer(
    e: Evaluations,
    key: str,
    value: Evaluation,
    *,
    superseded: bool = False,
    event_id: str | None = "1",
) -> None:
    e._on_result(key, event_id, EvaluateResult(Outcome.OK, value, 200), superseded)


def firsts(published: list[MonitorUpdate]) -> list[str]:
    return [u.value.flag_key for u in published if isinstance(u, ValueUpdated) and u.first]


def first_events(published: list[MonitorUpdate]) -> list[str | None]:
    """The event each first value answers (its trigger)."""
    return [u.value.trigger_event_id for u in published if isinstance(u, ValueUpdated) and u.first]


def transitions(published: list[MonitorUpdate]) -> list[tuple[object, object]]:
    return [
        (u.transition.before, u.transition.after)
        for u in published
        if isinstance(u, TransitionRecorded)
    ]


def test_an_unknown_flag_s_first_answer_after_its_event_is_its_first_value_once() -> None:
    e, published = evaluations()
    e.on_events([ev("a")])
    answer(e, "a", ON)
    answer(e, "a", OFF)
    assert firsts(published) == ["a"] and transitions(published) == [(ON, OFF)]


def test_a_listed_flag_still_unanswered_when_its_event_comes_gets_a_first_value() -> None:
    e, published = evaluations(watched=("w",), listed=("l",))
    answer(e, "l", ON)  # the start's answer, no event: a baseline, said by nobody
    e.on_events([ev("w"), ev("l")])
    answer(e, "w", ON)
    answer(e, "l", ON)
    assert firsts(published) == ["w"] and transitions(published) == []


def test_a_created_flag_s_first_answer_is_a_transition_from_nothing_not_a_first_value() -> None:
    e, published = evaluations()
    e.on_events([ev("new", "flag.created"), ev("new")])
    answer(e, "new", OFF)
    assert firsts(published) == [] and transitions(published) == [(None, OFF)]


def test_a_created_flag_s_first_answer_superseded_by_its_next_event_is_that_event_s() -> None:
    """The creation's answer came once the next change was known (it may already be that
    change's value): it is not the creation's own change, which tail has said was evaluated with
    the next one. The next answer is the transition from nothing, under the newer event."""
    e, published = evaluations()
    e.on_events([ev("new", "flag.created", event_id="1")])
    e.on_events([ev("new", event_id="2")])  # while the creation's call flies
    answer(e, "new", ON, superseded=True, event_id="1")
    answer(e, "new", OFF, event_id="2")
    assert firsts(published) == [] and transitions(published) == [(None, OFF)]
    owners = [u.transition.event_id for u in published if isinstance(u, TransitionRecorded)]
    assert owners == ["2"]


def test_a_superseded_first_answer_is_the_before_of_the_event_s_own_answer() -> None:
    e, published = evaluations()
    e.on_events([ev("a"), ev("b")])
    answer(e, "a", ON, superseded=True)  # asked before the event's change: its before
    answer(e, "a", OFF)
    answer(e, "b", ON, superseded=True)
    answer(e, "b", ON)  # the event changed nothing it gets: said as its first value
    assert transitions(published) == [(ON, OFF)] and firsts(published) == ["b"]


def test_a_first_value_answers_the_event_that_asked_last() -> None:
    e, published = evaluations(listed=("l",))
    e.on_events([ev("l", event_id="E1")])  # the start's call for l still flies
    answer(e, "l", ON, superseded=True, event_id=None)
    answer(e, "l", ON, event_id="E1")
    e.on_events([ev("u", event_id="E2")])
    e.on_events([ev("u", event_id="E3")])  # while E2's answer flies
    answer(e, "u", ON, superseded=True, event_id="E2")
    answer(e, "u", ON, event_id="E3")
    assert first_events(published) == ["E1", "E3"]


def test_a_flag_deleted_before_its_first_answer_has_no_first_value() -> None:
    e, published = evaluations()
    e.on_events([ev("a")])
    e.on_events([ev("a", "flag.deleted")])
    answer(e, "a", ON)  # it came back: a transition from nothing
    assert firsts(published) == [] and transitions(published) == [(None, ON)]


def test_a_listed_flag_still_unanswered_that_an_event_creates_gets_a_transition_from_nothing() -> (
    None
):
    e, published = evaluations(listed=("l",))
    e.on_events([ev("l", "flag.created")])  # deleted and made again before the start answered
    answer(e, "l", ON)
    assert firsts(published) == [] and transitions(published) == [(None, ON)]
