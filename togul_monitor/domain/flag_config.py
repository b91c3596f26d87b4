"""A flag's configuration (its switch, default and rules) and what changed between two of them.

An event says "rule.updated checkout-v2 v7"; the management API's `{flag, rules}`
(docs/management-api.md) says what the flag now is. Two snapshots of it give the change a
person means: "rollout 25% → 50% on rule 2", "default false → true", "rule 3 deactivated".

- `parse_flag` reads one answer of `GET /api/v1/projects/{project}/flags/{id}` (lenient on
  extra fields, a `ValueError` naming the field on a wrong shape).
- `diff_configs` compares two snapshots: rules are matched by id (a rule moved to another
  priority is the same rule); JSON values (a default, a return value) are compared by path and
  by type, since `true` and `1` are different values for an SDK.
- `ConfigDiff` ties the changes to the event they explain; `summary` and `describe` say them in
  plain text (server strings escaped with `safe_text`); `diff_to_json`/`diff_from_json` are the
  journal's and `tail --json`'s form.

Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from typing import Any

from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_config_model import (
    KINDS,
    Change,
    ChangeKind,
    ConfigDiff,
    FlagConfig,
    RuleConfig,
    diff_from_json,
    diff_to_json,
    parse_flag,
    rule_to_json,
)
from togul_monitor.domain.flag_config_words import (
    CONDITION_SHOWN,
    change_lines,
    describe,
    rule_condition,
    show,
    summary,
)
from togul_monitor.domain.values import same_json

__all__ = [
    "CONDITION_SHOWN",
    "KINDS",
    "MAX_JSON_LEAVES",
    "Change",
    "ChangeKind",
    "ConfigDiff",
    "FlagConfig",
    "RuleConfig",
    "change_lines",
    "describe",
    "diff_configs",
    "diff_explaining",
    "diff_from_json",
    "diff_to_json",
    "parse_flag",
    "rule_condition",
    "rule_to_json",
    "show",
    "summary",
]

#: A JSON value whose diff has more leaves than this is one change of the whole value: a server
#: rewriting a large document must not turn into thousands of lines (or journal rows).
MAX_JSON_LEAVES = 50

# --- diffing -----------------------------------------------------------------------------------

_RULE_FIELDS: tuple[str, ...] = (
    "is_active",
    "priority",
    "rule_type",
    "attribute",
    "operator",
    "value_json",
    "rollout_percentage",
    "bucket_by",
)
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")


def _same_operand(a: str | None, b: str | None) -> bool:
    """Operands compare as JSON when both parse (`["a", "b"]` is `["a","b"]`)."""
    if a is None or b is None:
        return a == b
    try:
        return same_json(json.loads(a), json.loads(b))
    except (ValueError, RecursionError):
        return a == b


def _json_diff(before: Any, after: Any, path: str, out: list[tuple[str, str, Any, Any]]) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after), key=str):
            sub = f"{path}.{key}" if _KEY.match(key) else f"{path}[{json.dumps(key)}]"
            if key not in before:
                out.append((sub, "added", None, after[key]))
            elif key not in after:
                out.append((sub, "removed", before[key], None))
            else:
                _json_diff(before[key], after[key], sub, out)
    elif isinstance(before, list) and isinstance(after, list):
        for i in range(max(len(before), len(after))):
            if i >= len(before):
                out.append((f"{path}[{i}]", "added", None, after[i]))
            elif i >= len(after):
                out.append((f"{path}[{i}]", "removed", before[i], None))
            else:
                _json_diff(before[i], after[i], f"{path}[{i}]", out)
    elif not same_json(before, after):
        out.append((path, "changed", before, after))


def _value_changes(
    before: Any, after: Any, path: str, rule: tuple[str, int, str] | None = None
) -> list[Change]:
    """`rule`: the id, number and condition of the rule the value belongs to."""
    found: list[tuple[str, str, Any, Any]] = []
    _json_diff(before, after, path, found)
    if len(found) > MAX_JSON_LEAVES:
        found = [(path, "changed", before, after)]
    rule_id, number, condition = rule if rule is not None else (None, None, None)
    return [
        Change(p, k, b, a, rule_id, number, condition)  # type: ignore[arg-type]
        for p, k, b, a in found
    ]


def _flag_brief(flag: FlagConfig) -> dict[str, Any]:
    return {
        "name": flag.name,
        "enabled": flag.enabled,
        "default_value": flag.default_value,
        "rules": len(flag.rules),
    }


def diff_configs(before: FlagConfig | None, after: FlagConfig | None) -> tuple[Change, ...]:
    """What changed from `before` to `after`: flag fields first, then rules by their number.

    None on one side is a flag created (`flag` added) or deleted (`flag` removed); the caller
    decides whether a missing `before` is a creation or only a first sight (ConfigDiff.first_seen).
    """
    if before is None or after is None:
        if before is after:
            return ()
        if before is None:
            assert after is not None
            return (Change("flag", "added", None, _flag_brief(after)),)
        return (Change("flag", "removed", _flag_brief(before), None),)
    changes: list[Change] = []
    for name in ("enabled", "name", "description", "value_type"):
        old, new = getattr(before, name), getattr(after, name)
        if not same_json(old, new):
            changes.append(Change(name, "changed", old, new))
    changes.extend(_value_changes(before.default_value, after.default_value, "default_value"))
    old_rules = {r.rule_id: (i + 1, r) for i, r in enumerate(before.rules)}
    new_rules = {r.rule_id: (i + 1, r) for i, r in enumerate(after.rules)}
    for rule_id, (number, rule) in new_rules.items():
        base, fields = f"rules[{rule_id}]", rule_to_json(rule)
        condition = rule_condition(fields)
        if rule_id not in old_rules:
            changes.append(Change(base, "added", None, fields, rule_id, number, condition))
            continue
        old = old_rules[rule_id][1]
        for name in _RULE_FIELDS:
            a, b = getattr(old, name), getattr(rule, name)
            same = _same_operand(a, b) if name == "value_json" else same_json(a, b)
            if not same:
                changes.append(
                    Change(f"{base}.{name}", "changed", a, b, rule_id, number, condition)
                )
        where = (rule_id, number, condition)
        changes.extend(
            _value_changes(old.return_value, rule.return_value, f"{base}.return_value", where)
        )
    for rule_id, (number, rule) in old_rules.items():
        if rule_id not in new_rules:
            fields = rule_to_json(rule)
            changes.append(
                Change(
                    f"rules[{rule_id}]",
                    "removed",
                    fields,
                    None,
                    rule_id,
                    number,
                    rule_condition(fields),
                )
            )
    flag_level = [c for c in changes if c.rule_id is None]
    by_rule = sorted(
        (c for c in changes if c.rule_id is not None),
        key=lambda c: (c.rule_number or 0, c.kind == "removed"),
    )
    return (*flag_level, *by_rule)


def diff_explaining(
    event: FlagEvent | None,
    flag: FlagConfig,
    changes: tuple[Change, ...],
    first_seen: bool = False,
    includes_unseen: bool = False,
    fetched_version: int | None = None,
) -> ConfigDiff:
    """The `changes` of `flag` (its configuration after them; before, for a deletion) as the
    diff that explains `event`. One found by a re-fetch (no event) names neither an id nor a
    version, so the journal's backfill (store/recorded.py) ties it to no row, as live; the
    version it fetched (when the server says) is its identity in a shared journal."""
    event_id, version = (None, None) if event is None else (event.event_id, event.version)
    return ConfigDiff(
        flag.flag_key,
        flag.environment_id,
        event_id,
        version,
        changes,
        first_seen,
        includes_unseen,
        fetched_version=fetched_version if event is None else None,
        flag_id=flag.flag_id,
    )
