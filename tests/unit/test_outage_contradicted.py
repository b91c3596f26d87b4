"""An outage the ids prove whole is not taken as whole when a change no event explains was found
since the stream was lost (core/intake.py `contradicted`, core/stream_effects.py): proved at
once, it is told as one that may have missed changes; proved later, the proof is dropped. The
count behind it (core/transition_memory.py) takes only changes found with no event while the
stream may have missed changes."""

from __future__ import annotations

import time

from togul_monitor.core.intake import Intake
from togul_monitor.core.transition_memory import TransitionMemory
from togul_monitor.core.updates import UpdateHub
from togul_monitor.domain.events import ConnectionState, Outage, OutageProven, Status
from togul_monitor.domain.values import ValueTransition

LIVE, RETRYING = ConnectionState.LIVE, ConnectionState.RETRYING


def intake_told(contradicted: bool, said: list[tuple[str, bool]]) -> Intake:
    intake = Intake(
        UpdateHub(100),
        time.time,
        log_size=100,
        on_events=lambda batch: None,
        on_outage=lambda unseen, ask: said.append(("outage", unseen)),
        on_proven=lambda later: said.append(("proven", later)),
        on_gap=lambda gap: None,
        on_blind=lambda blind: None,
        on_change=lambda: None,
        contradicted=lambda: contradicted,
    )
    intake._handle(Status(LIVE, 10.0))
    intake._handle(Status(RETRYING, 20.0))
    intake._handle(Status(LIVE, 30.0))
    return intake


async def test_an_outage_proved_at_once_is_told_as_one_that_may_have_missed_when_contradicted() -> (
    None
):
    for contradicted in (False, True):
        said: list[tuple[str, bool]] = []
        intake = intake_told(contradicted, said)
        intake._handle(Outage(20.0, 30.0, 0, False, 30.5))
        (kept,) = intake.outages
        assert kept.may_have_missed is contradicted
        proven = [("proven", False)] if not contradicted else []
        assert said == [("outage", contradicted), *proven]
        await intake.stop()


async def test_a_later_proof_is_dropped_when_contradicted() -> None:
    for contradicted in (False, True):
        said: list[tuple[str, bool]] = []
        intake = intake_told(contradicted, said)
        reported = Outage(20.0, 30.0, 0, True, 31.0)
        intake._handle(reported)
        proof = OutageProven(Outage(20.0, 30.0, 0, False, 31.0, proven_at=40.0))
        intake._handle(proof)
        assert list(intake.outages) == [reported if contradicted else proof.outage]
        assert (("proven", True) in said) is not contradicted
        await intake.stop()


def test_only_changes_with_no_event_in_a_time_that_may_have_missed_are_counted() -> None:
    memory = TransitionMemory()
    memory.add(ValueTransition("a", None, None, "7", 1.0, includes_unseen=True))  # its event's
    memory.add(ValueTransition("a", None, None, None, 2.0))  # asked again by hand, stream whole
    assert memory.unexplained == 0
    memory.add(ValueTransition("a", None, None, None, 3.0, includes_unseen=True))
    assert memory.unexplained == 1
