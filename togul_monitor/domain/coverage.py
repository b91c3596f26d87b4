"""Rollout coverage: how a flag's rules meet a context, and what share of synthetic users gets
each value, next to the percentages the rules configure.

For one context the sampler (core/coverage.py) asks evaluate N times, the context's attributes
kept and its bucketing attributes (each active percentage rule's `bucket_by`, `user_id` when
nothing says otherwise) set to a synthetic id `coverage-<run>-<i>`. This module is the pure
part: which rules could apply (`applicability`), the synthetic contexts (`sample_contexts`),
the tally of the answers (`CoverageTally` → `CoverageResult`); its words and JSON form are in
`coverage_words.py`.

**Which samples "reached" a percentage rule.** Togul's `reason` is only `rule_match`, `default`
or `disabled` (docs/protocol.md, evaluate): it never names the rule that matched, and the
emulator answers the same (emulator/rules.py). So the attribution is inferred, per sample, by
walking the configuration's active rules in priority order as the server does:
- a `boolean` rule always matches: the walk stops there;
- an `attribute` rule is matched here, on the sample's own context, with the documented
  operators (exact, case-sensitive strings; a missing attribute matches nothing,
  docs/protocol.md "Rules and bucketing"): when it matches, the walk stops;
- a `percentage` rule cannot be matched here (its hash and salt are the server's), so the
  sample *reached* it; the rule *took* it when the answer is a `rule_match` (or says no reason)
  whose value is the rule's `return_value` (compared as JSON, `true` is not `1`), and the walk
  stops; otherwise the walk goes on to the next rule.
The observed share of a percentage rule is `took / reached`.

Where this cannot tell: when a later rule that the sample may reach returns the same value
(another percentage rule, a boolean rule, an attribute rule that matches the sample), a sample
answered that value is counted for the first such percentage rule, so its share is an upper
bound: the rule is marked `ambiguous`. A sample whose answer contradicts the walk (the walk
ends at an attribute, boolean rule or the default, and the answer is another value or reason;
a `disabled` answer for an enabled flag) is `unexplained`: the configuration changed during
the run (the configuration read again after it says so: coverage_change.py), or the server
matches attributes differently. Two percentage rules with the same `bucket_by` share the
server's buckets, so a later one sees only the buckets the earlier ones left: its share among
the samples that reach it is not its configured percentage (on the emulator's hashing, 25 %
then 50 % gives 25 of the 75 buckets left, 33 %); `share_of_all` gives its share of every
sample as well.

Pure: no I/O.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from togul_monitor.domain.coverage_change import ConfigChange
from togul_monitor.domain.flag_config import FlagConfig, RuleConfig, rule_condition, rule_to_json
from togul_monitor.domain.values import same_json

#: The attribute a percentage rule buckets by when it does not say (docs/protocol.md).
DEFAULT_BUCKET_BY = "user_id"
REASON_RULE_MATCH = "rule_match"
REASON_DEFAULT = "default"
REASON_DISABLED = "disabled"
_LIST_OPERATORS = frozenset({"in", "not_in"})


# --- which rules could apply ------------------------------------------------------------------


def _operand(operator: str, value_json: str | None) -> str | list[str] | None:
    """A rule's `value_json` decoded for `operator`; None when it does not fit (never matches)."""
    if value_json is None:
        return None
    try:
        decoded = json.loads(value_json)
    except (TypeError, ValueError, RecursionError):
        return None
    if operator in _LIST_OPERATORS:
        ok = isinstance(decoded, list) and all(isinstance(v, str) for v in decoded)
        return decoded if ok else None
    return decoded if isinstance(decoded, str) else None


def attribute_matches(rule: RuleConfig, context: Mapping[str, str]) -> bool:
    """Whether an attribute rule's condition holds for `context` (docs/protocol.md's operators;
    a missing attribute matches nothing, not even `neq`)."""
    operator, attribute = rule.operator, rule.attribute
    if operator is None or attribute is None:
        return False
    actual = context.get(attribute)
    operand = _operand(operator, rule.value_json)
    if actual is None or operand is None:
        return False
    if operator in _LIST_OPERATORS:
        return (actual in operand) == (operator == "in")
    assert isinstance(operand, str)
    tests = {
        "eq": actual == operand,
        "neq": actual != operand,
        "contains": operand in actual,
        "starts_with": actual.startswith(operand),
        "ends_with": actual.endswith(operand),
    }
    return tests.get(operator, False)


def bucket_attribute(rule: RuleConfig) -> str:
    return rule.bucket_by or DEFAULT_BUCKET_BY


def varied_attributes(config: FlagConfig | None) -> tuple[str, ...]:
    """The attributes each sample sets to its synthetic id: every active percentage rule's
    `bucket_by` (in rule order), `user_id` when there is none or no configuration."""
    found: list[str] = []
    for rule in config.rules if config is not None else ():
        if rule.is_active and rule.rule_type == "percentage":
            name = bucket_attribute(rule)
            if name not in found:
                found.append(name)
    return tuple(found) or (DEFAULT_BUCKET_BY,)


class RuleApplicability(msgspec.Struct, frozen=True):
    """How one rule meets one context (before any sample is sent)."""

    number: int  # 1-based by priority, as flag_config numbers rules
    rule_type: str
    condition: str  # `plan in premium, enterprise`, `percentage by user_id`, `always`
    status: str  # matches | no match | varies | percentage | inactive | not reached
    rollout_percentage: float | None = None


def applicability(
    config: FlagConfig, context: Mapping[str, str], varied: Sequence[str] = ()
) -> tuple[RuleApplicability, ...]:
    """Each rule against `context`: an attribute rule `matches` or not (`varies` when it tests
    an attribute the samples vary), a percentage rule is a `percentage`, and every rule after
    one that always catches the context is `not reached`."""
    out: list[RuleApplicability] = []
    caught = not config.enabled
    for number, rule in enumerate(config.rules, start=1):
        condition = rule_condition(rule_to_json(rule))
        percentage = rule.rollout_percentage if rule.rule_type == "percentage" else None
        if not rule.is_active:
            status = "inactive"
        elif caught:
            status = "not reached"
        elif rule.rule_type == "boolean":
            status, caught = "matches", True
        elif rule.rule_type == "attribute" and rule.attribute in varied:
            status = "varies"
        elif rule.rule_type == "attribute":
            caught = attribute_matches(rule, context)
            status = "matches" if caught else "no match"
        elif rule.rule_type == "percentage":
            status = "percentage"
        else:
            status = "no match"  # a kind nobody documents matches nothing
        out.append(RuleApplicability(number, rule.rule_type, condition, status, percentage))
    return tuple(out)


# --- the samples --------------------------------------------------------------------------------


def run_prefix(seed: int | str | None = None) -> str:
    """A run's id prefix: random, so two runs bucket different users; a seed fixes it."""
    return f"{random.Random(seed).getrandbits(32):08x}"


def sample_id(prefix: str, index: int) -> str:
    return f"coverage-{prefix}-{index}"


def sample_context(
    context: Mapping[str, str], varied: Sequence[str], prefix: str, index: int
) -> dict[str, str]:
    """`context` with every varied attribute set to sample `index`'s synthetic id."""
    sample = dict(context)
    for name in varied:
        sample[name] = sample_id(prefix, index)
    return sample


def sample_contexts(
    context: Mapping[str, str], varied: Sequence[str], prefix: str, count: int
) -> list[dict[str, str]]:
    return [sample_context(context, varied, prefix, i) for i in range(count)]


# --- the tally ----------------------------------------------------------------------------------


class ValueShare(msgspec.Struct, frozen=True):
    value: Any
    count: int
    share: float  # percent of the answered samples


class RuleCoverage(msgspec.Struct, frozen=True):
    """One percentage rule for one context: configured against observed."""

    number: int
    rule_id: str
    configured: float | None  # the rollout percentage
    bucket_by: str
    return_value: Any
    reached: int  # samples whose walk came to this rule
    took: int  # of those, the samples answered its return value by a rule match
    answered: int  # every answered sample of the context (for `share_of_all`)
    ambiguous: bool = False  # a later rule the samples may reach returns the same value

    @property
    def observed(self) -> float | None:
        """Percent of the samples that reached the rule it took; None when none reached it."""
        return 100.0 * self.took / self.reached if self.reached else None

    @property
    def share_of_all(self) -> float | None:
        return 100.0 * self.took / self.answered if self.answered else None


class ContextCoverage(msgspec.Struct, frozen=True):
    name: str
    attributes: dict[str, str]
    requested: int  # samples meant to be sent
    answered: int  # samples evaluate answered (200)
    failed: int  # samples that got no value (network, 5xx, a stop)
    values: tuple[ValueShare, ...]  # most frequent first
    rules: tuple[RuleCoverage, ...]  # the active percentage rules, by priority
    applicability: tuple[RuleApplicability, ...] = ()
    reasons: dict[str, int] = msgspec.field(default_factory=dict)
    unexplained: int = 0  # answers the configuration's walk cannot explain


class CoverageResult(msgspec.Struct, frozen=True):
    flag_key: str
    prefix: str  # the run's id prefix (`coverage-<prefix>-<i>`)
    samples: int  # per context
    varied: tuple[str, ...]  # the attributes the samples vary
    contexts: tuple[ContextCoverage, ...]
    config_known: bool  # a configuration was given: the rule columns mean something
    flag_enabled: bool | None = None  # the configuration's switch (None: unknown)
    stopped: str | None = None  # why sampling stopped early, in words
    stop_kind: str | None = None  # rejected | quota | not_found | failures | cancelled
    # The configuration read after the run differs (coverage_change.py): no rule figures then.
    config_changed: ConfigChange | None = None
    recheck_failed: str | None = None  # why it could not be read after the run, in words


class _Counts(msgspec.Struct):
    answered: int = 0
    failed: int = 0
    unexplained: int = 0
    values: list[tuple[Any, int]] = msgspec.field(default_factory=list)  # in first-seen order
    reasons: dict[str, int] = msgspec.field(default_factory=dict)
    reached: dict[int, int] = msgspec.field(default_factory=dict)  # rule index → count
    took: dict[int, int] = msgspec.field(default_factory=dict)

    def add_value(self, value: Any) -> None:
        for i, (seen, n) in enumerate(self.values):
            if same_json(seen, value):
                self.values[i] = (seen, n + 1)
                return
        self.values.append((value, 1))


class CoverageTally:
    """Counts the answers of one run, context by context; `result()` freezes them."""

    def __init__(
        self,
        flag_key: str,
        contexts: Mapping[str, Mapping[str, str]],
        config: FlagConfig | None,
        *,
        samples: int,
        prefix: str,
        varied: Sequence[str] | None = None,
    ) -> None:
        self.flag_key, self.config, self.samples, self.prefix = flag_key, config, samples, prefix
        self.contexts = {name: dict(attrs) for name, attrs in contexts.items()}
        self.varied = tuple(varied) if varied is not None else varied_attributes(config)
        self._counts = {name: _Counts() for name in self.contexts}
        self.stopped: str | None = None
        self.stop_kind: str | None = None
        self.config_changed: ConfigChange | None = None
        self.recheck_failed: str | None = None

    def add(self, name: str, sample: Mapping[str, str], value: Any, reason: str | None) -> None:
        """One answered sample of context `name`: `sample` is the context that was sent."""
        counts = self._counts[name]
        counts.answered += 1
        counts.add_value(value)
        key = reason if reason is not None else "none"
        counts.reasons[key] = counts.reasons.get(key, 0) + 1
        if self.config is not None and not self._walk(counts, sample, value, reason):
            counts.unexplained += 1

    def add_failure(self, name: str) -> None:
        self._counts[name].failed += 1

    def _walk(
        self, counts: _Counts, sample: Mapping[str, str], value: Any, reason: str | None
    ) -> bool:
        """Attribute the answer to a rule (module docstring); False when it contradicts."""
        config = self.config
        assert config is not None
        if not config.enabled or reason == REASON_DISABLED:
            return not config.enabled and reason in (REASON_DISABLED, None)
        matched = reason in (REASON_RULE_MATCH, None)
        for index, rule in enumerate(config.rules):
            if not rule.is_active:
                continue
            if rule.rule_type == "percentage":
                counts.reached[index] = counts.reached.get(index, 0) + 1
                if matched and same_json(value, rule.return_value):
                    counts.took[index] = counts.took.get(index, 0) + 1
                    return True
                continue
            if rule.rule_type == "boolean" or (
                rule.rule_type == "attribute" and attribute_matches(rule, sample)
            ):
                return matched and same_json(value, rule.return_value)
        return reason in (REASON_DEFAULT, None) and same_json(value, config.default_value)

    def _ambiguous(self, index: int, sample: Mapping[str, str]) -> bool:
        """A later rule the samples may reach returns the same value as rule `index`."""
        config = self.config
        assert config is not None
        mine = config.rules[index].return_value
        for rule in config.rules[index + 1 :]:
            if not rule.is_active or not same_json(rule.return_value, mine):
                continue
            if rule.rule_type != "attribute" or attribute_matches(rule, sample):
                return True
        return False

    def _context(self, name: str) -> ContextCoverage:
        counts, attributes = self._counts[name], self.contexts[name]
        answered = counts.answered
        values = sorted(counts.values, key=lambda item: -item[1])  # stable: first seen first
        shares = tuple(
            ValueShare(v, n, 100.0 * n / answered if answered else 0.0) for v, n in values
        )
        rules: list[RuleCoverage] = []
        table: tuple[RuleApplicability, ...] = ()
        config = self.config if self.config_changed is None else None  # no rule held throughout
        if config is not None:
            first = sample_context(attributes, self.varied, self.prefix, 0)
            table = applicability(config, attributes, self.varied)
            for index, rule in enumerate(config.rules):
                if not rule.is_active or rule.rule_type != "percentage":
                    continue
                rules.append(
                    RuleCoverage(
                        number=index + 1,
                        rule_id=rule.rule_id,
                        configured=rule.rollout_percentage,
                        bucket_by=bucket_attribute(rule),
                        return_value=rule.return_value,
                        reached=counts.reached.get(index, 0),
                        took=counts.took.get(index, 0),
                        answered=answered,
                        ambiguous=self._ambiguous(index, first),
                    )
                )
        return ContextCoverage(
            name=name,
            attributes=dict(attributes),
            requested=self.samples,
            answered=answered,
            failed=counts.failed,
            values=shares,
            rules=tuple(rules),
            applicability=table,
            reasons=dict(counts.reasons),
            unexplained=counts.unexplained if config is not None else 0,
        )

    def result(self) -> CoverageResult:
        return CoverageResult(
            flag_key=self.flag_key,
            prefix=self.prefix,
            samples=self.samples,
            varied=self.varied,
            contexts=tuple(self._context(name) for name in self.contexts),
            config_known=self.config is not None,
            flag_enabled=(
                self.config.enabled if self.config is not None and not self.config_changed else None
            ),
            stopped=self.stopped,
            stop_kind=self.stop_kind,
            config_changed=self.config_changed,
            recheck_failed=self.recheck_failed,
        )
