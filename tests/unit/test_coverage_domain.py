"""domain/coverage.py: which rules meet a context, the synthetic samples, and how the tally
attributes answers to rules (reached, took, ambiguous, unexplained), with its words and JSON."""

from __future__ import annotations

import json
from typing import Any

from togul_monitor.domain.coverage import (
    CoverageTally,
    applicability,
    run_prefix,
    sample_context,
    sample_contexts,
    varied_attributes,
)
from togul_monitor.domain.coverage_words import result_lines, result_to_json, rule_line
from togul_monitor.domain.flag_config import FlagConfig, RuleConfig


def rule(number: int, kind: str, value: Any, **extra: Any) -> RuleConfig:
    fields: dict[str, Any] = {
        "attribute": None,
        "operator": None,
        "value_json": None,
        "rollout_percentage": None,
        "bucket_by": None,
        "is_active": True,
    }
    fields.update(extra)
    return RuleConfig(f"r{number}", number, kind, return_value=value, **fields)


def flag(*rules: RuleConfig, enabled: bool = True, default: Any = False) -> FlagConfig:
    return FlagConfig(
        "f1", "checkout", "env", "Checkout", None, "boolean", enabled, default, rules, None
    )


ACME = rule(
    1, "attribute", True, attribute="email", operator="ends_with", value_json='"@acme.test"'
)
HALF = rule(2, "percentage", True, rollout_percentage=50, bucket_by="user_id")


def test_applicability_says_how_each_rule_meets_the_context() -> None:
    config = flag(ACME, HALF, rule(3, "boolean", False), rule(4, "boolean", True, is_active=False))
    caught = applicability(config, {"email": "a@acme.test"})
    assert [a.status for a in caught] == ["matches", "not reached", "not reached", "inactive"]
    free = applicability(config, {"email": "a@example.test"})
    assert [a.status for a in free] == ["no match", "percentage", "matches", "inactive"]
    assert free[1].rollout_percentage == 50
    assert free[0].condition == "email ends with @acme.test"
    # An attribute the samples vary is neither a match nor a miss: it depends on the sample.
    beta = rule(1, "attribute", True, attribute="user_id", operator="starts_with", value_json='"b"')
    assert applicability(flag(beta), {}, varied=("user_id",))[0].status == "varies"


def test_missing_attribute_matches_nothing_not_even_neq() -> None:
    neq = rule(1, "attribute", True, attribute="plan", operator="neq", value_json='"free"')
    not_in = rule(1, "attribute", True, attribute="plan", operator="not_in", value_json='["a"]')
    assert applicability(flag(neq), {})[0].status == "no match"
    assert applicability(flag(not_in), {})[0].status == "no match"
    assert applicability(flag(not_in), {"plan": "b"})[0].status == "matches"


def test_samples_vary_every_bucketing_attribute_and_a_seed_fixes_the_run() -> None:
    by_account = rule(3, "percentage", "x", rollout_percentage=10, bucket_by="account_id")
    assert varied_attributes(flag(ACME, HALF, by_account)) == ("user_id", "account_id")
    assert varied_attributes(None) == ("user_id",)
    assert run_prefix(7) == run_prefix(7)
    assert run_prefix(7) != run_prefix(8)
    samples = sample_contexts({"plan": "free", "user_id": "me"}, ("user_id",), "abc", 3)
    assert [s["user_id"] for s in samples] == ["coverage-abc-0", "coverage-abc-1", "coverage-abc-2"]
    assert all(s["plan"] == "free" for s in samples)


def test_a_percentage_rule_counts_the_samples_that_reached_it_and_took_its_value() -> None:
    config = flag(ACME, HALF)
    tally = CoverageTally(
        "checkout", {"free": {"email": "a@x.test"}}, config, samples=4, prefix="p"
    )
    for index, (value, reason) in enumerate(
        [(True, "rule_match"), (False, "default"), (True, "rule_match"), (False, "default")]
    ):
        sample = sample_context({"email": "a@x.test"}, ("user_id",), "p", index)
        tally.add("free", sample, value, reason)
    context = tally.result().contexts[0]
    (half,) = context.rules
    assert (half.reached, half.took, half.observed) == (4, 2, 50.0)
    assert not half.ambiguous and context.unexplained == 0
    assert [(v.value, v.count, v.share) for v in context.values] == [
        (True, 2, 50.0),
        (False, 2, 50.0),
    ]
    assert rule_line(half, "free") == "rule 2: 50 % configured, 50 % observed for free (4 samples)"


def test_a_context_an_attribute_rule_catches_first_never_reaches_the_percentage_rule() -> None:
    context_attrs = {"email": "a@acme.test"}
    tally = CoverageTally(
        "checkout", {"acme": context_attrs}, flag(ACME, HALF), samples=3, prefix="p"
    )
    for index in range(3):
        tally.add(
            "acme", sample_context(context_attrs, ("user_id",), "p", index), True, "rule_match"
        )
    context = tally.result().contexts[0]
    assert context.rules[0].reached == 0 and context.unexplained == 0
    assert rule_line(context.rules[0], "acme") == (
        "rule 2: 50 % configured, not reached for acme (0 of 3 samples)"
    )
    assert "  rule 1 (email ends with @acme.test) catches this context first" in result_lines(
        tally.result()
    )


def test_a_later_rule_with_the_same_value_makes_the_share_an_upper_bound() -> None:
    config = flag(HALF, rule(3, "boolean", True))
    tally = CoverageTally("checkout", {"all": {}}, config, samples=1, prefix="p")
    tally.add("all", sample_context({}, ("user_id",), "p", 0), True, "rule_match")
    (half,) = tally.result().contexts[0].rules
    assert half.ambiguous and half.took == 1
    assert rule_line(half, "all").endswith("(at most: a later rule returns the same value)")


def test_answers_the_configuration_cannot_explain_are_counted() -> None:
    tally = CoverageTally("checkout", {"acme": {"email": "a@acme.test"}}, flag(ACME, HALF),
                          samples=2, prefix="p")  # fmt: skip
    sample = {"email": "a@acme.test", "user_id": "coverage-p-0"}
    tally.add("acme", sample, False, "default")  # rule 1 matches: a default contradicts it
    tally.add("acme", sample, False, "disabled")  # the flag is enabled
    assert tally.result().contexts[0].unexplained == 2


def test_values_compare_as_json_and_without_a_config_only_values_are_tallied() -> None:
    tally = CoverageTally("n", {"c": {}}, None, samples=3, prefix="p")
    for value in (1, True, 1):
        tally.add("c", {"user_id": "x"}, value, "rule_match")
    tally.add_failure("c")
    result = tally.result()
    context = result.contexts[0]
    assert [(v.value, v.count) for v in context.values] == [(1, 2), (True, 1)]
    assert context.failed == 1 and context.rules == () and not result.config_known
    assert result_lines(result)[-1].startswith("observed shares only")
    data = json.loads(json.dumps(result_to_json(result)))
    assert data["contexts"][0]["values"][0] == {"value": 1, "count": 2, "share": 66.67}
    assert data["config_known"] is False and data["varied_attributes"] == ["user_id"]


def test_a_disabled_flag_explains_disabled_answers_and_says_it_is_off() -> None:
    tally = CoverageTally("k", {"c": {}}, flag(HALF, enabled=False), samples=1, prefix="p")
    tally.add("c", {"user_id": "x"}, False, "disabled")
    result = tally.result()
    context = result.contexts[0]
    assert context.unexplained == 0 and context.rules[0].reached == 0
    assert [a.status for a in context.applicability] == ["not reached"]
    assert "the flag is off" in result_lines(result)[-1]
    assert result_to_json(result)["flag_enabled"] is False


def test_server_text_in_words_is_made_safe() -> None:
    tally = CoverageTally("k", {"c": {}}, None, samples=1, prefix="p")
    tally.add("c", {}, "[bold]x\x1b[31m", "rule_match")
    line = result_lines(tally.result())[0]
    assert "\x1b" not in line
