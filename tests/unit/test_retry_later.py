"""A failed evaluation's retry asks for the flag's newest event (core/retry_later.py), driven
through `Evaluations` with a reevaluator that only records what it is asked."""

from __future__ import annotations

from tests.waits import until
from togul_monitor.client.evaluate import EvaluateResult, Outcome
from togul_monitor.core.evaluation import Evaluations
from togul_monitor.domain.events import FlagEvent

FAILED = EvaluateResult(Outcome.FAILED, status=503, message="HTTP 503")


class AskedReevaluator:
    def __init__(self) -> None:
        self.asked: list[tuple[str, str | None]] = []

    def request(
        self, key: str, trigger: str | None, *, event: bool = False, new: bool = False
    ) -> None:
        self.asked.append((key, trigger))


def evaluations() -> tuple[Evaluations, AskedReevaluator]:
    e = Evaluations(lambda update: None, lambda: 0.0, watched=(), retry_delay=0.01)
    e.seed({}, ())
    reevaluator = AskedReevaluator()
    e._reevaluator = reevaluator  # type: ignore[assignment]
    return e, reevaluator


def ev(key: str, event_id: str) -> FlagEvent:
    return FlagEvent("flag.updated", key, "env", int(event_id), 0.0, event_id, 0.0)


async def test_a_retry_asks_for_the_newest_event_that_failed_meanwhile() -> None:
    e, reevaluator = evaluations()
    e.on_events([ev("a", "1")])
    e._on_result("a", "1", FAILED, False)  # the retry waits
    e.on_events([ev("a", "2")])
    e._on_result("a", "2", FAILED, False)  # no second retry: the one waiting answers "2"
    await until(lambda: len(reevaluator.asked) == 3, "the retry")
    assert reevaluator.asked == [("a", "1"), ("a", "2"), ("a", "2")]


async def test_a_retry_due_while_a_newer_event_is_asked_does_not_replace_it() -> None:
    e, reevaluator = evaluations()
    e.on_events([ev("a", "1")])
    e._on_result("a", "1", FAILED, False)
    e.on_events([ev("a", "2"), ev("b", "3")])  # "2" is not answered when the retry is due
    await until(lambda: len(reevaluator.asked) == 4, "the retry")
    assert reevaluator.asked[-1] == ("a", "2")


async def test_a_baseline_failing_after_an_event_keeps_the_event() -> None:
    e, reevaluator = evaluations()
    e.on_events([ev("a", "1")])
    e._on_result("a", "1", FAILED, False)
    e._on_result("a", None, FAILED, False)  # a re-evaluation no event asked for
    await until(lambda: len(reevaluator.asked) == 2, "the retry")
    assert reevaluator.asked[-1] == ("a", "1")


async def test_a_flag_whose_retries_keep_failing_waits_longer_each_time() -> None:
    """A server answering 503 for minutes is asked less and less often, up to MAX_DELAY; a
    failure long after the last retry starts from the first delay again."""
    import asyncio

    from togul_monitor.core.retry_later import MAX_DELAY, RetryLater

    loop = asyncio.get_running_loop()
    fired: list[str] = []
    retry = RetryLater(1.0, lambda key, event_id: fired.append(key))

    def waits() -> float:
        return retry._timers["a"].when() - loop.time()

    retry.schedule("a", None)
    assert 0.9 < waits() <= 1.0
    delays = []
    for _ in range(8):  # each retry fails at once: the next waits twice as long
        retry._timers.pop("a").cancel()
        retry._chains["a"] = (retry._chains["a"][0], loop.time())  # as if it were due now
        retry.schedule("a", None)
        delays.append(round(waits()))
    assert delays == [2, 4, 8, 16, 32, 60, 60, 60] and MAX_DELAY == 60
    retry._timers.pop("a").cancel()
    retry._chains["a"] = (60.0, loop.time() - 30)  # answered: the next failure comes later
    retry.schedule("a", None)
    assert 0.9 < waits() <= 1.0
    retry._timers.pop("a").cancel()
    retry._chains["a"] = (60.0, loop.time() + 40)  # a new request failed while one waits
    retry.schedule("a", None)
    assert 0.9 < waits() <= 1.0
    retry.cancel()
