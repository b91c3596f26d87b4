"""The shapes of a flag's configuration and of a diff, read from the management API's answer
and written to (and read from) JSON. The diff itself is in `flag_config.py` (the module to import:
it re-exports these)."""

from __future__ import annotations

import json
from typing import Any, Literal

import msgspec

ChangeKind = Literal["changed", "added", "removed"]
KINDS: tuple[str, ...] = ("changed", "added", "removed")


class RuleConfig(msgspec.Struct, frozen=True):
    rule_id: str
    priority: int
    rule_type: str  # boolean, attribute or percentage
    attribute: str | None
    operator: str | None
    value_json: str | None  # a string holding JSON (the operand of an attribute rule)
    rollout_percentage: int | float | None
    bucket_by: str | None
    return_value: Any
    is_active: bool


class FlagConfig(msgspec.Struct, frozen=True):
    flag_id: str
    flag_key: str
    environment_id: str
    name: str
    description: str | None
    value_type: str | None  # None: the server did not say (an emulator extension)
    enabled: bool
    default_value: Any
    rules: tuple[RuleConfig, ...]  # by priority, lowest (tried first) first
    updated_at: str | None
    # The version of the flag's last event, when the server says (an emulator extension): it
    # ties an answer to the exact event it reflects. Not part of any diff.
    version: int | None = None


class Change(msgspec.Struct, frozen=True):
    path: str  # "enabled", "default_value.trial_days", "rules[<rule_id>].rollout_percentage"
    kind: ChangeKind
    before: Any  # JSON values; a rule added or removed: its fields as a dict
    after: Any
    rule_id: str | None = None
    rule_number: int | None = None  # 1-based by priority, in the after config (before: removed)
    condition: str | None = None  # what the rule matches, as `rule_condition` says it


class ConfigDiff(msgspec.Struct, frozen=True):
    flag_key: str
    environment_id: str
    event_id: str | None  # the event this diff explains (None: no id on the stream)
    version: int | None  # that event's version
    changes: tuple[Change, ...]
    first_seen: bool = False  # no earlier snapshot: nothing can be claimed to have changed
    # The snapshot before was taken before the stream may have missed changes (an outage that
    # did not prove continuity, an unusable event): the diff may hold some, not only its event's.
    includes_unseen: bool = False
    # Found by a re-fetch: the version of the configuration it read, when the server says. Not
    # `version` (no event's): it is the change's identity in a shared journal (store/model.py).
    fetched_version: int | None = None
    # The server's id of the flag (of its configuration before, for a deletion): a flag deleted
    # and created again with its key is another flag, whose versions start at 1 again; two
    # recorders of one stream agree on it (the shared journal's identity: store/model.py).
    flag_id: str | None = None

    @property
    def found_by_refetch(self) -> bool:
        """Found by a re-fetch (after an outage, an unusable event): it explains no event, so it
        names neither an id nor a version (core/configs.py)."""
        return self.event_id is None and self.version is None


# --- parsing -----------------------------------------------------------------------------------


def _field(obj: dict[str, Any], name: str, kinds: type | tuple[type, ...], where: str) -> Any:
    value = obj.get(name)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _tuple(kinds)):
        raise ValueError(f"{where}.{name} is missing or not {_names(kinds)}")
    return value


def _optional(obj: dict[str, Any], name: str, kinds: type | tuple[type, ...], where: str) -> Any:
    value = obj.get(name)
    if value is None:
        return None
    return _field(obj, name, kinds, where)


def _tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _names(kinds: type | tuple[type, ...]) -> str:
    return " or ".join(
        {"str": "a string", "bool": "a boolean", "int": "an integer"}.get(k.__name__, k.__name__)
        for k in _tuple(kinds)
    )


def _operand(value: Any) -> str | None:
    """`value_json` is a string holding JSON; a server that sends the JSON itself is read as its
    canonical text, so the same operand compares equal either way."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _parse_rule(raw: object, where: str) -> RuleConfig:
    if not isinstance(raw, dict):
        raise ValueError(f"{where} is not an object")
    percentage = raw.get("rollout_percentage")
    if percentage is not None and (
        isinstance(percentage, bool) or not isinstance(percentage, (int, float))
    ):
        raise ValueError(f"{where}.rollout_percentage is not a number")
    active = raw.get("is_active")  # absent or null: the default, active
    return RuleConfig(
        rule_id=_field(raw, "id", str, where),
        priority=_field(raw, "priority", int, where),
        rule_type=_field(raw, "rule_type", str, where),
        attribute=_optional(raw, "attribute", str, where),
        operator=_optional(raw, "operator", str, where),
        value_json=_operand(raw.get("value_json")),
        rollout_percentage=percentage,
        bucket_by=_optional(raw, "bucket_by", str, where),
        return_value=raw.get("return_value"),
        is_active=True if active is None else _field(raw, "is_active", bool, where),
    )


def parse_flag(body: object) -> FlagConfig:
    """One `{flag, rules}` answer (or a flag object holding its `rules`) as a FlagConfig."""
    if not isinstance(body, dict):
        raise ValueError("the answer is not a JSON object")
    flag = body.get("flag", body)
    if not isinstance(flag, dict):
        raise ValueError("flag is not an object")
    rules = body.get("rules", flag.get("rules") if flag is not body else None)
    if rules is None:
        rules = []
    if not isinstance(rules, list):
        raise ValueError("rules is not a list")
    parsed = [_parse_rule(rule, f"rules[{i}]") for i, rule in enumerate(rules)]
    parsed.sort(key=lambda r: r.priority)  # stable: equal priorities keep the server's order
    name, version = flag.get("name"), flag.get("version")
    return FlagConfig(
        flag_id=_field(flag, "id", str, "flag"),
        flag_key=_field(flag, "key", str, "flag"),
        environment_id=_field(flag, "environment_id", str, "flag"),
        name=name if isinstance(name, str) else "",
        description=_optional(flag, "description", str, "flag"),
        value_type=_optional(flag, "value_type", str, "flag"),
        enabled=_field(flag, "enabled", bool, "flag"),
        default_value=flag.get("default_value"),
        rules=tuple(parsed),
        updated_at=_optional(flag, "updated_at", str, "flag"),
        version=_integer(version),
    )


def rule_to_json(rule: RuleConfig) -> dict[str, Any]:
    return {
        "id": rule.rule_id,
        "priority": rule.priority,
        "rule_type": rule.rule_type,
        "attribute": rule.attribute,
        "operator": rule.operator,
        "value_json": rule.value_json,
        "rollout_percentage": rule.rollout_percentage,
        "bucket_by": rule.bucket_by,
        "return_value": rule.return_value,
        "is_active": rule.is_active,
    }


# --- JSON form ---------------------------------------------------------------------------------


def diff_to_json(diff: ConfigDiff) -> dict[str, Any]:
    return {
        "flag_key": diff.flag_key,
        "environment_id": diff.environment_id,
        "event_id": diff.event_id,
        "version": diff.version,
        "first_seen": diff.first_seen,
        "includes_unseen": diff.includes_unseen,
        "fetched_version": diff.fetched_version,
        "flag_id": diff.flag_id,
        "changes": [
            {
                "path": c.path,
                "kind": c.kind,
                "before": c.before,
                "after": c.after,
                "rule_id": c.rule_id,
                "rule_number": c.rule_number,
                "condition": c.condition,
            }
            for c in diff.changes
        ],
    }


def _change_from_json(raw: object) -> Change:
    if not isinstance(raw, dict) or raw.get("kind") not in KINDS:
        raise ValueError("a change is not an object with a known kind")
    path, rule_id, number = raw.get("path"), raw.get("rule_id"), raw.get("rule_number")
    condition = raw.get("condition")
    if not isinstance(path, str):
        raise ValueError("a change has no path")
    return Change(
        path,
        raw["kind"],
        raw.get("before"),
        raw.get("after"),
        rule_id if isinstance(rule_id, str) else None,
        _integer(number),
        condition if isinstance(condition, str) else None,
    )


def _integer(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def diff_from_json(data: object) -> ConfigDiff:
    """The inverse of `diff_to_json`; a ValueError on a shape it did not write."""
    if not isinstance(data, dict):
        raise ValueError("a diff is not an object")
    key, env, event_id = data.get("flag_key"), data.get("environment_id"), data.get("event_id")
    version, changes = data.get("version"), data.get("changes", [])
    fetched, flag_id = data.get("fetched_version"), data.get("flag_id")
    if not isinstance(key, str) or not isinstance(env, str) or not isinstance(changes, list):
        raise ValueError("a diff needs flag_key, environment_id and a list of changes")
    return ConfigDiff(
        flag_key=key,
        environment_id=env,
        event_id=event_id if isinstance(event_id, str) else None,
        version=_integer(version),
        changes=tuple(_change_from_json(c) for c in changes),
        first_seen=data.get("first_seen") is True,
        includes_unseen=data.get("includes_unseen") is True,
        fetched_version=_integer(fetched),
        flag_id=flag_id if isinstance(flag_id, str) else None,
    )
