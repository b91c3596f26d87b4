"""A diff in words: `summary` (one line) and `describe` (a line per change), plain text with every
server string escaped (`safe_text`). Import them from `flag_config.py`."""

from __future__ import annotations

import json
from typing import Any

from togul_monitor.domain.flag_config_model import Change, ConfigDiff
from togul_monitor.domain.values import UNSEEN_NOTE
from togul_monitor.support.text import safe_text

_SHOWN = 48  # characters of a value shown in a summary or a description
#: Characters of a rule's condition on a line of `tail` or `history`: enough to tell two rules
#: apart (an attribute, its operator and the start of its values), a line still fits a terminal.
CONDITION_SHOWN = 60


def show(value: Any, limit: int = _SHOWN) -> str:
    """A JSON value as short plain text: `true`, `"gold"`, `{"a": 1}`; cut with an ellipsis."""
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    return cut(safe_text(text), limit)


def cut(text: str, limit: int | None) -> str:
    """`text`, cut to `limit` characters with `…` (None: whole)."""
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


_OPERATOR_WORDS = {
    "eq": "=",
    "neq": "!=",
    "in": "in",
    "not_in": "not in",
    "contains": "contains",
    "starts_with": "starts with",
    "ends_with": "ends with",
}


def _operand_text(value_json: Any) -> str:
    if not isinstance(value_json, str):
        return show(value_json)
    try:
        operand = json.loads(value_json)
    except (ValueError, RecursionError):
        return show(value_json)
    if isinstance(operand, list) and all(isinstance(v, str) for v in operand):
        return cut(safe_text(", ".join(operand)), _SHOWN)
    return safe_text(operand) if isinstance(operand, str) else show(operand)


def rule_condition(rule: dict[str, Any]) -> str:
    """What a rule matches, as a person says it: `plan in premium, enterprise`,
    `percentage by user_id`, `always`."""
    kind = rule.get("rule_type")
    if kind == "boolean":
        return "always"
    if kind == "percentage":
        return f"percentage by {safe_text(rule.get('bucket_by') or 'user_id')}"
    if kind == "attribute":
        operator = rule.get("operator")
        word = _OPERATOR_WORDS.get(operator, safe_text(operator)) if operator else "?"
        return f"{safe_text(rule.get('attribute') or '?')} {word} {_operand_text(rule.get('value_json'))}"
    return safe_text(kind)


def _field_of(change: Change) -> str:
    """The part of the path after `rules[<id>].` (or the whole path of a flag field)."""
    if change.rule_id is None:
        return change.path
    return change.path[len(f"rules[{change.rule_id}]") :].lstrip(".")


def _arrow(change: Change, *, short: bool) -> str:
    sep = "→" if short else " → "
    if change.kind == "added":
        return f"added {show(change.after)}"
    if change.kind == "removed":
        return f"removed (was {show(change.before)})"
    return f"{show(change.before)}{sep}{show(change.after)}"


def _words(change: Change, *, short: bool) -> str:
    """One change without the rule it belongs to."""
    field, sep = _field_of(change), "→" if short else " → "
    if change.path == "flag":
        return "flag created" if change.kind == "added" else "flag deleted"
    if change.rule_id is not None and not field:
        return "added" if change.kind == "added" else "removed"
    if field == "enabled":
        return "flag switched on" if change.after else "flag switched off"
    if field == "is_active":
        return "activated" if change.after else "deactivated"
    if field == "rollout_percentage" and change.kind == "changed":
        pct = "" if short else "%"
        return f"rollout {show(change.before)}{pct}{sep}{show(change.after)}%"
    if field == "bucket_by":
        return f"bucket by {_arrow(change, short=short)}"
    if field == "value_json":
        return f"values {_operand_text(change.before)}{sep}{_operand_text(change.after)}"
    label = field.replace("default_value", "default", 1).replace("return_value", "returns", 1)
    return f"{label} {_arrow(change, short=short)}"


def _rule_label(change: Change) -> str:
    return f"rule {change.rule_number}" if change.rule_number is not None else "a rule"


def _condition(change: Change, limit: int | None) -> str:
    """The rule's condition, plain, cut to `limit` characters with `…` (None: whole)."""
    return cut(safe_text(change.condition or ""), limit)


def summary(diff: ConfigDiff) -> str:
    """One line: the first change and how many more (`rollout 25→50% · rule 2 · +2 more`)."""
    if not diff.changes:
        return "first snapshot" if diff.first_seen else "no configuration change"
    first = diff.changes[0]
    words = _words(first, short=True)
    if first.rule_id is not None:
        field = _field_of(first)
        if not field or field == "is_active":
            text = f"{_rule_label(first)} {words}"
        else:
            text = f"{words} · {_rule_label(first)}"
    else:
        text = words
    more = len(diff.changes) - 1
    text = f"{text} · +{more} more" if more else text
    return f"{text} · +unseen" if diff.includes_unseen else text


def describe(diff: ConfigDiff, condition_limit: int | None = None) -> list[str]:
    """One line per change: `rule 2 (percentage by user_id): rollout 25% → 50%`; the rule's
    condition cut to `condition_limit` characters (None: whole)."""
    if not diff.changes:
        return [summary(diff)]
    lines = []
    for change in diff.changes:
        words = _words(change, short=False)
        if change.rule_id is None:
            lines.append(words)
            continue
        condition = _condition(change, condition_limit)
        label = _rule_label(change) + (f" ({condition})" if condition else "")
        lines.append(f"{label}: {words}")
    return _noted(diff, lines)


def _noted(diff: ConfigDiff, lines: list[str]) -> list[str]:
    """`lines`, and the note of a diff that may hold changes the stream did not show."""
    return [*lines, f"({UNSEEN_NOTE})"] if diff.includes_unseen else lines


def change_lines(diff: ConfigDiff) -> list[str]:
    """One line per change, what changed first and the rule after it (`tail` prints these
    under the event): `rollout 25% → 50% (rule 2: percentage by user_id)`, `rule 3 (plan in
    premium) deactivated`, `default false → true`. A rule is named by its condition too: its
    number is its place after the change, which a reorder moves."""
    if not diff.changes:
        if diff.first_seen:
            return ["configuration first seen (no earlier snapshot to compare with)"]
        return [summary(diff)]
    lines = []
    for change in diff.changes:
        words = _words(change, short=False)
        if change.rule_id is None:
            lines.append(words)
        elif _field_of(change) in ("", "is_active"):
            condition = _condition(change, CONDITION_SHOWN)
            condition = f" ({condition})" if condition else ""
            lines.append(f"{_rule_label(change)}{condition} {words}")
        else:
            condition = _condition(change, CONDITION_SHOWN)
            condition = f": {condition}" if condition else ""
            lines.append(f"{words} ({_rule_label(change)}{condition})")
    return _noted(diff, lines)
