"""Two environments' configurations of the same flags, compared: "does production match staging?"

Each environment keeps its own copy of a flag (its own ids, versions, timestamps and rule ids),
so the comparison looks only at what decides what a context gets, plus the flag's name and
description (a pipeline that asks "equal?" should hear about those too):
- compared: `enabled`, `name`, `description`, `value_type`, `default_value`, and the rules;
- ignored: the flag's id and environment id, `version`, `updated_at`, and each rule's id (the
  salt is not in a configuration, `FlagConfig`, so it never takes part).

Rules have no identity across environments, so they are aligned first, and `diff_configs`
(domain/flag_config.py, which matches rules by id) then compares the aligned copies:
1. rules are taken in the order they are tried (by priority) in each environment;
2. the longest common subsequence of their *conditions* (type, attribute, operator, operand
   compared as JSON, bucket_by) pairs the rules that match the same contexts in the same order:
   their return value, rollout, or active switch may still differ;
3. in each gap between two such pairs, leftover rules of the same type are paired by position
   (a rule whose condition was edited: `values premium → premium, enterprise`);
4. what is left exists in one environment only.
Each pair gets one synthetic id, and both rules of a pair get the same priority: priorities are
compared as an order, never as numbers (1, 2 in one environment and 10, 20 in the other try the
rules alike). A reordering shows as rules present on one side only.

Rule numbers are 1-based positions in each environment (`rule_a`, `rule_b`). Values read A → B.
Pure: no I/O. The words are in `env_compare_words.py`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from msgspec.structs import replace

from togul_monitor.domain.flag_config import Change, FlagConfig, RuleConfig, diff_configs
from togul_monitor.domain.values import one_number_form

#: Beyond this many rule pairs to weigh, rules are aligned by position alone (the alignment is
#: quadratic; no real flag has hundreds of rules, a hostile server might).
MAX_ALIGN_CELLS = 250_000


class Difference(msgspec.Struct, frozen=True):
    """One way the flag differs between environment A and B."""

    path: str  # "enabled", "default_value.trial_days", "rule.rollout_percentage", "rule"
    kind: str  # "changed"; for a whole rule: "only_a" or "only_b"
    a: Any  # A's value (a rule only in A: its fields)
    b: Any
    rule_a: int | None = None  # the rule's position in A (1-based)
    rule_b: int | None = None
    condition: str | None = None  # what the rule matches (`rule_condition`)


class FlagComparison(msgspec.Struct, frozen=True):
    flag_key: str
    in_a: bool
    in_b: bool
    differences: tuple[Difference, ...] = ()

    @property
    def matches(self) -> bool:
        return self.in_a and self.in_b and not self.differences


class EnvComparison(msgspec.Struct, frozen=True):
    env_a: str
    env_b: str
    flags: tuple[FlagComparison, ...]  # every flag of either environment, by key

    @property
    def differing(self) -> list[FlagComparison]:
        return [f for f in self.flags if f.in_a and f.in_b and f.differences]

    @property
    def only_a(self) -> list[str]:
        return [f.flag_key for f in self.flags if f.in_a and not f.in_b]

    @property
    def only_b(self) -> list[str]:
        return [f.flag_key for f in self.flags if f.in_b and not f.in_a]

    @property
    def matches(self) -> bool:
        return all(f.matches for f in self.flags)


# --- aligning rules ----------------------------------------------------------------------------


def _operand(value_json: str | None) -> object:
    if value_json is None:
        return None
    try:
        return ("json", json.dumps(one_number_form(json.loads(value_json)), sort_keys=True))
    except (ValueError, RecursionError):
        return ("text", value_json)


def condition_key(rule: RuleConfig) -> tuple[object, ...]:
    """What contexts a rule matches, comparable across environments."""
    return (
        rule.rule_type,
        rule.attribute,
        rule.operator,
        _operand(rule.value_json),
        rule.bucket_by,
    )


def _lcs_pairs(a: Sequence[object], b: Sequence[object]) -> list[tuple[int, int]]:
    """Index pairs of a longest common subsequence of `a` and `b`, in order."""
    n, m = len(a), len(b)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below = table[i], table[i + 1]
        for j in range(m - 1, -1, -1):
            row[j] = below[j + 1] + 1 if a[i] == b[j] else max(below[j], row[j + 1])
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        if a[i] == b[j]:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return pairs


def align_rules(
    a: Sequence[RuleConfig], b: Sequence[RuleConfig]
) -> list[tuple[int | None, int | None]]:
    """Pairs of indexes (A's, B's) in the order the rules are tried; None: no partner."""
    if len(a) * len(b) > MAX_ALIGN_CELLS:
        anchors = [(i, i) for i in range(min(len(a), len(b)))]
    else:
        anchors = _lcs_pairs([condition_key(r) for r in a], [condition_key(r) for r in b])
    out: list[tuple[int | None, int | None]] = []
    prev_a = prev_b = -1
    for end_a, end_b in [*anchors, (len(a), len(b))]:
        gap_a = list(range(prev_a + 1, end_a))
        gap_b = list(range(prev_b + 1, end_b))
        # Leftovers in one gap: pair those of the same type by position (an edited condition).
        while gap_a and gap_b:
            i = gap_a[0]
            j = next((j for j in gap_b if b[j].rule_type == a[i].rule_type), None)
            if j is None:
                out.append((gap_a.pop(0), None))
                continue
            while gap_b[0] != j:
                out.append((None, gap_b.pop(0)))
            out.append((gap_a.pop(0), gap_b.pop(0)))
        out.extend((i, None) for i in gap_a)
        out.extend((None, j) for j in gap_b)
        if end_a < len(a):
            out.append((end_a, end_b))
        prev_a, prev_b = end_a, end_b
    return out


# --- comparing ---------------------------------------------------------------------------------


def _slot_id(slot: int) -> str:
    return f"#{slot}"


def _neutral(config: FlagConfig, rules: tuple[RuleConfig, ...]) -> FlagConfig:
    return replace(
        config, flag_id="", environment_id="", updated_at=None, version=None, rules=rules
    )


def aligned_configs(
    a: FlagConfig, b: FlagConfig
) -> tuple[FlagConfig, FlagConfig, dict[str, tuple[int | None, int | None]]]:
    """Copies of `a` and `b` whose paired rules share an id and a priority, without what is
    never compared; and each synthetic rule id → the rule's positions (1-based) in A and B."""
    pairs = align_rules(a.rules, b.rules)
    rules_a: list[tuple[int, RuleConfig]] = []
    rules_b: list[tuple[int, RuleConfig]] = []
    numbers: dict[str, tuple[int | None, int | None]] = {}
    for slot, (i, j) in enumerate(pairs, start=1):
        rule_id = _slot_id(slot)
        numbers[rule_id] = (None if i is None else i + 1, None if j is None else j + 1)
        if i is not None:
            rules_a.append((i, replace(a.rules[i], rule_id=rule_id, priority=slot)))
        if j is not None:
            rules_b.append((j, replace(b.rules[j], rule_id=rule_id, priority=slot)))
    # Each side keeps its own order, so `diff_configs` numbers rules as that environment does.
    ordered_a = tuple(rule for _, rule in sorted(rules_a, key=lambda p: p[0]))
    ordered_b = tuple(rule for _, rule in sorted(rules_b, key=lambda p: p[0]))
    return _neutral(a, ordered_a), _neutral(b, ordered_b), numbers


def _difference(change: Change, numbers: Mapping[str, tuple[int | None, int | None]]) -> Difference:
    if change.rule_id is None:
        return Difference(change.path, change.kind, change.before, change.after)
    rule_a, rule_b = numbers.get(change.rule_id, (None, None))
    field = change.path[len(f"rules[{change.rule_id}]") :].lstrip(".")
    if not field:  # a whole rule on one side only
        kind = "only_b" if change.kind == "added" else "only_a"
        return Difference(
            "rule", kind, change.before, change.after, rule_a, rule_b, change.condition
        )
    return Difference(
        f"rule.{field}", change.kind, change.before, change.after, rule_a, rule_b, change.condition
    )


def compare_flag(key: str, a: FlagConfig | None, b: FlagConfig | None) -> FlagComparison:
    """How the flag `key` differs from environment A to B (None: the flag is not there)."""
    if a is None or b is None:
        return FlagComparison(key, a is not None, b is not None)
    left, right, numbers = aligned_configs(a, b)
    changes = diff_configs(left, right)
    return FlagComparison(key, True, True, tuple(_difference(c, numbers) for c in changes))


def compare_environments(
    configs: Mapping[str, Mapping[str, FlagConfig]], env_a: str, env_b: str
) -> EnvComparison:
    """Every flag of A or B (by key), compared. `configs`: environment key → flag key → config."""
    flags_a, flags_b = configs.get(env_a, {}), configs.get(env_b, {})
    keys = sorted(set(flags_a) | set(flags_b))
    compared = tuple(compare_flag(k, flags_a.get(k), flags_b.get(k)) for k in keys)
    return EnvComparison(env_a, env_b, compared)


def presence(configs: Mapping[str, Mapping[str, FlagConfig]], flag_key: str) -> tuple[str, ...]:
    """The environments (keys, in `configs`' order) that have the flag."""
    return tuple(env for env, flags in configs.items() if flag_key in flags)


def same_everywhere(configs: Mapping[str, Mapping[str, FlagConfig]], flag_key: str) -> bool:
    """The flag exists in every environment of `configs` and matches across all of them."""
    found = [flags.get(flag_key) for flags in configs.values()]
    if any(config is None for config in found):
        return False
    first = found[0]
    return all(compare_flag(flag_key, first, other).matches for other in found[1:])
