"""The deleted flags a context keeps (core/deleted_flags.py): the newest `MAX_DELETED_FLAGS`, in
the order they went; beyond them the oldest are forgotten, said once per batch."""

from __future__ import annotations

import asyncio

import pytest

from togul_monitor.client.evaluate import EvaluateResult, Outcome
from togul_monitor.core import deleted_flags
from togul_monitor.core.evaluation import Evaluations
from togul_monitor.core.reevaluate import Reevaluator
from togul_monitor.core.updates import FlagsForgotten, MonitorUpdate
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import Evaluation
from togul_monitor.store.journal import LastValue

from ..waits import until

ON = Evaluation(True, "boolean", "default", True)


def evaluations(published: list[MonitorUpdate], watched: tuple[str, ...] = ()) -> Evaluations:
    e = Evaluations(published.append, lambda: 0.0, watched=watched, retry_delay=0)
    e.seed({}, [])
    return e


def ev(key: str, type_: str = "flag.updated") -> FlagEvent:
    return FlagEvent(type_, key, "env", 1, 0.0, None, 0.0)


def forgotten(published: list[MonitorUpdate]) -> list[FlagsForgotten]:
    return [update for update in published if isinstance(update, FlagsForgotten)]


def test_a_thousand_and_more_deletions_keep_the_newest_thousand() -> None:
    published: list[MonitorUpdate] = []
    e = evaluations(published)
    keys = [f"f{i:04}" for i in range(1_005)]
    e.on_events([ev(key) for key in keys])
    e.on_events([ev(key, "flag.deleted") for key in keys[:1_000]])
    assert len(e.values) == 1_005 and not forgotten(published)  # at the bound: all kept
    e.on_events([ev(key, "flag.deleted") for key in keys[1_000:]])
    assert sorted(e.values.keys()) == keys[5:]
    assert e.values.live_count == 0
    # One update for the batch, the oldest first, not one per flag.
    assert forgotten(published) == [FlagsForgotten(tuple(keys[:5]), "default")]
    e.on_events([ev("late"), ev("late", "flag.deleted")])
    assert "f0005" not in e.values and "late" in e.values


def test_a_flag_created_again_leaves_the_deleted_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deleted_flags, "MAX_DELETED_FLAGS", 2)
    published: list[MonitorUpdate] = []
    e = evaluations(published)
    e.on_events([ev("a"), ev("b"), ev("c")])
    e.on_events([ev("a", "flag.deleted"), ev("b", "flag.deleted")])
    e.on_events([ev("a", "flag.created")])
    e._on_result("a", None, EvaluateResult(Outcome.OK, evaluation=ON), False)
    assert e.values.live_count == 2  # a lives again: b alone is deleted
    e.on_events([ev("c", "flag.deleted")])  # two deleted, the bound
    assert sorted(e.values.keys()) == ["a", "b", "c"]
    e.on_events([ev("d"), ev("d", "flag.deleted")])  # three: b, deleted first, goes
    assert sorted(e.values.keys()) == ["a", "c", "d"]
    assert forgotten(published) == [FlagsForgotten(("b",), "default")]
    e.on_events([ev("b", "flag.created")])  # a forgotten flag comes back as a new one
    assert e.values.created_by_event("b") and e.values.live_count == 2


def test_neither_a_watched_flag_nor_one_asked_about_again_is_forgotten(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(deleted_flags, "MAX_DELETED_FLAGS", 2)
    published: list[MonitorUpdate] = []
    e = evaluations(published, watched=("w",))
    e.on_events([ev("w"), ev("a"), ev("b"), ev("c")])
    e.on_events([ev(key, "flag.deleted") for key in ("w", "a", "b")])  # w, oldest, stays
    assert sorted(e.values.keys()) == ["b", "c", "w"]
    e.on_events([ev("b", "flag.created"), ev("c", "flag.deleted")])
    # b, created again, waits for its answer (which will say it lives): it is not forgotten.
    assert sorted(e.values.keys()) == ["b", "w"]
    e._on_result("b", None, EvaluateResult(Outcome.OK, evaluation=ON), False)
    assert not e.values.mapping["b"].deleted


def test_seeding_keeps_the_newest_deleted_flags_within_the_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(deleted_flags, "MAX_DELETED_FLAGS", 2)
    e = Evaluations(lambda _: None, lambda: 0.0, watched=(), retry_delay=0)
    # In the journal's order, which is no time order: the two deleted last are kept.
    times = (("x1", 4.0), ("x2", 1.0), ("x3", 3.0), ("x4", 2.0))
    remembered = {key: LastValue(key, ON, at, True) for key, at in times}
    remembered["live"] = LastValue("live", ON, 0.0, False)
    e.seed(remembered, [])
    assert sorted(e.values.keys()) == ["live", "x1", "x3"]
    e.on_events([ev("x2", "flag.deleted")])  # a deletion seen now is the newest: x3 goes
    assert sorted(e.values.keys()) == ["live", "x1", "x2"]


async def test_a_late_answer_for_a_forgotten_flag_brings_no_row_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(deleted_flags, "MAX_DELETED_FLAGS", 1)
    published: list[MonitorUpdate] = []
    e = evaluations(published)
    gate, asked = asyncio.Event(), list[str]()

    async def evaluate(key: str) -> EvaluateResult:
        asked.append(key)
        await gate.wait()
        return EvaluateResult(Outcome.OK, evaluation=ON)

    e._reevaluator = Reevaluator(evaluate, e._on_result, settle=0.0)
    e.on_events([ev("a")])
    await until(lambda: asked == ["a"], "a's evaluation in flight")
    e.on_events([ev("a", "flag.deleted"), ev("b"), ev("b", "flag.deleted")])
    assert "a" not in e.values  # forgotten while its answer is on its way
    gate.set()
    await until(lambda: e._reevaluator is not None and e._reevaluator.idle(), "the answer")
    assert "a" not in e.values and sorted(e.values.keys()) == ["b"]
    # Nor does an answer that was not superseded (a 404, a failure) make a row of it.
    e._on_result("a", None, EvaluateResult(Outcome.NOT_FOUND), False)
    e._on_result("a", None, EvaluateResult(Outcome.FAILED, message="boom"), False)
    e._on_result("a", None, EvaluateResult(Outcome.QUOTA, message="spent"), False)
    assert sorted(e.values.keys()) == ["b"]
    await e.aclose()


async def test_the_answer_of_a_forgotten_flag_still_ends_a_quota_pause() -> None:
    """A pause's end asks one flag; if that one is forgotten before its answer, the answer still
    says the quota is back, and what the pause deferred is asked (it waited for good)."""
    published: list[MonitorUpdate] = []
    e = evaluations(published)
    asked: list[str] = []

    async def evaluate(key: str) -> EvaluateResult:
        asked.append(key)
        return EvaluateResult(Outcome.OK, evaluation=ON)

    e._reevaluator = Reevaluator(evaluate, e._on_result, settle=0.0)
    e.on_events([ev("live")])
    await until(lambda: asked == ["live"], "live's evaluation")
    e._quota.defer("waiting", None)  # deferred by a pause that has ended
    e._on_result("gone", None, EvaluateResult(Outcome.OK, evaluation=ON), False)
    assert "gone" not in e.values  # no row of the forgotten flag
    await until(lambda: "waiting" in asked, "the deferred flag asked")
    await e.aclose()
