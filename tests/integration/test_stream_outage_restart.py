"""A server that restarted numbers its events from 1 again: once it has numbered more than the
client's last id `L`, it replays `L + 1..` of its new numbering, and the first id alone would
prove the outage whole. Over a real loopback socket (`rawserver.py`), the batch that decides an
outage must also agree with the versions the client knew (client/outages.py, `_consistent`)."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.rawserver import RawServer, Reply
from tests.integration.test_stream_client_raw import STOP, ev, events, make_client, run
from tests.integration.test_stream_outage_proof import _after_the_outage
from togul_monitor.client import outages
from togul_monitor.client.outages import ResumePoint
from togul_monitor.domain.events import FlagEvent, Outage, OutageProven

T = 1_700_000_000
# Interleaved +1 steps of two flags: versions are per flag, so a jump is a possible gap too.
FIRST_LIFE = [ev(1, "a", 1, T), ev(2, "b", 1, T), ev(3, "a", 2, T), ev(4, "b", 2, T)]

CASES = {
    "a continuation": ([ev(5, "a", 3, T), ev(6, "b", 3, T)], True),
    "a flag changed twice": ([ev(5, "a", 3, T), ev(6, "a", 4, T)], True),
    "deleted and created again": (
        [ev(5, "a", 3, T, etype="flag.deleted"), ev(6, "a", 1, T, etype="flag.created")],
        True,
    ),
    "a flag never seen": ([ev(5, "c", 7, T), ev(6, "a", 3, T)], True),
    "a version back (a restart)": ([ev(5, "a", 2, T), ev(6, "b", 3, T)], False),
    "a version back, later in the batch": ([ev(5, "a", 3, T), ev(6, "b", 1, T)], False),
    "a version repeated": ([ev(5, "b", 2, T)], False),
    "a version jumped": ([ev(5, "a", 5, T)], False),
    "created again, its deletion unseen": ([ev(5, "a", 1, T, etype="flag.created")], False),
    "an id that goes back": ([ev(5, "a", 3, T), ev(2, "c", 1, T + 1)], False),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_a_replay_of_l_plus_1_proves_the_outage_only_when_its_versions_agree(
    case: str,
) -> None:
    replay, proven = CASES[case]
    script = [Reply(body=FIRST_LIFE, end="eof"), Reply(body=[b"".join(replay)], end="eof"), STOP]
    async with RawServer(script) as server:
        client, _ = make_client(server)
        items = await run(client)
    assert server.requests[1].header("last-event-id") == b"4"
    assert len(events(items)) == 4 + len(replay)  # none taken for a duplicate
    (outage,) = [i for i in items if isinstance(i, Outage)]
    assert outage.may_have_missed is not proven


@pytest.mark.parametrize("case", ["a continuation", "a version back (a restart)"])
async def test_an_outage_reported_before_the_replay_is_proved_by_the_same_rule(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outages, "DECISION_DELAY", 0.05)
    replay, proven = CASES[case]
    release = asyncio.Event()
    script = [Reply(body=FIRST_LIFE, end="eof"), Reply(body=[release, b"".join(replay)])]
    async with RawServer(script) as server:
        client, _ = make_client(server)
        items = await run(client, _after_the_outage(release, 4 + len(replay)))
    (outage,) = [i for i in items if isinstance(i, Outage)]
    assert outage.may_have_missed is True  # reported before any event came
    assert any(isinstance(i, OutageProven) for i in items) is proven


def _journalled(event_id: int, flag: str, version: int) -> FlagEvent:
    return FlagEvent("flag.updated", flag, "e1", version, T, str(event_id), T + 1.0)


@pytest.mark.parametrize(
    ("case", "with_journal"),
    [
        ("a continuation", True),
        ("a version back (a restart)", True),
        ("a version back (a restart)", False),  # nothing to check against: proven, as the ids say
    ],
)
async def test_a_resumed_run_checks_the_replay_against_the_journals_latest_events(
    case: str, with_journal: bool
) -> None:
    replay, proven = CASES[case]
    known = (_journalled(3, "a", 2), _journalled(4, "b", 2)) if with_journal else ()
    resumed = ResumePoint("4", T + 2.0, "e1", known)
    async with RawServer([Reply(body=[b"".join(replay)], end="eof"), STOP]) as server:
        client, _ = make_client(server, resumed=resumed)
        items = await run(client)
    assert server.requests[0].header("last-event-id") == b"4"
    (outage,) = [i for i in items if isinstance(i, Outage)]
    assert outage.may_have_missed is not (proven or not with_journal)
