"""An environment comparison in words and as JSON: a line per difference, a line per flag, the
last line of `compare`, and the rows of the side-by-side view. Plain text, every server string
escaped (`safe_text`, `show`); values read A → B.

A difference reuses the configuration diff's words (`describe`, domain/flag_config_words.py:
`rollout 25% → 50%`, `default false → true`), except where "before → after" would mislead
across environments: the switch, a rule's active state, and a rule only one side has.
"""

from __future__ import annotations

from typing import Any

from togul_monitor.domain.env_compare import (
    Difference,
    EnvComparison,
    FlagComparison,
    align_rules,
)
from togul_monitor.domain.flag_config import (
    Change,
    ConfigDiff,
    FlagConfig,
    describe,
    rule_condition,
    rule_to_json,
    show,
)
from togul_monitor.support.text import safe_text


def _rule_label(d: Difference, env_a: str, env_b: str, *, short: bool = False) -> str:
    if d.rule_a is not None and d.rule_a == d.rule_b:
        label = f"rule {d.rule_a}"
    elif d.rule_a is not None and d.rule_b is not None:
        label = f"rule {d.rule_a} in {safe_text(env_a)}, {d.rule_b} in {safe_text(env_b)}"
    else:
        number = d.rule_a if d.rule_a is not None else d.rule_b
        label = f"rule {number}"
    if short or not d.condition:
        return label
    return f"{label} ({safe_text(d.condition)})"


def difference_line(d: Difference, env_a: str, env_b: str, *, short: bool = False) -> str:
    """`rule 2 (percentage by user_id): rollout 25% → 50%`, `on in staging, off in production`;
    `short`: what differs first, the rule after it, no condition (`rollout 25% → 50% · rule 2`)."""
    a, b = safe_text(env_a), safe_text(env_b)
    if d.path == "enabled":
        return f"{'on' if d.a else 'off'} in {a}, {'on' if d.b else 'off'} in {b}"
    label = _rule_label(d, env_a, env_b, short=short)
    if d.path == "rule":
        where = a if d.kind == "only_a" else b
        if short:
            return f"{label} only in {where}"
        fields = d.a if d.kind == "only_a" else d.b
        returns = f" → {show(fields.get('return_value'))}" if isinstance(fields, dict) else ""
        return f"{label}{returns}: only in {where}"
    field = d.path[len("rule.") :] if d.path.startswith("rule.") else d.path
    if field == "is_active":
        words = (
            f"{'active' if d.a else 'inactive'} in {a}, {'active' if d.b else 'inactive'} in {b}"
        )
    else:
        # The configuration diff's words for one flag-level change of the same field.
        change = Change(field, "changed", d.a, d.b)
        words = describe(ConfigDiff("", "", None, None, (change,)))[0]
    if not d.path.startswith("rule."):
        return words
    return f"{words} · {label}" if short else f"{label}: {words}"


def flag_summary(flag: FlagComparison, env_a: str, env_b: str, *, short: bool = False) -> str:
    """One line: `same`, `only in staging`, or the first difference and how many more."""
    if not flag.in_a or not flag.in_b:
        return f"only in {safe_text(env_a if flag.in_a else env_b)}"
    if not flag.differences:
        return "same"
    first = difference_line(flag.differences[0], env_a, env_b, short=short)
    more = len(flag.differences) - 1
    return f"{first} · +{more} more" if more else first


def comparison_summary(comparison: EnvComparison) -> str:
    """The last line of `compare`: `24 flags: 23 same, 1 differs, 0 only in …`."""
    a, b = safe_text(comparison.env_a), safe_text(comparison.env_b)
    total, differing = len(comparison.flags), len(comparison.differing)
    same = sum(1 for f in comparison.flags if f.matches)
    verdict = "match" if comparison.matches else "differ"
    return (
        f"{a} and {b} {verdict}: {total} flag{'' if total == 1 else 's'}, {same} same, "
        f"{differing} differ{'s' if differing == 1 else ''}, {len(comparison.only_a)} only in "
        f"{a}, {len(comparison.only_b)} only in {b}"
    )


def _difference_json(d: Difference, env_a: str, env_b: str) -> dict[str, Any]:
    return {
        "path": d.path,
        "kind": d.kind,
        "a": d.a,
        "b": d.b,
        "rule_a": d.rule_a,
        "rule_b": d.rule_b,
        "condition": d.condition,
        "text": difference_line(d, env_a, env_b),
    }


def comparison_to_json(comparison: EnvComparison) -> dict[str, Any]:
    """`compare --json`: one object. Flag keys are the server's, unescaped (JSON escapes)."""
    a, b = comparison.env_a, comparison.env_b
    return {
        "env_a": a,
        "env_b": b,
        "matches": comparison.matches,
        "flags": len(comparison.flags),
        "same": sum(1 for f in comparison.flags if f.matches),
        "differing": [
            {
                "flag_key": f.flag_key,
                "summary": flag_summary(f, a, b),
                "differences": [_difference_json(d, a, b) for d in f.differences],
            }
            for f in comparison.differing
        ],
        "only_a": comparison.only_a,
        "only_b": comparison.only_b,
        "summary": comparison_summary(comparison),
    }


# --- side by side ------------------------------------------------------------------------------


def _flag_fields(config: FlagConfig | None) -> list[tuple[str, str]]:
    if config is None:
        return [("flag", "(absent)")]
    return [
        ("enabled", "on" if config.enabled else "off"),
        ("type", safe_text(config.value_type or "?")),
        ("default", show(config.default_value)),
        ("name", safe_text(config.name)),
        ("description", safe_text(config.description or "")),
    ]


def rule_text(config: FlagConfig, index: int) -> str:
    rule = config.rules[index]
    text = rule_condition(rule_to_json(rule))
    if rule.rule_type == "percentage" and rule.rollout_percentage is not None:
        text += f" {show(rule.rollout_percentage)}%"
    text += f" → {show(rule.return_value)}"
    return text if rule.is_active else f"(inactive) {text}"


def side_by_side(a: FlagConfig | None, b: FlagConfig | None) -> list[tuple[str, str, str, bool]]:
    """(label, A's text, B's text, differs) per line: the flag's fields, then the rules aligned
    as the comparison aligns them (a rule one side lacks is blank there)."""
    rows = []
    fields_a, fields_b = _flag_fields(a), _flag_fields(b)
    if a is None or b is None:
        rows.append(("flag", "present" if a else "absent", "present" if b else "absent", True))
        return rows
    for (label, left), (_, right) in zip(fields_a, fields_b, strict=True):
        rows.append((label, left, right, left != right))
    for i, j in align_rules(a.rules, b.rules):
        left = rule_text(a, i) if i is not None else ""
        right = rule_text(b, j) if j is not None else ""
        label = "rule " + " / ".join(str(n + 1) if n is not None else "–" for n in (i, j))
        rows.append((label, left, right, left != right))
    return rows
