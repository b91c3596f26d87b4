"""Comparing two environments' configurations (domain/env_compare.py): what is ignored (ids,
versions, times, priorities as numbers), how rules are aligned across environments (by order and
condition), and the words each difference gets."""

from __future__ import annotations

from typing import Any

from msgspec.structs import replace

from togul_monitor.domain.env_compare import align_rules, compare_environments, compare_flag
from togul_monitor.domain.env_compare_words import (
    comparison_summary,
    difference_line,
    flag_summary,
    side_by_side,
)
from togul_monitor.domain.flag_config import FlagConfig, RuleConfig


def rule(rule_id: str, priority: int, **fields: Any) -> RuleConfig:
    base: dict[str, Any] = {
        "rule_type": "attribute",
        "attribute": "plan",
        "operator": "in",
        "value_json": '["premium"]',
        "rollout_percentage": None,
        "bucket_by": None,
        "return_value": True,
        "is_active": True,
    }
    return RuleConfig(rule_id=rule_id, priority=priority, **(base | fields))


def pct(rule_id: str, priority: int, percentage: int) -> RuleConfig:
    return rule(
        rule_id,
        priority,
        rule_type="percentage",
        attribute=None,
        operator=None,
        value_json=None,
        rollout_percentage=percentage,
        bucket_by="user_id",
    )


def flag(env: str, *rules: RuleConfig, **fields: Any) -> FlagConfig:
    base: dict[str, Any] = {
        "flag_id": f"id-{env}",
        "flag_key": "checkout",
        "environment_id": env,
        "name": "Checkout",
        "description": None,
        "value_type": "boolean",
        "enabled": True,
        "default_value": False,
        "rules": rules,
        "updated_at": f"2026-01-0{len(env) % 9}T00:00:00Z",
        "version": len(env),
    }
    return FlagConfig(**(base | fields))


def lines(a: FlagConfig | None, b: FlagConfig | None) -> list[str]:
    found = compare_flag("checkout", a, b)
    return [difference_line(d, "prod", "stage") for d in found.differences]


def test_ids_versions_times_and_priority_numbers_are_not_differences() -> None:
    a = flag("prod", rule("r1", 1), pct("r2", 2, 25))
    b = flag("staging-env", rule("x9", 10), pct("x8", 20, 25), version=9)
    assert compare_flag("checkout", a, b).matches
    assert side_by_side(a, b)[-1] == (
        "rule 2 / 2",
        "percentage by user_id 25% → true",
        "percentage by user_id 25% → true",
        False,
    )


def test_a_rule_changed_in_place_is_one_difference_on_that_rule() -> None:
    a = flag("prod", rule("r1", 1), pct("r2", 2, 25))
    b = flag("stage", rule("s1", 1), pct("s2", 2, 60))
    assert lines(a, b) == ["rule 2 (percentage by user_id): rollout 25% → 60%"]
    short = flag_summary(compare_flag("checkout", a, b), "prod", "stage", short=True)
    assert short == "rollout 25% → 60% · rule 2"


def test_a_rule_inserted_first_does_not_shift_every_other_rule() -> None:
    a = flag("prod", rule("r1", 1), pct("r2", 2, 25))
    b = flag("stage", rule("s0", 0, attribute="country", value_json='["TR"]'), *a.rules)
    assert lines(a, b) == ["rule 1 (country in TR) → true: only in stage"]
    b = replace(b, rules=(*b.rules[:2], pct("s2", 5, 30)))
    assert lines(a, b)[1] == "rule 2 in prod, 3 in stage (percentage by user_id): rollout 25% → 30%"


def test_an_edited_condition_pairs_by_position_and_operands_compare_as_json() -> None:
    a = flag("prod", rule("r1", 1, value_json='["premium", "gold"]'))
    b = flag("stage", rule("s1", 1, value_json='["premium","gold"]'))
    assert compare_flag("checkout", a, b).matches
    b = flag("stage", rule("s1", 1, value_json='["premium"]'))
    assert lines(a, b) == [
        "rule 1 (plan in premium): values premium, gold → premium",
    ]


def test_switch_activity_default_and_presence_words() -> None:
    a = flag("prod", rule("r1", 1), enabled=False, default_value={"a": 1})
    b = flag("stage", rule("s1", 1, is_active=False), default_value={"a": 2})
    assert lines(a, b) == [
        "off in prod, on in stage",
        "default.a 1 → 2",
        "rule 1 (plan in premium): active in prod, inactive in stage",
    ]
    only = compare_flag("checkout", a, None)
    assert not only.matches and flag_summary(only, "prod", "stage") == "only in prod"


def test_a_reorder_shows_as_rules_on_one_side_and_the_summary_counts() -> None:
    first, second = rule("r1", 1), rule("r2", 2, attribute="country", value_json='"TR"')
    pairs = align_rules([first, second], [second, first])
    assert sorted(p for p in pairs if None not in p) in ([(0, 1)], [(1, 0)])
    configs = {
        "prod": {"checkout": flag("prod", first, second), "x": flag("prod", flag_key="x")},
        "stage": {"checkout": flag("stage", second, first)},
    }
    comparison = compare_environments(configs, "prod", "stage")
    assert not comparison.matches and comparison.only_a == ["x"]
    assert comparison_summary(comparison) == (
        "prod and stage differ: 2 flags, 0 same, 1 differs, 1 only in prod, 0 only in stage"
    )


def test_server_text_is_escaped() -> None:
    a = flag("prod", rule("r1", 1, attribute="plan\x1b[31m"))
    b = flag("stage", rule("s1", 1, attribute="plan\x1b[31m", return_value=False))
    (line,) = lines(a, b)
    assert "\x1b" not in line and "returns true → false" in line


def test_one_number_written_two_ways_is_no_difference() -> None:
    """JSON has one number type: `1.0` and `1` (a server may write either) are the same default,
    return value and operand, so the rules pair and nothing differs."""
    a = flag(
        "prod",
        rule("r1", 1, operator="eq", attribute="age", value_json="18.0", return_value=2.0),
        default_value={"a": 1.0, "b": [2, 3.0]},
    )
    b = flag(
        "stage",
        rule("s1", 1, operator="eq", attribute="age", value_json="18", return_value=2),
        default_value={"b": [2.0, 3], "a": 1},
    )
    assert compare_flag("checkout", a, b).matches
    assert lines(a, replace(b, default_value={"a": True, "b": [2, 3]})) == ["default.a 1.0 → true"]
