"""A flag created and deleted before its creation was evaluated: the deletion's answer (a 404)
is not the created event's value (ui/view/answers.py)."""

from __future__ import annotations

from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import FlagValue
from togul_monitor.ui.view.answers import ValueAnswers
from togul_monitor.ui.view.contexts import context_states

CREATED = FlagEvent("flag.created", "zz-a", "env", 1, 1.0, "e1", 1.0)
DELETED = FlagEvent("flag.deleted", "zz-a", "env", 2, 1.05, "e2", 1.05)


def gone(context: str = "default") -> FlagValue:
    return FlagValue("zz-a", None, None, 2.0, "e2", False, True, None, context)


def answers_of(contexts: tuple[str, ...]) -> ValueAnswers:
    answers = ValueAnswers()
    answers.reset(evaluates=True, contexts=contexts)
    return answers


def test_the_created_event_answered_with_its_deletion_was_evaluated_with_the_next_change() -> None:
    answers = answers_of(("default", "free"))
    answers.event(CREATED)
    answers.event(DELETED)
    for context in answers.contexts:
        assert answers.value(gone(context)) is DELETED
    assert context_states(CREATED, answers, ()) == {
        "default": "evaluated with the next change",
        "free": "evaluated with the next change",
    }
    assert answers.with_next(CREATED) == ("default", "free")
    assert context_states(DELETED, answers, ()) == {"default": "deleted", "free": "deleted"}


def test_a_404_that_came_before_the_deletion_event_is_still_not_the_created_value() -> None:
    # The evaluation of the created event ran after the flag was deleted, and its answer was
    # drained before the deletion's event: no event of the flag is deleted in its group, yet
    # a created flag is never "deleted" by itself.
    answers = answers_of(("default",))
    answers.event(CREATED)
    assert answers.value(gone()) is CREATED
    verdict = answers.answer(CREATED)
    assert verdict is not None and verdict.state == "with-next"
    answers.event(DELETED)
    answers.value(gone())
    verdict = answers.answer(DELETED)
    assert verdict is not None and verdict.state == "deleted"
