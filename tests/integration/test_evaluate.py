"""The evaluate client over real loopback HTTP: the emulator (`emulator_any`, both stream forms),
and a scripted server for the answers the emulator never gives (a missing value_type...)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from togul_monitor.client.evaluate import EvaluateClient, Outcome
from togul_monitor.domain.values import Evaluation
from togul_monitor.emulator.harness import EmulatorHandle

CONTEXT = {"user_id": "u-1", "plan": "premium"}


class Scripted:
    """A loopback server answering POST /api/v1/evaluate from a script of responses."""

    def __init__(self) -> None:
        self.script: list[Response] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []

        async def evaluate(request: Request) -> Response:
            self.requests.append(await request.json())
            self.headers.append(dict(request.headers))
            if self.script:
                return self.script.pop(0)
            return JSONResponse({"code": "x", "message": "script ran out"}, status_code=500)

        app = Starlette(routes=[Route("/api/v1/evaluate", evaluate, methods=["POST"])])
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.base_url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        )
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self.server.serve(sockets=[self.sock])), daemon=True
        )

    def __enter__(self) -> Scripted:
        self.thread.start()
        deadline = time.monotonic() + 5
        while not self.server.started:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(3)


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    with Scripted() as server:
        yield server


def client(base_url: str, key: str = "tgl_sdk_test0000000000001234", **kw: Any) -> EvaluateClient:
    return EvaluateClient(
        base_url, api_key=key, environment_key="production", context=CONTEXT, **kw
    )


async def test_ok_against_the_emulator(emulator_any: EmulatorHandle) -> None:
    c = client(emulator_any.base_url, emulator_any.credentials.keys["production"]["sdk"])
    try:
        result = await c.evaluate("new-dashboard")
        assert result.outcome is Outcome.OK
        assert result.evaluation == Evaluation(True, "boolean", "rule_match", True)
        missing = await c.evaluate("no-such-flag")
        assert missing.outcome is Outcome.NOT_FOUND and "evaluate.flag_not_found" in (
            missing.message or ""
        )
        assert c.counters.requests == 2  # 404 is never retried
    finally:
        await c.aclose()


async def test_rejected_credentials_are_not_retried(emulator_any: EmulatorHandle) -> None:
    stream_key = emulator_any.credentials.keys["production"]["stream"]
    c = client(emulator_any.base_url, stream_key)
    try:
        result = await c.evaluate("new-dashboard")
        assert result.outcome is Outcome.REJECTED and result.status == 403
        assert stream_key not in (result.message or "")
        assert c.counters.requests == 1
    finally:
        await c.aclose()
    sdk_key = emulator_any.credentials.keys["production"]["sdk"]
    emulator_any.faults.revoke_key(sdk_key)
    c = client(emulator_any.base_url, sdk_key)
    try:
        result = await c.evaluate("new-dashboard")
        assert result.outcome is Outcome.REJECTED and result.status == 401
        assert c.counters.requests == 1
    finally:
        await c.aclose()


@pytest.mark.parametrize(("status", "retry_after"), [(429, 0.3), (500, None), (503, None)])
async def test_the_emulators_429_and_5xx_are_retried_once(
    emulator_any: EmulatorHandle, status: int, retry_after: float | None
) -> None:
    emulator_any.faults.fail_evaluate(1, status=status, retry_after=retry_after)
    c = client(emulator_any.base_url, emulator_any.credentials.keys["production"]["sdk"])
    try:
        started = time.monotonic()
        result = await c.evaluate("new-dashboard")
        elapsed = time.monotonic() - started
    finally:
        await c.aclose()
    assert result.outcome is Outcome.OK and result.evaluation is not None
    assert c.counters.requests == 2 and c.counters.by_status == {status: 1, 200: 1}
    if retry_after is not None:
        assert elapsed >= retry_after  # Retry-After is the pause before the second attempt


async def test_two_5xx_from_the_emulator_are_a_failure(emulator_any: EmulatorHandle) -> None:
    emulator_any.faults.fail_evaluate(2, status=503)
    c = client(emulator_any.base_url, emulator_any.credentials.keys["production"]["sdk"])
    try:
        result = await c.evaluate("new-dashboard")
    finally:
        await c.aclose()
    assert result.outcome is Outcome.FAILED and result.status == 503
    assert c.counters.requests == 2 and c.counters.failed == 1


async def test_the_quota_403_is_its_own_outcome_and_not_retried(
    emulator_any: EmulatorHandle,
) -> None:
    emulator_any.faults.exhaust_evaluate_quota(1)
    key = emulator_any.credentials.keys["production"]["sdk"]
    c = client(emulator_any.base_url, key)
    try:
        blocked = await c.evaluate("new-dashboard")
        assert c.counters.requests == 1  # a 4xx: never retried at once
        after = await c.evaluate("new-dashboard")
    finally:
        await c.aclose()
    assert blocked.outcome is Outcome.QUOTA and blocked.status == 403
    assert "billing.evaluation_blocked" in (blocked.message or "")
    assert key not in (blocked.message or "")
    assert blocked.retry_after is None  # the emulator sends none
    assert (c.counters.quota, c.counters.rejected) == (1, 0)
    assert after.outcome is Outcome.OK


async def test_a_quota_403_keeps_the_servers_retry_after(scripted: Scripted) -> None:
    scripted.script = [
        JSONResponse(
            {"code": "billing.evaluation_blocked", "message": "quota", "details": None},
            403,
            {"Retry-After": "120"},
        ),
        JSONResponse({"code": "forbidden", "message": "wrong environment"}, 403),
    ]
    c = client(scripted.base_url)
    try:
        quota = await c.evaluate("f")
        forbidden = await c.evaluate("f")
    finally:
        await c.aclose()
    assert quota.outcome is Outcome.QUOTA and quota.retry_after == 120
    assert forbidden.outcome is Outcome.REJECTED  # any other 403 is about the credentials


async def test_retry_once_on_429_and_5xx_then_succeed(scripted: Scripted) -> None:
    body = {
        "flag_key": "f",
        "enabled": True,
        "value_type": "string",
        "value": "a",
        "reason": "default",
    }
    scripted.script = [
        JSONResponse({"code": "rate", "message": "slow down"}, 429, {"Retry-After": "0"}),
        JSONResponse(body),
        JSONResponse({"code": "boom", "message": "x"}, 503),
        JSONResponse(body),
    ]
    c = client(scripted.base_url)
    try:
        first = await c.evaluate("f")
        second = await c.evaluate("f")
    finally:
        await c.aclose()
    assert first.outcome is Outcome.OK and second.outcome is Outcome.OK
    assert first.evaluation == Evaluation("a", "string", "default", True)
    assert c.counters.requests == 4
    sent = scripted.requests[0]
    assert sent == {"flag_key": "f", "environment_key": "production", "context": CONTEXT}
    assert scripted.headers[0]["x-api-key"].startswith("tgl_sdk_")


async def test_two_attempts_at_most(scripted: Scripted) -> None:
    scripted.script = [JSONResponse({"code": "down"}, 503) for _ in range(5)]
    c = client(scripted.base_url)
    try:
        result = await c.evaluate("f")
    finally:
        await c.aclose()
    assert result.outcome is Outcome.FAILED and result.status == 503
    assert "HTTP 503 down" in (result.message or "")
    assert c.counters.requests == 2 and len(scripted.requests) == 2


async def test_tolerant_parse_of_a_response_without_value_type(scripted: Scripted) -> None:
    scripted.script = [
        JSONResponse({"flag_key": "f", "value": {"theme": "dark"}}),
        JSONResponse({"flag_key": "f", "value": 3, "value_type": "weird", "reason": 7}),
        Response(b"[1, 2]", media_type="application/json"),
        JSONResponse({"code": "validation.flag_key", "message": "bad\x1b[31m"}, 400),
    ]
    c = client(scripted.base_url)
    try:
        no_type = await c.evaluate("f")
        odd_type = await c.evaluate("f")
        not_object = await c.evaluate("f")
        bad_request = await c.evaluate("f")
    finally:
        await c.aclose()
    assert no_type.evaluation == Evaluation({"theme": "dark"}, None, None, None)
    assert odd_type.evaluation == Evaluation(3, None, None, None)
    assert not_object.outcome is Outcome.FAILED
    assert bad_request.outcome is Outcome.FAILED and bad_request.status == 400
    assert "\x1b" not in (bad_request.message or "")
    assert c.counters.requests == 4  # 400 is not retried


async def test_network_error_is_a_failure_after_two_attempts() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nobody listens there now
    c = client(f"http://127.0.0.1:{port}")
    try:
        result = await c.evaluate("f")
    finally:
        await c.aclose()
    # In the words the stream's failure is said in (support/plain_errors.py).
    assert result.outcome is Outcome.FAILED
    assert result.message == f"cannot connect to 127.0.0.1:{port}: nothing accepted the connection"
    assert c.counters.requests == 2


async def test_an_evaluate_that_gets_no_answer_says_so_in_plain_words() -> None:
    listener = socket.socket()  # takes the connection and never answers
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    c = client(f"http://127.0.0.1:{port}", timeout=0.2, attempts=1)
    try:
        result = await c.evaluate("f")
    finally:
        await c.aclose()
        listener.close()
    assert result.outcome is Outcome.FAILED
    assert result.message == "no data for 0.2 s (read timeout)"


async def test_the_monitor_retries_a_failed_evaluation_and_reports_recovery(
    scripted: Scripted,
) -> None:
    from togul_monitor.config.profiles import Profile
    from togul_monitor.core import EvaluatorStatus, Monitor

    body = {
        "flag_key": "f",
        "enabled": True,
        "value_type": "number",
        "value": 7,
        "reason": "default",
    }
    # First the monitor's start checks the key's environment (core/environment.py): one request.
    probe = JSONResponse({"code": "evaluate.flag_not_found"}, 404)
    scripted.script = [probe] + [JSONResponse({"code": "down"}, 503) for _ in range(2)]
    scripted.script.append(JSONResponse(body))
    profile = Profile(
        name="scripted",
        base_url=scripted.base_url,  # no stream there (404): evaluate works on its own
        environment_key="production",
        api_key="tgl_sdk_test0000000000001234",
        watch=("f",),
        heartbeat_seconds=0.2,
    )
    monitor = Monitor(profile, record=False, evaluate_retry_delay=0.1)
    updates = monitor.updates()
    await monitor.start()
    statuses: list[EvaluatorStatus] = []
    try:

        async def until_ok() -> None:
            async for update in updates:
                if isinstance(update, EvaluatorStatus):
                    statuses.append(update)
                    if update.ok:
                        break

        await asyncio.wait_for(until_ok(), 10)
        assert [s.ok for s in statuses] == [False, True]
        assert "503" in (statuses[0].message or "")
        value = monitor.values()["f"]
        assert value.current == Evaluation(7, "number", "default", True)
        assert value.error is None and not value.stale
        assert len(scripted.requests) == 1 + 3  # the check; two attempts, then one retry later
    finally:
        await monitor.stop()


async def test_a_body_nested_too_deep_to_parse_is_a_failure_not_a_crash() -> None:
    c = client("http://127.0.0.1:9")
    deep = httpx.Response(200, content=b"[" * 200_000)
    refused = httpx.Response(403, content=b"{" + b'"a":[' * 200_000)
    try:
        assert c._interpret(deep).outcome is Outcome.FAILED
        assert c._interpret(refused).outcome is Outcome.REJECTED
    finally:
        await c.aclose()
