"""Coalesced re-evaluation: at most one evaluate call in flight per flag, at most N overall.

The rules are the coalescer's (core/coalesce.py). For values: the latest event wins (its id),
and is kept over a baseline asked after it (None: the answer is still that event's effect; a
change the stream may have missed is said by the transition, `FlagValues.mark_unseen`); an
event-driven evaluation of a flag is sent at most once per second; and
a flag seen for the first time is evaluated at most `NEW_FLAGS_PER_SECOND` a second (after a
burst of `NEW_FLAGS_BURST`, docs/protocol.md). `evaluate` does the request and `on_result`
takes the answer on the monitor's loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from togul_monitor.client.evaluate import EvaluateResult, Outcome
from togul_monitor.core.coalesce import Coalescer

Evaluate = Callable[[str], Awaitable[EvaluateResult]]
# on_result(flag_key, trigger_event_id, result, superseded)
OnResult = Callable[[str, "str | None", EvaluateResult, bool], None]

NEW_FLAGS_PER_SECOND = 20.0  # first evaluations of flags first seen (docs/protocol.md)
NEW_FLAGS_BURST = 20


def _failed(exc: Exception) -> EvaluateResult:
    return EvaluateResult(Outcome.FAILED, message=f"evaluate failed: {exc!r}"[:300])


class Reevaluator(Coalescer[str, EvaluateResult]):
    """The trigger is the event's id; `sent` counts evaluations (each may be two attempts)."""

    def __init__(
        self,
        evaluate: Evaluate,
        on_result: OnResult,
        *,
        concurrency: int = 8,
        settle: float = 0.01,
        min_interval: float = 1.0,
        new_rate: float | None = None,
        new_burst: int | None = None,
    ) -> None:
        super().__init__(
            evaluate,
            on_result,
            failed=_failed,
            concurrency=concurrency,
            settle=settle,
            min_interval=min_interval,
            # None: the module's values, read now (tests change them).
            new_rate=NEW_FLAGS_PER_SECOND if new_rate is None else new_rate,
            new_burst=NEW_FLAGS_BURST if new_burst is None else new_burst,
            # A superseded answer is dropped (core/evaluation.py): the call after it carries
            # the event of the flight, as a baseline asked during it must not take its place.
            flight_kept=True,
        )
