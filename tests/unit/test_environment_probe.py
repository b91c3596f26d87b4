"""A start-up probe with no usable answer is made again as events come (core/environment.py):
not at every batch, and less and less often while the answer stays unknown (a 401, a quota
answer or an overloaded server may stay so for hours)."""

from __future__ import annotations

import asyncio

import pytest

from togul_monitor.client.credentials import StreamCredentials
from togul_monitor.config.errors import ConfigError
from togul_monitor.core import environment
from togul_monitor.core.environment import Environments, Verification
from togul_monitor.core.plan import StreamPlan
from togul_monitor.core.updates import Noticed
from togul_monitor.domain.events import FlagEvent

EVENT = FlagEvent("flag.updated", "k", "env-1", 1, 1.0, None, 1.0)
UNKNOWN = Verification(False, ("environment not verified (503)",), again=True)


async def test_the_probe_is_made_again_less_and_less_often_until_it_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop = asyncio.get_running_loop()
    now = [1000.0]
    monkeypatch.setattr(loop, "time", lambda: now[0])
    answers = [UNKNOWN, Verification(False, ("environment not verified (401)",), again=True)]
    answers += [UNKNOWN] * 10 + [Verification(True)]
    probed: list[float] = []

    async def probe() -> Verification:
        probed.append(now[0])
        return answers[len(probed) - 1]

    envs = Environments("production")
    envs.apply(StreamPlan(StreamCredentials(api_key="k")), UNKNOWN, probe)
    assert envs.answered_mark()()  # no probe runs yet: nothing to wait for

    async def batches_until(t: float) -> None:
        while now[0] < t:  # a batch every second
            envs.relevant([EVENT])
            if envs._probe_task is not None:
                await envs._probe_task
            now[0] += 1.0

    await batches_until(1000.0 + 60)
    # At the first batch, then 5, 10, 20 s later: not once a second.
    assert [t - 1000.0 for t in probed] == [0.0, 5.0, 15.0, 35.0]
    assert envs.notes == ("environment not verified (503)",)  # what the last answer said
    await batches_until(1000.0 + 3600 * 3)
    gaps = [b - a for a, b in zip(probed, probed[1:], strict=False)]
    assert max(gaps) == environment.PROBE_AGAIN_MAX  # capped
    assert envs.verified and envs.notes == ()  # answered at last
    assert envs.names == {"env-1": "production"}  # named now
    probes = len(probed)
    await batches_until(now[0] + 3600)
    assert len(probed) == probes  # and never again
    await envs.aclose()


async def test_the_mark_waits_for_the_probe_running_when_it_is_made_and_no_later_one() -> None:
    answer: asyncio.Future[Verification] = asyncio.get_running_loop().create_future()

    async def probe() -> Verification:
        return await answer

    envs = Environments("production")
    envs.apply(StreamPlan(StreamCredentials(api_key="k")), UNKNOWN, probe)
    envs.relevant([EVENT])  # events: the probe is made again
    mark = envs.answered_mark()
    assert not mark()
    answer.set_result(UNKNOWN)  # answered, still unknown: a later probe is owed
    assert envs._probe_task is not None
    await envs._probe_task
    assert mark() and envs.answered_mark()()
    await envs.aclose()


async def test_a_verdict_of_another_environment_leaves_no_not_verified_note() -> None:
    async def probe() -> Verification:
        raise ConfigError("the API key belongs to another environment than 'production'")

    stopped: list[str] = []
    envs = Environments("production")
    envs.on_mismatch = stopped.append
    envs.apply(StreamPlan(StreamCredentials(api_key="k")), UNKNOWN, probe)
    envs.live()
    assert envs.notes  # "not verified" while nothing answered
    envs.relevant([EVENT])
    assert envs._probe_task is not None
    await envs._probe_task
    assert stopped and envs.notes == ()  # the stop says why; "not verified" would contradict it
    await envs.aclose()


async def test_a_key_stream_learns_its_environment_from_the_first_event_it_brings() -> None:
    envs = Environments("production")
    envs.apply(StreamPlan(StreamCredentials(api_key="k")), Verification(True), None)
    other = FlagEvent("flag.updated", "k", "env-2", 2, 2.0, None, 2.0)
    envs.relevant([EVENT, other])
    assert envs.environment_id == "env-1" and envs.names == {"env-1": "production"}
    await envs.aclose()


def test_the_starts_notes_are_held_until_the_stream_is_live_then_said_once() -> None:
    # Before, they would only precede the stream's own error (a rejected key, no answer).
    said: list[Noticed] = []
    envs = Environments("production", said.append)
    envs.apply(StreamPlan(StreamCredentials(api_key="k")), UNKNOWN, None)
    assert envs.notes == () and said == []
    envs.live()
    assert envs.notes == UNKNOWN.notes and [n.text for n in said] == list(UNKNOWN.notes)
    envs.live()  # live again after a reconnect: said once
    assert len(said) == 1 and envs.notes == UNKNOWN.notes
