"""The emulator's rule engine: evaluation order, operators, and the bucketing rule (SHA-256 of
`salt:value`, first 8 bytes big-endian, mod 100; docs/protocol.md)."""

from __future__ import annotations

import hashlib
import json

import pytest

from togul_monitor.emulator.rules import RuleView, attribute_matches, bucket, evaluate


def test_bucket_is_sha256_of_salt_colon_value_first_8_bytes_mod_100() -> None:
    digest = hashlib.sha256(b"a8f3d2c1:user-1").digest()
    assert bucket("a8f3d2c1", "user-1") == int.from_bytes(digest[:8], "big") % 100
    # Pinned: a change here changes every rollout of every user.
    assert [bucket("a8f3d2c1", f"user-{i}") for i in range(5)] == [75, 52, 63, 53, 95]


@pytest.mark.parametrize("percentage", [0, 1, 10, 25, 50, 75, 99, 100])
def test_percentage_within_two_points_over_10000_users(percentage: int) -> None:
    rule = RuleView(
        priority=0, rule_type="percentage", return_value=True, rollout_percentage=percentage
    )
    hits = sum(
        evaluate(
            enabled=True,
            default_value=False,
            salt="5eed5a17",
            rules=[rule],
            context={"user_id": f"user-{i}"},
        )[0]
        for i in range(10_000)
    )
    assert abs(hits / 100 - percentage) <= 2
    if percentage in (0, 100):
        assert hits == percentage * 100


def test_salts_bucket_independently() -> None:
    a = [bucket("00000001", f"u{i}") for i in range(200)]
    b = [bucket("00000002", f"u{i}") for i in range(200)]
    assert a != b


def test_percentage_uses_bucket_by_and_missing_attribute_does_not_match() -> None:
    rule = RuleView(
        priority=0,
        rule_type="percentage",
        return_value="on",
        rollout_percentage=100,
        bucket_by="account_id",
    )
    kwargs = {"enabled": True, "default_value": "off", "salt": "abc", "rules": [rule]}
    assert evaluate(**kwargs, context={"account_id": "a1"}) == ("on", "rule_match")
    assert evaluate(**kwargs, context={"user_id": "u1"}) == ("off", "default")


@pytest.mark.parametrize(
    ("operator", "operand", "actual", "expected"),
    [
        ("eq", "TR", "TR", True),
        ("eq", "TR", "tr", False),
        ("neq", "TR", "DE", True),
        ("neq", "TR", "TR", False),
        ("in", ["TR", "DE"], "DE", True),
        ("in", ["TR", "DE"], "US", False),
        ("not_in", ["TR"], "US", True),
        ("not_in", ["TR"], "TR", False),
        ("contains", "qa", "x+qa@y", True),
        ("contains", "qa", "QA", False),
        ("starts_with", "beta-", "beta-1", True),
        ("starts_with", "beta-", "1-beta-", False),
        ("ends_with", ".io", "a.io", True),
        ("ends_with", ".io", "a.io.x", False),
    ],
)
def test_operators(operator: str, operand: object, actual: str, expected: bool) -> None:
    assert attribute_matches(operator, actual, json.dumps(operand)) is expected


@pytest.mark.parametrize(
    "operator", ["eq", "neq", "in", "not_in", "contains", "starts_with", "ends_with"]
)
def test_missing_attribute_matches_nothing(operator: str) -> None:
    operand = ["x"] if operator in ("in", "not_in") else "x"
    assert attribute_matches(operator, None, json.dumps(operand)) is False


@pytest.mark.parametrize(
    ("operator", "value_json"),
    [("eq", "not json"), ("eq", '["x"]'), ("in", '"x"'), ("in", "[1, 2]"), ("eq", None)],
)
def test_malformed_value_json_never_matches(operator: str, value_json: str | None) -> None:
    assert attribute_matches(operator, "x", value_json) is False


def test_evaluation_order() -> None:
    rules = [
        RuleView(priority=5, rule_type="boolean", return_value="catch-all"),
        RuleView(
            priority=1,
            rule_type="attribute",
            return_value="pro",
            attribute="plan",
            operator="eq",
            value_json='"pro"',
        ),
        RuleView(priority=0, rule_type="boolean", return_value="inactive", is_active=False),
    ]
    kwargs = {"default_value": "default", "salt": "s", "rules": rules}
    assert evaluate(enabled=True, **kwargs, context={"plan": "pro"}) == ("pro", "rule_match")
    assert evaluate(enabled=True, **kwargs, context={}) == ("catch-all", "rule_match")
    assert evaluate(enabled=False, **kwargs, context={"plan": "pro"}) == ("default", "disabled")
    assert evaluate(enabled=True, default_value=1, salt="s", rules=[], context={}) == (1, "default")
