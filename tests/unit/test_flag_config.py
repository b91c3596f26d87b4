"""domain/flag_config: parsing a `{flag, rules}` answer, every kind of change, the words, JSON."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from togul_monitor.domain.flag_config import (
    MAX_JSON_LEAVES,
    Change,
    ConfigDiff,
    FlagConfig,
    describe,
    diff_configs,
    diff_from_json,
    diff_to_json,
    parse_flag,
    summary,
)


def _answer() -> dict[str, Any]:
    return {
        "flag": {
            "id": "f-1",
            "environment_id": "env-prod",
            "key": "checkout-v2",
            "name": "Checkout v2",
            "description": None,
            "enabled": True,
            "value_type": "boolean",
            "default_value": False,
            "salt": "s",
            "version": 6,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-02T00:00:00Z",
            "unknown_extra": {"kept": "out"},
        },
        "rules": [
            {
                "id": "r-attr",
                "flag_id": "f-1",
                "priority": 10,
                "rule_type": "attribute",
                "attribute": "plan",
                "operator": "in",
                "value_json": '["premium", "enterprise"]',
                "rollout_percentage": None,
                "bucket_by": "user_id",
                "return_value": True,
                "is_active": True,
            },
            {
                "id": "r-pct",
                "flag_id": "f-1",
                "priority": 20,
                "rule_type": "percentage",
                "rollout_percentage": 25,
                "bucket_by": "user_id",
                "return_value": True,
                "is_active": True,
            },
            {
                "id": "r-always",
                "priority": 5,
                "rule_type": "boolean",
                "return_value": False,
            },
        ],
    }


def _edit(fn: Any) -> tuple[FlagConfig, FlagConfig]:
    body = _answer()
    after = copy.deepcopy(body)
    fn(after)
    return parse_flag(body), parse_flag(after)


def _rule(body: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return next(r for r in body["rules"] if r["id"] == rule_id)


def _diff(before: FlagConfig | None, after: FlagConfig | None) -> ConfigDiff:
    return ConfigDiff("checkout-v2", "env-prod", "e1", 7, diff_configs(before, after))


def test_parse_sorts_rules_by_priority_and_ignores_extras() -> None:
    config = parse_flag(_answer())
    assert [r.rule_id for r in config.rules] == ["r-always", "r-attr", "r-pct"]
    assert config.flag_key == "checkout-v2" and config.updated_at == "2026-01-02T00:00:00Z"
    assert config.rules[0].is_active is True  # absent: active
    assert config.rules[0].bucket_by is None


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b["flag"].pop("id"), "flag.id"),
        (lambda b: b["flag"].update(enabled="yes"), "flag.enabled"),
        (lambda b: b.update(rules={}), "rules is not a list"),
        (lambda b: b["rules"][0].update(priority=True), "rules[0].priority"),
        (lambda b: b["rules"][1].update(rollout_percentage="50"), "rules[1].rollout_percentage"),
        (lambda b: b["rules"].append("x"), "rules[3] is not an object"),
    ],
)
def test_parse_rejects_a_wrong_shape_by_name(mutate: Any, message: str) -> None:
    body = _answer()
    mutate(body)
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_flag(body)
    with pytest.raises(ValueError):
        parse_flag(["not", "an", "object"])


def test_no_change_is_no_change() -> None:
    before, after = _edit(lambda b: b["flag"].update(updated_at="2026-02-02T00:00:00Z"))
    assert diff_configs(before, after) == ()
    assert summary(_diff(before, after)) == "no configuration change"


def test_rollout_change_names_the_rule_by_its_number() -> None:
    before, after = _edit(lambda b: _rule(b, "r-pct").update(rollout_percentage=50))
    diff = _diff(before, after)
    assert diff.changes == (
        Change(
            "rules[r-pct].rollout_percentage", "changed", 25, 50, "r-pct", 3,
            "percentage by user_id",
        ),
    )  # fmt: skip
    assert summary(diff) == "rollout 25→50% · rule 3"
    assert describe(diff) == ["rule 3 (percentage by user_id): rollout 25% → 50%"]


def test_enabled_and_default_are_type_aware() -> None:
    before, after = _edit(lambda b: b["flag"].update(enabled=False, default_value=0))
    diff = _diff(before, after)
    assert [(c.path, c.before, c.after) for c in diff.changes] == [
        ("enabled", True, False),
        ("default_value", False, 0),  # false and 0 differ for an SDK
    ]
    assert summary(diff) == "flag switched off · +1 more"
    assert describe(diff) == ["flag switched off", "default false → 0"]
    # One JSON number written two ways (a server may re-serialise it) is no change.
    before, after = _edit(lambda b: b["flag"].update(default_value={"n": [1.0, 2]}))
    _, again = _edit(lambda b: b["flag"].update(default_value={"n": [1, 2.0]}))
    assert _diff(after, again).changes == ()


def test_json_default_diffs_by_path() -> None:
    def edit(b: dict[str, Any]) -> None:
        b["flag"]["default_value"] = {"trial_days": 30, "tiers": ["a", "b"], "new": True}

    body = _answer()
    body["flag"]["default_value"] = {"trial_days": 14, "tiers": ["a"], "old": 1, "we ird": 1}
    after = copy.deepcopy(body)
    edit(after)
    after["flag"]["default_value"]["we ird"] = 2
    diff = _diff(parse_flag(body), parse_flag(after))
    assert [(c.path, c.kind, c.before, c.after) for c in diff.changes] == [
        ("default_value.new", "added", None, True),
        ("default_value.old", "removed", 1, None),
        ("default_value.tiers[1]", "added", None, "b"),
        ("default_value.trial_days", "changed", 14, 30),
        ('default_value["we ird"]', "changed", 1, 2),
    ]
    assert "default.trial_days 14 → 30" in describe(diff)


def test_a_huge_json_rewrite_is_one_change() -> None:
    body = _answer()
    body["flag"]["default_value"] = {f"k{i}": i for i in range(MAX_JSON_LEAVES + 10)}
    after = copy.deepcopy(body)
    after["flag"]["default_value"] = {f"k{i}": -i for i in range(MAX_JSON_LEAVES + 10)}
    changes = diff_configs(parse_flag(body), parse_flag(after))
    assert [c.path for c in changes] == ["default_value"]


def test_name_and_description() -> None:
    before, after = _edit(lambda b: b["flag"].update(name="New", description="why"))
    diff = _diff(before, after)
    assert [(c.path, c.before, c.after) for c in diff.changes] == [
        ("name", "Checkout v2", "New"),
        ("description", None, "why"),
    ]
    assert describe(diff) == ['name "Checkout v2" → "New"', 'description null → "why"']


def test_rule_deactivated_and_activated() -> None:
    before, after = _edit(lambda b: _rule(b, "r-attr").update(is_active=False))
    diff = _diff(before, after)
    assert summary(diff) == "rule 2 deactivated"
    assert describe(diff) == ["rule 2 (plan in premium, enterprise): deactivated"]
    assert summary(_diff(after, before)) == "rule 2 activated"


def test_operator_value_and_attribute() -> None:
    def edit(b: dict[str, Any]) -> None:
        _rule(b, "r-attr").update(attribute="tier", operator="eq", value_json='"gold"')

    before, after = _edit(edit)
    diff = _diff(before, after)
    assert [c.path for c in diff.changes] == [
        "rules[r-attr].attribute",
        "rules[r-attr].operator",
        "rules[r-attr].value_json",
    ]
    assert all(c.rule_number == 2 and c.condition == "tier = gold" for c in diff.changes)
    assert summary(diff) == 'attribute "plan"→"tier" · rule 2 · +2 more'
    assert describe(diff)[2] == "rule 2 (tier = gold): values premium, enterprise → gold"


def test_operand_compares_as_json() -> None:
    before, after = _edit(
        lambda b: _rule(b, "r-attr").update(value_json='["premium","enterprise"]')
    )
    assert diff_configs(before, after) == ()


def test_rule_added_and_removed_and_moved() -> None:
    def edit(b: dict[str, Any]) -> None:
        b["rules"] = [r for r in b["rules"] if r["id"] != "r-always"]
        _rule(b, "r-pct")["priority"] = 1
        b["rules"].append(
            {"id": "r-new", "priority": 30, "rule_type": "boolean", "return_value": True}
        )

    before, after = _edit(edit)
    diff = _diff(before, after)
    assert [(c.path, c.kind, c.rule_number) for c in diff.changes] == [
        ("rules[r-pct].priority", "changed", 1),
        ("rules[r-always]", "removed", 1),  # numbered in the before config
        ("rules[r-new]", "added", 3),
    ]
    assert diff.changes[2].after["return_value"] is True
    assert describe(diff) == [
        "rule 1 (percentage by user_id): priority 20 → 1",
        "rule 1 (always): removed",
        "rule 3 (always): added",
    ]


def test_bucket_by_and_return_value() -> None:
    def edit(b: dict[str, Any]) -> None:
        _rule(b, "r-pct").update(bucket_by="org_id", return_value=False)

    before, after = _edit(edit)
    diff = _diff(before, after)
    assert [(c.path, c.before, c.after) for c in diff.changes] == [
        ("rules[r-pct].bucket_by", "user_id", "org_id"),
        ("rules[r-pct].return_value", True, False),
    ]
    assert describe(diff) == [
        'rule 3 (percentage by org_id): bucket by "user_id" → "org_id"',
        "rule 3 (percentage by org_id): returns true → false",
    ]


def test_flag_created_and_deleted() -> None:
    config = parse_flag(_answer())
    created, deleted = _diff(None, config), _diff(config, None)
    assert [(c.path, c.kind) for c in created.changes] == [("flag", "added")]
    assert [(c.path, c.kind) for c in deleted.changes] == [("flag", "removed")]
    assert summary(created) == "flag created" and summary(deleted) == "flag deleted"
    assert diff_configs(None, None) == ()
    first = ConfigDiff("k", "e", None, None, (), first_seen=True)
    assert summary(first) == "first snapshot"


def test_server_text_is_escaped() -> None:
    def edit(b: dict[str, Any]) -> None:
        b["flag"]["name"] = "evil\x1b[2J\nline"
        _rule(b, "r-attr").update(attribute="pl\x1ban", is_active=False)

    before, after = _edit(edit)
    lines = describe(_diff(before, after))
    assert len(lines) == 3 and all("\x1b" not in line and "\n" not in line for line in lines)
    assert lines[1].startswith("rule 2 (pl\\x1ban in premium")


def test_json_round_trip() -> None:
    before, after = _edit(lambda b: _rule(b, "r-pct").update(rollout_percentage=50))
    diff = ConfigDiff("checkout-v2", "env-prod", None, None, diff_configs(before, after))
    assert diff_from_json(diff_to_json(diff)) == diff
    first = ConfigDiff("k", "e", "9", 3, (), first_seen=True)
    assert diff_from_json(diff_to_json(first)) == first
    with pytest.raises(ValueError):
        diff_from_json({"flag_key": "k", "environment_id": "e", "changes": [{"kind": "x"}]})
