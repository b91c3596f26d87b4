"""A snapshot newer than the drained updates must not make a new flag's first value read as
"unchanged" (ui/view/answers.py `know`)."""

from __future__ import annotations

from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import Evaluation, FlagValue
from togul_monitor.ui.view.answers import ValueAnswers

VARIANT = Evaluation({"variant": "A"}, "json", "default", True)
CREATED = FlagEvent("flag.created", "sim-1", "env", 1, 1.0, "e1", 1.0)


def value(*, stale: bool) -> FlagValue:
    return FlagValue("sim-1", VARIANT, None, 2.0, "e1", stale, False, None)


def test_an_answer_in_the_snapshot_before_the_drain_still_answers_first() -> None:
    answers = ValueAnswers()
    answers.event(CREATED)
    answers.know([value(stale=False)])  # the snapshot already holds the answer
    answers.value(value(stale=False))  # then the drain brings it
    verdict = answers.answer(CREATED)
    assert verdict is not None and verdict.state == "first"


def test_a_journal_baseline_is_known() -> None:
    answers = ValueAnswers()
    answers.know([value(stale=True)])  # the journal's last value, stale until re-evaluated
    answers.event(CREATED)
    answers.value(value(stale=False))
    verdict = answers.answer(CREATED)
    assert verdict is not None and verdict.state == "unchanged"


def test_a_first_value_that_answers_a_burst_says_no_earlier_event_left_it_unchanged() -> None:
    # Two quick edits of a flag with no value yet, one answer: the first edit may be the one
    # that set the value, so it is "evaluated with the next change", never "unchanged".
    answers = ValueAnswers()
    edits = [FlagEvent("flag.updated", "sim-1", "env", v, 1.0, f"e{v}", 1.0) for v in (2, 3)]
    for edit in edits:
        answers.event(edit)
    assert answers.value(value(stale=False)) is edits[-1]
    verdicts = [answers.answer(edit) for edit in edits]
    assert [v.state if v else None for v in verdicts] == ["with-next", "first"]
