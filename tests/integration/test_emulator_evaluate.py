"""`POST /api/v1/evaluate` over loopback: auth, bad bodies, and the rule engine end to end."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from togul_monitor.emulator.harness import EmulatorHandle, running_emulator
from togul_monitor.emulator.rules import bucket

URL = "/api/v1/evaluate"
# One client for the module: building an httpx.Client (its SSL context) costs ~20 ms.
_CLIENT = httpx.Client(timeout=5)


def post(
    emu: EmulatorHandle,
    body: Any,
    scope: str = "sdk",
    env: str = "production",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    if headers is None:
        headers = {"X-API-Key": emu.credentials.keys[env][scope]}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return _CLIENT.post(
        emu.base_url + URL,
        content=content,
        timeout=5,
        headers={**headers, "Content-Type": "application/json"},
    )


def evaluate(
    emu: EmulatorHandle, flag_key: str, context: Any = None, env: str = "production"
) -> dict[str, Any]:
    response = post(
        emu, {"flag_key": flag_key, "environment_key": env, "context": context}, env=env
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    ("scope", "status", "code"),
    [("server", 200, None), ("sdk", 200, None), ("stream", 403, "forbidden")],
)
def test_evaluate_scope_matrix(
    emulator: EmulatorHandle, scope: str, status: int, code: str | None
) -> None:
    body = {"flag_key": "new-dashboard", "environment_key": "staging", "context": {}}
    response = post(emulator, body, scope=scope, env="staging")
    assert response.status_code == status
    if code:
        assert response.json()["code"] == code
        assert set(response.json()) == {"code", "message", "details"}
    else:
        assert set(response.json()) == {"flag_key", "enabled", "value_type", "value", "reason"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": "tgl_srv_unknown"}, {"X-API-Key": ""}, {"Authorization": "Bearer x"}],
)
def test_evaluate_without_a_valid_key_is_401(
    emulator: EmulatorHandle, headers: dict[str, str]
) -> None:
    body = {"flag_key": "new-dashboard", "environment_key": "production"}
    response = post(emulator, body, headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_org_token_cannot_evaluate(emulator: EmulatorHandle) -> None:
    headers = {"Authorization": f"Bearer {emulator.credentials.org_token}"}
    response = post(
        emulator, {"flag_key": "new-dashboard", "environment_key": "production"}, headers=headers
    )
    assert response.status_code == 401


@pytest.mark.parametrize("environment_key", ["staging", "nope"])
def test_environment_key_must_be_the_keys_environment(
    emulator: EmulatorHandle, environment_key: str
) -> None:
    response = post(emulator, {"flag_key": "new-dashboard", "environment_key": environment_key})
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_unknown_flag_is_404_flag_not_found(emulator: EmulatorHandle) -> None:
    response = post(emulator, {"flag_key": "no-such-flag", "environment_key": "production"})
    assert response.status_code == 404
    assert response.json() == {
        "code": "evaluate.flag_not_found",
        "message": "Flag not found",
        "details": None,
    }


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "validation.body"),
        (b"", "validation.body"),
        ([1, 2], "validation.body"),
        ({"environment_key": "production"}, "validation.flag_key"),
        ({"flag_key": 5, "environment_key": "production"}, "validation.flag_key"),
        ({"flag_key": "", "environment_key": "production"}, "validation.flag_key"),
        ({"flag_key": "new-dashboard"}, "validation.environment_key"),
        ({"flag_key": "new-dashboard", "environment_key": None}, "validation.environment_key"),
        (
            {"flag_key": "new-dashboard", "environment_key": "production", "context": "x"},
            "validation.context",
        ),
        (
            {"flag_key": "new-dashboard", "environment_key": "production", "context": [1]},
            "validation.context",
        ),
        (
            {"flag_key": "new-dashboard", "environment_key": "production", "context": {"age": 30}},
            "validation.context",
        ),
        (
            {
                "flag_key": "new-dashboard",
                "environment_key": "production",
                "context": {"vip": True},
            },
            "validation.context",
        ),
    ],
)
def test_bad_bodies_are_400_naming_the_field(
    emulator: EmulatorHandle, body: Any, code: str
) -> None:
    response = post(emulator, body)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["message"]


@pytest.mark.parametrize("context", [{}, None, []])
def test_empty_context_forms_are_accepted(emulator: EmulatorHandle, context: Any) -> None:
    result = evaluate(emulator, "new-dashboard", context)
    assert result == {
        "flag_key": "new-dashboard",
        "enabled": True,
        "value_type": "boolean",
        "value": False,
        "reason": "default",
    }


def test_disabled_flag_returns_default_and_reason_disabled(emulator: EmulatorHandle) -> None:
    emulator.world.update_flag("production", "new-dashboard", enabled=False)
    result = evaluate(emulator, "new-dashboard", {"plan": "premium"})  # would match the rule
    assert (result["enabled"], result["value"], result["reason"]) == (False, False, "disabled")


OPERATOR_CASES = [
    # operator, operand, a value that matches, a value that does not
    ("eq", "TR", "TR", "tr"),
    ("neq", "TR", "DE", "TR"),
    ("in", ["TR", "DE"], "DE", "US"),
    ("not_in", ["TR", "DE"], "US", "TR"),
    ("contains", "+qa", "ada+qa@x.io", "ada@x.io"),
    ("starts_with", "beta-", "beta-42", "alpha-beta-"),
    ("ends_with", "@acme.test", "ada@acme.test", "ada@acme.test.io"),
]


@pytest.mark.parametrize(("operator", "operand", "hit", "miss"), OPERATOR_CASES)
def test_every_attribute_operator(
    emulator: EmulatorHandle, operator: str, operand: Any, hit: str, miss: str
) -> None:
    world = emulator.world
    world.create_flag("production", "op-probe", value_type="string", default_value="default")
    world.create_rule(
        "production",
        "op-probe",
        rule_type="attribute",
        attribute="attr",
        operator=operator,
        value_json=json.dumps(operand),
        return_value="matched",
    )
    assert evaluate(emulator, "op-probe", {"attr": hit})["value"] == "matched"
    assert evaluate(emulator, "op-probe", {"attr": hit})["reason"] == "rule_match"
    assert evaluate(emulator, "op-probe", {"attr": miss})["value"] == "default"
    # A missing attribute matches nothing, not even neq / not_in.
    missing = evaluate(emulator, "op-probe", {"other": hit})
    assert (missing["value"], missing["reason"]) == ("default", "default")


def test_priority_boolean_and_inactive_rules(emulator: EmulatorHandle) -> None:
    world = emulator.world
    world.create_flag("production", "limits", value_type="number", default_value=1)
    # Created out of order: priority decides, not creation order.
    world.create_rule("production", "limits", rule_type="boolean", return_value=3, priority=20)
    world.create_rule(
        "production",
        "limits",
        rule_type="attribute",
        attribute="plan",
        operator="eq",
        value_json='"pro"',
        return_value=2,
        priority=10,
    )
    world.create_rule(
        "production", "limits", rule_type="boolean", return_value=99, priority=0, is_active=False
    )
    assert evaluate(emulator, "limits", {"plan": "pro"})["value"] == 2
    assert evaluate(emulator, "limits", {"plan": "free"})["value"] == 3
    world.update_rule("production", "limits", -1, is_active=False)  # the catch-all (last)
    result = evaluate(emulator, "limits", {"plan": "free"})
    assert (result["value"], result["reason"], result["value_type"]) == (1, "default", "number")


@pytest.mark.parametrize(
    ("flag_key", "context", "value_type", "value"),
    [
        ("welcome-message", {"country": "TR"}, "string", "Hoş geldiniz!"),
        ("api-rate-limit", {"plan": "enterprise"}, "number", 5000),
        ("retry-backoff-ms", {}, "number", 250.5),
        ("pricing-config", {"country": "TR"}, "json", {"currency": "TRY", "trial_days": 30}),
        ("homepage-layout", {}, "json", ["hero", "features", "pricing"]),
        ("experiment-config", {}, "json", None),
        ("legacy-export", {}, "boolean", False),
    ],
)
def test_typed_values(
    emulator: EmulatorHandle, flag_key: str, context: dict[str, str], value_type: str, value: Any
) -> None:
    result = evaluate(emulator, flag_key, context)
    assert result["value_type"] == value_type
    assert result["value"] == value
    assert type(result["value"]) is type(value)


def test_percentage_rule_follows_the_documented_bucketing(emulator: EmulatorHandle) -> None:
    flag = emulator.world.get_flag("production", "checkout-v2")
    percentage = next(r for r in flag.rules if r.rule_type == "percentage").rollout_percentage
    assert percentage is not None
    hits = 0
    for i in range(200):
        user = f"user-{i}"
        result = evaluate(emulator, "checkout-v2", {"user_id": user})
        expected = bucket(flag.salt, user) < percentage
        assert result["value"] is expected, user
        hits += expected
    assert 0 < hits < 200
    # Without the bucket_by attribute the percentage rule does not match.
    assert evaluate(emulator, "checkout-v2", {"plan": "x"})["reason"] == "default"


def test_percentage_results_identical_across_restarts() -> None:
    results = []
    for _ in range(2):
        with running_emulator(seed=0, heartbeat=0.2) as emu:
            results.append(
                [evaluate(emu, "new-onboarding", {"user_id": f"u{i}"})["value"] for i in range(150)]
            )
    assert results[0] == results[1]
    assert 0 < sum(results[0]) < 150
