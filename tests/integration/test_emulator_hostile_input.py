"""Hostile requests over loopback: every bad input is a 4xx, is refused before it changes the
world, and leaves the emulator answering as before (docs/management-api.md, conventions)."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.waits import wait_until
from togul_monitor.emulator.bodies import MAX_BODY_BYTES
from togul_monitor.emulator.faults import MAX_COUNT
from togul_monitor.emulator.harness import EmulatorHandle, running_emulator
from togul_monitor.emulator.jsondoc import MAX_DEPTH


@pytest.fixture
def emu() -> Iterator[EmulatorHandle]:
    with running_emulator(seed=0, heartbeat=0.2, fault_routes=True) as handle:
        yield handle


@pytest.fixture
def api(emu: EmulatorHandle) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {emu.credentials.org_token}"}
    with httpx.Client(base_url=emu.base_url, headers=headers, timeout=5) as client:
        yield client


def flags_path(emu: EmulatorHandle) -> str:
    return f"/api/v1/projects/{emu.credentials.project_id}/flags"


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def raw_post(client: httpx.Client, path: str, raw: bytes, **headers: str) -> httpx.Response:
    return client.post(path, content=raw, headers={"Content-Type": "application/json", **headers})


def assert_still_lists(api: httpx.Client, emu: EmulatorHandle, count: int) -> None:
    listing = api.get(flags_path(emu))
    assert listing.status_code == 200
    assert len(listing.json()["flags"]) == count


def test_deep_nesting_is_a_400_everywhere(emu: EmulatorHandle, api: httpx.Client) -> None:
    sdk = {"X-API-Key": emu.credentials.keys["production"]["sdk"]}
    for raw in (nested(994), nested(5000)):
        for path, headers in ((flags_path(emu), {}), ("/api/v1/evaluate", sdk)):
            response = raw_post(api, path, raw, **headers)
            assert response.status_code == 400, (path, len(raw))
            assert response.json()["code"] == "validation.body"
            assert "nested" in response.json()["message"]
    # Deep enough to break deepcopy or the encoder later, yet parseable: refused up front too.
    value: Any = True
    for _ in range(MAX_DEPTH + 1):
        value = [value]
    body = {"environment_id": "production", "key": "deep", "name": "D", "value_type": "json"}
    response = api.post(flags_path(emu), json={**body, "default_value": value})
    assert response.status_code == 400 and "nested more than" in response.json()["message"]
    rule = {"flag_id": emu.world.get_flag("production", "new-dashboard").id, "priority": 9,
            "rule_type": "attribute", "attribute": "plan", "operator": "eq",
            "value_json": "[" * 5000, "return_value": True}  # fmt: skip
    refused = api.post(f"/api/v1/projects/{emu.credentials.project_id}/rules", json=rule)
    assert refused.status_code == 400 and refused.json()["code"] == "validation.value_json"
    assert_still_lists(api, emu, len(emu.world.list_flags()))


def test_a_lone_surrogate_is_refused_before_it_reaches_the_world(
    emu: EmulatorHandle, api: httpx.Client
) -> None:
    before = len(emu.world.list_flags())
    body = b'{"environment_id": "production", "key": "\\ud800", "name": "x"}'
    created = raw_post(api, flags_path(emu), body)
    assert created.status_code == 400
    assert created.json()["code"] == "validation.body"
    assert "key" in created.json()["message"]
    assert_still_lists(api, emu, before)  # before the fix: 500 on every listing from here on
    sdk = emu.credentials.keys["production"]["sdk"]
    context = b'{"flag_key": "new-dashboard", "environment_key": "production", '
    context += b'"context": {"user_id": "\\udc00"}}'
    evaluated = raw_post(api, "/api/v1/evaluate", context, **{"X-API-Key": sdk})
    assert evaluated.status_code == 400 and "context.user_id" in evaluated.json()["message"]


def test_numbers_json_cannot_send_back_are_refused(emu: EmulatorHandle, api: httpx.Client) -> None:
    before = len(emu.world.list_flags())
    for number in (b"NaN", b"Infinity", b"-Infinity", b"1e999"):
        body = b'{"environment_id": "production", "key": "n", "name": "n", '
        body += b'"value_type": "number", "default_value": ' + number + b"}"
        response = raw_post(api, flags_path(emu), body)
        assert response.status_code == 400, number
        assert "finite" in response.json()["message"]
    assert_still_lists(api, emu, before)


def test_a_body_past_the_limit_is_a_413(emu: EmulatorHandle, api: httpx.Client) -> None:
    big = json.dumps({"data": "x" * MAX_BODY_BYTES}).encode()
    response = raw_post(api, "/_emulator/faults/emit-malformed", big)
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"


def test_fault_arguments_are_bounded_and_answered_at_once(
    emu: EmulatorHandle, api: httpx.Client
) -> None:
    started = time.monotonic()
    for name, body, field in (
        ("fail-next", {"k": 10**12}, "k"),
        ("fail-next", {"status": 99}, "status"),
        ("fail-next", {"status": 1000}, "status"),
        ("fail-next", {"retry_after": 10**9}, "retry_after"),
        ("fail-evaluate", {"k": MAX_COUNT + 1}, "k"),
        ("evaluate-quota", {"k": 10**30}, "k"),
        ("stall", {"seconds": 10**12}, "seconds"),
        ("cut-after", {"n": -1}, "n"),
    ):
        response = api.post(f"/_emulator/faults/{name}", json=body)
        assert response.status_code == 400, (name, body)
        assert response.json()["code"] == f"validation.{field}"
    # The largest count is taken without a copy per request: no time, no memory.
    assert api.post("/_emulator/faults/fail-evaluate", json={"k": MAX_COUNT}).status_code == 200
    assert emu.faults.evaluate_failures_left == MAX_COUNT
    assert time.monotonic() - started < 1.0
    assert_still_lists(api, emu, len(emu.world.list_flags()))


def test_fail_next_without_retry_after_uses_the_documented_default(
    emu: EmulatorHandle, api: httpx.Client
) -> None:
    armed = api.post("/_emulator/faults/fail-next", json={"k": 1})
    assert armed.status_code == 200  # before the fix: always 400 validation.retry_after
    sdk = {"X-API-Key": emu.credentials.keys["production"]["sdk"]}
    failed = httpx.get(emu.base_url + "/api/v1/stream", headers=sdk, timeout=5)
    assert failed.status_code == 503 and failed.headers["retry-after"] == "2"


def test_fault_switches_are_off_unless_asked_for() -> None:
    with running_emulator(seed=0) as emu:
        token = {"Authorization": f"Bearer {emu.credentials.org_token}"}
        response = httpx.post(
            emu.base_url + "/_emulator/faults/stall", headers=token, json={"seconds": 1}, timeout=5
        )
    assert response.status_code == 404
    assert emu.outbox.stall_until == 0.0


_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=6) | st.sampled_from(
    ["\ud800", "a\udfff", "production", "new-dashboard", ""]
)
_LEAF = st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats() | _TEXT
_VALUE = st.recursive(
    _LEAF, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)  # fmt: skip
_FIELDS = ("environment_id", "key", "name", "description", "enabled", "value_type",
           "default_value", "flag_key", "environment_key", "context", "flag_id", "priority",
           "rule_type", "return_value", "operator", "value_json", "k", "seconds", "retry_after")  # fmt: skip
_BODY = st.dictionaries(st.sampled_from(_FIELDS), _VALUE, max_size=6) | _VALUE


def test_generated_bodies_never_get_a_500_nor_break_the_listing() -> None:
    with running_emulator(seed=0, heartbeat=5, fault_routes=True) as emu:
        creds = emu.credentials
        bearer = {"Authorization": f"Bearer {creds.org_token}"}
        sdk = {"X-API-Key": creds.keys["production"]["sdk"]}
        project = f"/api/v1/projects/{creds.project_id}"
        flag = emu.world.get_flag("production", "new-dashboard")
        routes = [
            ("POST", f"{project}/flags", bearer),
            ("PATCH", f"{project}/flags/{flag.id}", bearer),
            ("POST", f"{project}/rules", bearer),
            ("PATCH", f"{project}/rules/{flag.rules[0].id}", bearer),
            ("POST", "/api/v1/evaluate", sdk),
            ("POST", "/api/v1/login", {}),
            ("POST", "/_emulator/faults/stall", bearer),
            ("POST", "/_emulator/faults/fail-next", bearer),
        ]
        with httpx.Client(base_url=emu.base_url, timeout=5) as client:

            @settings(
                derandomize=True,
                max_examples=100,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            )
            @given(route=st.sampled_from(routes), body=_BODY)
            def check(route: tuple[str, str, dict[str, str]], body: Any) -> None:
                method, path, headers = route
                raw = json.dumps(body).encode()  # NaN, Infinity and \\ud800 escapes included
                response = client.request(method, path, content=raw, headers=headers)
                assert response.status_code != 500, (path, raw[:200])

            check()
            assert client.get(f"{project}/flags", headers=bearer).status_code == 200


def test_a_client_hanging_up_mid_body_logs_no_traceback(
    emu: EmulatorHandle, caplog: pytest.LogCaptureFixture
) -> None:
    """A client that goes away before its body arrived (a `tail` piped into `head` quits while
    its evaluate is in flight) is a normal end: a debug line, never an error with a traceback."""
    caplog.set_level(logging.DEBUG, logger="togul_monitor.emulator")
    sdk = emu.credentials.keys["production"]["sdk"]
    head = (
        f"POST /api/v1/evaluate HTTP/1.1\r\nHost: {emu.host}\r\nX-API-Key: {sdk}\r\n"
        "Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{"
    )
    with socket.create_connection((emu.host, emu.port), timeout=5) as sock:
        sock.sendall(head.encode())  # a body of 500 bytes announced, one sent: then gone

    def handled() -> list[logging.LogRecord]:
        return [
            r for r in caplog.records
            if r.levelno >= logging.ERROR or "hung up" in r.getMessage()
        ]  # fmt: skip

    wait_until(handled, "the emulator to see the client gone")
    assert [r.levelname for r in handled()] == ["DEBUG"], [r.getMessage() for r in handled()]
    assert api_answers(emu)


def api_answers(emu: EmulatorHandle) -> bool:
    with httpx.Client(base_url=emu.base_url, timeout=5) as client:
        return client.get("/healthz").status_code == 200
