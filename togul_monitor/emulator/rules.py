"""The rule engine: Togul's documented evaluation order and operators, plus the choices the
docs leave open (bucketing, missing attributes), which docs/protocol.md records.

Pure functions over plain values so that the HTTP endpoint, `World.evaluate` and the tests all
run exactly the same code.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

RULE_TYPES: tuple[str, ...] = ("boolean", "attribute", "percentage")
OPERATORS: tuple[str, ...] = ("eq", "neq", "in", "not_in", "contains", "starts_with", "ends_with")
LIST_OPERATORS: frozenset[str] = frozenset({"in", "not_in"})

REASON_DISABLED = "disabled"
REASON_RULE_MATCH = "rule_match"
REASON_DEFAULT = "default"


class RuleView(msgspec.Struct):
    """What the engine needs to know about one rule (the world's `Rule` extends it)."""

    priority: int
    rule_type: str
    return_value: Any
    attribute: str | None = None
    operator: str | None = None
    value_json: str | None = None
    rollout_percentage: int | None = None
    bucket_by: str = "user_id"
    is_active: bool = True


def bucket(salt: str, value: str) -> int:
    """Deterministic bucket 0–99: SHA-256 of `salt:value`, first 8 bytes big-endian, mod 100."""
    digest = hashlib.sha256(f"{salt}:{value}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def parse_value_json(operator: str, value_json: str) -> str | list[str]:
    """Decode a rule's `value_json` for `operator`; raise ValueError when it does not fit.

    Scalar operators take a JSON string (`"TR"`), list operators a JSON array of strings.
    """
    try:
        decoded = json.loads(value_json)
    except (TypeError, ValueError, RecursionError):
        # RecursionError: nesting too deep for the parser, which no operand needs.
        raise ValueError("value_json is not valid JSON") from None
    if operator in LIST_OPERATORS:
        if not isinstance(decoded, list) or not all(isinstance(v, str) for v in decoded):
            raise ValueError(f"value_json for {operator} must be a JSON array of strings")
        return decoded
    if not isinstance(decoded, str):
        raise ValueError(f"value_json for {operator} must be a JSON string")
    return decoded


def attribute_matches(operator: str, actual: str | None, value_json: str | None) -> bool:
    """Compare one context attribute with a rule's operand (exact, case-sensitive strings).

    Choice (Togul's docs leave it open; docs/protocol.md records it): a missing attribute
    matches nothing, not even `neq` or `not_in`. A rule about an attribute says nothing about a
    context that does not carry it, and this keeps targeting from leaking to anonymous contexts.
    Malformed `value_json` (rejected at creation, but a state file could carry it) never matches.
    """
    if actual is None or value_json is None:
        return False
    try:
        operand = parse_value_json(operator, value_json)
    except ValueError:
        return False
    if operator == "eq":
        return actual == operand
    if operator == "neq":
        return actual != operand
    if operator == "in":
        return actual in operand
    if operator == "not_in":
        return actual not in operand
    assert isinstance(operand, str)
    if operator == "contains":
        return operand in actual
    if operator == "starts_with":
        return actual.startswith(operand)
    if operator == "ends_with":
        return actual.endswith(operand)
    return False


def rule_matches(rule: RuleView, salt: str, context: Mapping[str, str]) -> bool:
    """Whether one (active) rule's condition holds for `context`."""
    if rule.rule_type == "boolean":
        return True
    if rule.rule_type == "attribute":
        if rule.operator is None or rule.attribute is None:
            return False
        return attribute_matches(rule.operator, context.get(rule.attribute), rule.value_json)
    if rule.rule_type == "percentage":
        value = context.get(rule.bucket_by or "user_id")
        if value is None or rule.rollout_percentage is None:
            return False  # a missing bucket_by attribute does not match (docs/protocol.md)
        return bucket(salt, value) < rule.rollout_percentage
    return False


def evaluate(
    *,
    enabled: bool,
    default_value: Any,
    salt: str,
    rules: Iterable[RuleView],
    context: Mapping[str, str],
) -> tuple[Any, str]:
    """Return `(value, reason)` for a flag: a disabled flag gives its default (`disabled`);
    else the first active rule, by priority, whose condition holds gives its return value
    (`rule_match`); else the default (`default`)."""
    if not enabled:
        return default_value, REASON_DISABLED
    # sorted() is stable: rules with equal priority keep their creation order.
    for rule in sorted((r for r in rules if r.is_active), key=lambda r: r.priority):
        if rule_matches(rule, salt, context):
            return rule.return_value, REASON_RULE_MATCH
    return default_value, REASON_DEFAULT
