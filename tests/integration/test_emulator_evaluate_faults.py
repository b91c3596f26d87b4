"""The evaluate fault switches (429, 5xx, Togul's quota 403), from Python and over HTTP, observed
from a plain HTTP client over loopback."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from togul_monitor.emulator.harness import EmulatorHandle, running_emulator

from .test_emulator_evaluate import post

BODY = {"flag_key": "new-dashboard", "environment_key": "production", "context": {}}


@pytest.fixture
def emulator() -> Iterator[EmulatorHandle]:
    """The suite's `emulator` (seed 0, ids), with the fault switches over HTTP too: these tests
    drive them the way a shell drives `serve --faults`."""
    with running_emulator(seed=0, heartbeat=0.2, replay=1000, ids=True, fault_routes=True) as emu:
        yield emu


def statuses(emu: EmulatorHandle, n: int, scope: str = "sdk") -> list[int]:
    return [post(emu, BODY, scope=scope).status_code for _ in range(n)]


@pytest.mark.parametrize(
    ("status", "retry_after", "code", "header"),
    [
        (429, 1, "rate_limited", "1"),
        (429, 0.25, "rate_limited", "0.25"),
        (500, None, "internal", None),
        (503, 3, "unavailable", "3"),
    ],
)
def test_fail_evaluate_answers_the_next_k_requests_then_evaluates_again(
    emulator: EmulatorHandle,
    status: int,
    retry_after: float | None,
    code: str,
    header: str | None,
) -> None:
    emulator.faults.fail_evaluate(2, status=status, retry_after=retry_after)
    first = post(emulator, BODY)
    assert first.status_code == status
    assert first.json() == {"code": code, "message": first.json()["message"], "details": None}
    assert first.headers.get("retry-after") == header
    assert post(emulator, BODY).status_code == status
    ok = post(emulator, BODY)
    assert ok.status_code == 200 and ok.json()["flag_key"] == "new-dashboard"
    assert emulator.faults.evaluate_failures_left == 0


def test_a_status_fault_comes_before_the_credential_check(emulator: EmulatorHandle) -> None:
    # Like a proxy or an overloaded server: even a key that may not evaluate meets it.
    emulator.faults.fail_evaluate(1, status=503)
    assert statuses(emulator, 2, scope="stream") == [503, 403]


def test_quota_answers_403_billing_evaluation_blocked_to_keys_that_may_evaluate(
    emulator: EmulatorHandle,
) -> None:
    emulator.faults.exhaust_evaluate_quota(2)
    # A key that may not evaluate is refused for that, and uses none of the quota answers.
    refused = post(emulator, BODY, scope="stream")
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    blocked = post(emulator, BODY, scope="server")
    assert blocked.status_code == 403
    assert blocked.json()["code"] == "billing.evaluation_blocked"
    assert set(blocked.json()) == {"code", "message", "details"}
    assert statuses(emulator, 2) == [403, 200]


def test_evaluate_faults_are_answered_in_the_order_they_were_set(
    emulator: EmulatorHandle,
) -> None:
    emulator.faults.fail_evaluate(1, status=429)
    emulator.faults.exhaust_evaluate_quota(1)
    emulator.faults.fail_evaluate(1, status=500)
    assert statuses(emulator, 4) == [429, 403, 500, 200]


def test_bad_evaluate_fault_arguments_are_refused(emulator: EmulatorHandle) -> None:
    with pytest.raises(ValueError):
        emulator.faults.fail_evaluate(1, status=200)
    with pytest.raises(ValueError):
        emulator.faults.exhaust_evaluate_quota(-1)
    assert statuses(emulator, 1) == [200]


async def test_evaluate_faults_over_http(emulator: EmulatorHandle) -> None:
    token = {"Authorization": f"Bearer {emulator.credentials.org_token}"}
    url = emulator.base_url + "/_emulator/faults/"
    async with httpx.AsyncClient(timeout=5) as client:
        assert (await client.post(url + "evaluate-quota")).status_code == 401  # no token
        bad = await client.post(url + "fail-evaluate", headers=token, json={"status": 302})
        assert bad.status_code == 400 and bad.json()["code"] == "validation.status"
        bad = await client.post(url + "evaluate-quota", headers=token, json={"k": "all"})
        assert bad.status_code == 400 and bad.json()["code"] == "validation.k"
        armed = await client.post(
            url + "fail-evaluate", headers=token, json={"k": 1, "status": 429, "retry_after": 2}
        )
        assert armed.json() == {"fault": "fail-evaluate", "result": None}
        quota = await client.post(url + "evaluate-quota", headers=token, json={"k": 1})
        assert quota.json() == {"fault": "evaluate-quota", "result": None}
        default = await client.post(url + "fail-evaluate", headers=token)  # k 1, 503
        assert default.status_code == 200
    limited = post(emulator, BODY)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
    blocked = post(emulator, BODY)
    assert blocked.status_code == 403
    assert blocked.json()["code"] == "billing.evaluation_blocked"
    unavailable = post(emulator, BODY)
    assert unavailable.status_code == 503 and "retry-after" not in unavailable.headers
    assert post(emulator, BODY).status_code == 200
