"""The records of the emulated world (organization, user, project, environments, flags and
their rules), their API shapes, and the checks a flag value or a rule must pass.

Plain data: no locking and no events here; `world.py` owns the records and changes them.
"""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any

import msgspec
import msgspec.structs

from togul_monitor.emulator import rules as engine
from togul_monitor.emulator.errors import validation


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat().replace("+00:00", "Z")


def check_value(value_type: str, value: Any, field_name: str) -> Any:
    """Validate a typed flag value (default_value or return_value) against `value_type`."""
    ok = {
        "boolean": isinstance(value, bool),
        "string": isinstance(value, str),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "json": True,
    }.get(value_type, False)
    if not ok:
        raise validation(field_name, f"{field_name} must be a {value_type} value")
    return value


def _copy_value(value: Any) -> Any:
    return copy.deepcopy(value) if isinstance(value, (dict, list)) else value


def default_for(value_type: str) -> Any:
    return {"boolean": False, "string": "", "number": 0, "json": None}[value_type]


class Organization(msgspec.Struct):
    id: str
    slug: str
    name: str


class User(msgspec.Struct):
    id: str
    name: str
    email: str
    password: str
    created_at: float


class Project(msgspec.Struct):
    id: str
    organization_id: str
    slug: str
    name: str
    description: str | None
    created_at: float

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "organization_id": self.organization_id,
            "slug": self.slug,
            "name": self.name,
            "description": self.description,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.created_at),
        }


class Environment(msgspec.Struct):
    id: str
    project_id: str
    key: str
    name: str
    description: str | None
    created_at: float

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "project_id": self.project_id,
            "key": self.key,
            "name": self.name,
            "description": self.description,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.created_at),
        }


class Rule(engine.RuleView, kw_only=True):
    """A stored rule: the engine's fields plus identity and times. Evaluated as it is, under
    the world's lock, so no copy is made per evaluation."""

    id: str
    flag_id: str
    created_at: float = 0.0
    updated_at: float = 0.0

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "flag_id": self.flag_id,
            "priority": self.priority,
            "rule_type": self.rule_type,
            "attribute": self.attribute,
            "operator": self.operator,
            "value_json": self.value_json,
            "rollout_percentage": self.rollout_percentage,
            "bucket_by": self.bucket_by,
            "return_value": self.return_value,
            "is_active": self.is_active,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


#: The fields of a rule that a caller may set or change.
RULE_FIELDS: tuple[str, ...] = (
    "priority",
    "attribute",
    "operator",
    "value_json",
    "rollout_percentage",
    "bucket_by",
    "return_value",
    "is_active",
    "rule_type",
)


class Flag(msgspec.Struct):
    id: str
    environment_id: str
    key: str
    name: str
    description: str | None
    enabled: bool
    value_type: str
    default_value: Any
    salt: str
    version: int = 1
    created_at: float = 0.0
    updated_at: float = 0.0
    rules: list[Rule] = msgspec.field(default_factory=list)

    def sorted_rules(self) -> list[Rule]:
        return sorted(self.rules, key=lambda r: r.priority)

    def clone(self) -> Flag:
        """An independent copy, much cheaper than deepcopy (the simulator copies often)."""
        return msgspec.structs.replace(
            self,
            default_value=_copy_value(self.default_value),
            rules=[
                msgspec.structs.replace(r, return_value=_copy_value(r.return_value))
                for r in self.rules
            ],
        )

    def to_api(self) -> dict[str, Any]:
        # value_type and version are emulator extensions: Togul's documented flag lacks them.
        return {
            "id": self.id,
            "environment_id": self.environment_id,
            "key": self.key,
            "name": self.name,
            "description": self.description,
            "enabled": self.enabled,
            "value_type": self.value_type,
            "default_value": self.default_value,
            "salt": self.salt,
            "version": self.version,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


def check_rule(flag: Flag, rule: Rule) -> None:
    """Validate a complete rule against its type and the flag's value type."""
    if rule.rule_type not in engine.RULE_TYPES:
        raise validation("rule_type", "rule_type must be boolean, attribute or percentage")
    if not isinstance(rule.priority, int) or isinstance(rule.priority, bool):
        raise validation("priority", "priority must be an integer")
    if not isinstance(rule.is_active, bool):
        raise validation("is_active", "is_active must be a boolean")
    if not isinstance(rule.bucket_by, str) or not rule.bucket_by:
        raise validation("bucket_by", "bucket_by must be a non-empty string")
    check_value(flag.value_type, rule.return_value, "return_value")
    if rule.rule_type == "attribute":
        if not isinstance(rule.attribute, str) or not rule.attribute:
            raise validation("attribute", "attribute rules need an attribute")
        if rule.operator not in engine.OPERATORS:
            raise validation("operator", f"operator must be one of {', '.join(engine.OPERATORS)}")
        if not isinstance(rule.value_json, str):
            raise validation("value_json", "value_json must be a string holding JSON")
        try:
            engine.parse_value_json(rule.operator, rule.value_json)
        except ValueError as exc:
            raise validation("value_json", str(exc)) from None
    if rule.rule_type == "percentage":
        pct = rule.rollout_percentage
        if not isinstance(pct, int) or isinstance(pct, bool) or not 0 <= pct <= 100:
            raise validation("rollout_percentage", "rollout_percentage must be 0-100")
