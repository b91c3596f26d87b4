"""The flag limit (core/evaluation.py, `max_flags`): flag keys come from the server, so the
monitor keeps values for at most that many; the events of further flags are counted."""

from __future__ import annotations

import pytest

from togul_monitor.core import deleted_flags
from togul_monitor.core.evaluation import Evaluations
from togul_monitor.core.updates import MonitorUpdate
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import Evaluation
from togul_monitor.store.journal import LastValue

ON = Evaluation(True, "boolean", "default", True)


def evaluations(max_flags: int, watched: tuple[str, ...] = ()) -> Evaluations:
    published: list[MonitorUpdate] = []
    return Evaluations(
        published.append, lambda: 0.0, watched=watched, retry_delay=0, max_flags=max_flags
    )


def ev(key: str, type_: str = "flag.updated") -> FlagEvent:
    return FlagEvent(type_, key, "env", 1, 0.0, None, 0.0)


def test_seeding_keeps_watched_flags_then_listed_then_remembered_up_to_the_limit() -> None:
    e = evaluations(3, watched=("w1", "w2"))
    remembered = {k: LastValue(k, ON, 0.0, False) for k in ("w1", "r1", "r2")}
    left_out = e.seed(remembered, ["l1", "l2"])
    assert sorted(e.values.keys()) == ["l1", "w1", "w2"]
    assert e.values.get("w1").current == ON  # type: ignore[union-attr]  # its last value
    assert left_out == 3  # l2, r1, r2


def test_events_of_flags_beyond_the_limit_are_counted_not_kept() -> None:
    e = evaluations(3, watched=("w",))
    e.seed({}, [])
    e.on_events([ev("a"), ev("b"), ev("c"), ev("a"), ev("d", "flag.deleted"), ev("b")])
    assert sorted(e.values.keys()) == ["a", "b", "w"]
    assert e.unmonitored_events == 2  # c, and d's deletion
    e.on_events([ev("a"), ev("e")])  # a known flag still counts as news
    assert e.values.get("a").stale  # type: ignore[union-attr]
    assert e.unmonitored_events == 3
    e.set_watched("x", True)  # what the user watches is monitored beyond the limit
    assert "x" in e.values


def test_a_flag_deleted_and_made_again_in_one_batch_takes_one_place() -> None:
    e = evaluations(2)
    e.seed({}, [])
    e.on_events([ev("a", "flag.deleted"), ev("a", "flag.created"), ev("b"), ev("c")])
    assert sorted(e.values.keys()) == ["a", "b"]
    assert e.values.get("a").stale  # type: ignore[union-attr]  # made again: evaluated
    assert e.unmonitored_events == 1  # c


def test_deleted_flags_leave_room_and_only_the_latest_are_asked_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A long run sees flags made and deleted: they must not fill the limit, nor cost a
    request each every time everything is asked again (after an outage)."""
    monkeypatch.setattr(deleted_flags, "DELETED_ASKED_AGAIN", 2)
    e = evaluations(3)
    e.seed({}, [])
    e.on_events([ev("a"), ev("b"), ev("c")])
    e.on_events([ev(key, "flag.deleted") for key in ("a", "b", "c")])
    e.on_events([ev("d"), ev("e")])  # room again: three deleted, none live
    assert e.unmonitored_events == 0 and "e" in e.values
    asked: list[str] = []
    e._reevaluator = Asked(asked)  # type: ignore[assignment]
    e.evaluate_everything()
    assert asked == ["d", "e", "b", "c"]  # the live ones, then the two deleted last


def test_seeding_keeps_only_the_latest_remembered_deleted_flags(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(deleted_flags, "DELETED_ASKED_AGAIN", 2)
    e = evaluations(2)
    # In the journal's order, which is no time order: the two deleted last are kept.
    remembered = {
        k: LastValue(k, ON, at, True) for k, at in (("x1", 1.0), ("x2", 3.0), ("x3", 2.0))
    }
    remembered["live"] = LastValue("live", ON, 0.0, False)
    assert e.seed(remembered, []) == 0
    assert sorted(e.values.keys()) == ["live", "x2", "x3"]


class Asked:
    def __init__(self, asked: list[str]) -> None:
        self.asked = asked

    def request(self, key: str, trigger: object, **kinds: bool) -> None:
        self.asked.append(key)


def test_a_flag_listed_and_remembered_beyond_the_limit_is_counted_once() -> None:
    e = evaluations(1)
    remembered = {k: LastValue(k, ON, 0.0, False) for k in ("l1", "l2")}
    assert e.seed(remembered, ["l1", "l2"]) == 1  # l2


def test_every_context_monitors_the_flags_any_context_remembers() -> None:
    """A context added since the journal recorded its flags asks for them too (a blank value,
    evaluated at the start), and a flag remembered deleted is deleted in it too."""
    from togul_monitor.core.contexts import ContextEvaluations

    contexts = ContextEvaluations(
        lambda _: None, lambda: 0.0, contexts=("old", "new"), watched=(), retry_delay=0
    )
    remembered = {
        "old": {
            "kept": LastValue("kept", ON, 1.0, False, "old"),
            "gone": LastValue("gone", ON, 2.0, True, "old"),
        }
    }
    assert contexts.seed(remembered, []) == 0
    old, new = contexts.value_sets["old"], contexts.value_sets["new"]
    assert old.get("kept").current == ON  # type: ignore[union-attr]
    assert new.to_ask_again(deleted=10) == ["kept", "gone"]  # what `evaluate_everything` asks
    fresh, gone = new.get("kept"), new.get("gone")
    assert fresh is not None and fresh.current is None and not fresh.deleted
    assert gone is not None and gone.deleted and gone.previous is None


def test_a_context_the_profile_no_longer_has_brings_back_no_flag() -> None:
    """A context removed (or renamed) keeps its last values in the journal, frozen: a flag
    deleted since lives on there. Only the profile's contexts are read, each flag decided by
    its newest remembered value."""
    from togul_monitor.core.contexts import ContextEvaluations

    contexts = ContextEvaluations(
        lambda _: None,
        lambda: 0.0,
        contexts=("premium",),
        watched=(),
        retry_delay=0,
        max_flags=100,
    )
    keys = [f"f{i}" for i in range(200)]
    deleted = {k: LastValue(k, ON, 5.0 + i, True, "premium") for i, k in enumerate(keys)}
    live = {k: LastValue(k, ON, 1.0, False, "premium") for k in ("a", "b", "c")}
    remembered = {
        "retired": {k: LastValue(k, ON, 1.0, False, "retired") for k in keys},
        "premium": {**deleted, **live},
    }
    assert contexts.seed(remembered, ["a", "b", "c"]) == 0  # no live flag left out
    premium = contexts.value_sets["premium"]
    assert len(premium) < 100  # the latest deletions only, not all 200 brought back
    assert sorted(premium.to_ask_again(deleted=0)) == ["a", "b", "c"]
