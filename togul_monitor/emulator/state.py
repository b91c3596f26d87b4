"""The emulated world: organization, project, environments, flags, rules, credentials.

Every mutation takes the world lock, changes the model, bumps the flag's own version and
publishes exactly one event through the outbox before the lock is released, so the order of
events always matches the order of changes. All public methods are safe from any thread.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import hashlib
import hmac
import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from togul_monitor.emulator import rules as engine
from togul_monitor.emulator.errors import ApiError, conflict, not_found, unauthorized, validation
from togul_monitor.emulator.outbox import Outbox
from togul_monitor.protocol import VALUE_TYPES

SCOPES: tuple[str, ...] = ("server", "sdk", "stream")
_SECRET_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
UNSET: Any = object()
ACCESS_TOKEN_TTL = 3600.0
REFRESH_TOKEN_TTL = 30 * 86400.0


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


@dataclass
class Organization:
    id: str
    slug: str
    name: str


@dataclass
class User:
    id: str
    name: str
    email: str
    password: str
    created_at: float


@dataclass
class Project:
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


@dataclass
class Environment:
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


@dataclass
class ApiKey:
    id: str
    project_id: str
    environment_id: str
    name: str
    scope: str
    secret: str
    created_at: float
    revoked_at: float | None = None


@dataclass(kw_only=True)
class Rule(engine.RuleView):
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


@dataclass
class Flag:
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
    rules: list[Rule] = field(default_factory=list)

    def sorted_rules(self) -> list[Rule]:
        return sorted(self.rules, key=lambda r: r.priority)

    def clone(self) -> Flag:
        """An independent copy, much cheaper than deepcopy (the simulator copies often)."""
        return dataclasses.replace(
            self,
            default_value=_copy_value(self.default_value),
            rules=[
                dataclasses.replace(r, return_value=_copy_value(r.return_value)) for r in self.rules
            ],
        )

    def to_api(self) -> dict[str, Any]:
        # value_type and version are emulator extensions: the docs' flag object lacks them.
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


@dataclass(frozen=True)
class Credentials:
    """What a client needs to talk to this world (secrets: never print them unmasked)."""

    org_token: str
    keys: dict[str, dict[str, str]]  # environment key -> scope -> secret
    environment_ids: dict[str, str]  # environment key -> environment id
    project_id: str
    username: str
    password: str


@dataclass
class _Token:
    kind: str  # "access" or "refresh"
    expires_at: float | None


class World:
    """The whole emulated state. Build it with `World.from_state` (seed.py builds a state)."""

    def __init__(
        self,
        *,
        organization: Organization,
        user: User,
        project: Project,
        environments: list[Environment],
        api_keys: list[ApiKey],
        org_token: str,
        outbox: Outbox,
        clock: Callable[[], float] = time.time,
        seed: int | str = 0,
    ) -> None:
        self._lock = threading.RLock()
        self.organization = organization
        self.user = user
        self.project = project
        self.environments = {env.key: env for env in environments}
        self._env_by_id = {env.id: env for env in environments}
        self._flags: dict[str, dict[str, Flag]] = {env.id: {} for env in environments}
        self._flag_by_id: dict[str, Flag] = {}
        self._rule_by_id: dict[str, tuple[Flag, Rule]] = {}
        self._keys = {key.secret: key for key in api_keys}
        self.org_token = org_token
        self._tokens: dict[str, _Token] = {org_token: _Token("access", None)}
        self.outbox = outbox
        self.clock = clock
        # Ids, salts and tokens made at run time come from this generator, so a seeded world
        # driven by the same calls produces the same ids.
        self._rng = random.Random(f"{seed}:runtime")
        self._signing_key = hashlib.sha256(f"togul-emulator:{seed}".encode()).digest()

    # -- helpers -------------------------------------------------------------------------------
    def new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def new_salt(self) -> str:
        return f"{self._rng.getrandbits(32):08x}"

    def _env(self, environment: str) -> Environment:
        """Look an environment up by key or by id."""
        env = self.environments.get(environment) or self._env_by_id.get(environment)
        if env is None:
            raise not_found("Environment")
        return env

    def _flag(self, environment: str, flag_key: str) -> Flag:
        flag = self._flags[self._env(environment).id].get(flag_key)
        if flag is None:
            raise not_found("Flag")
        return flag

    def _publish(self, event_type: str, flag: Flag) -> None:
        self.outbox.publish(
            flag.environment_id,
            {
                "type": event_type,
                "flag_key": flag.key,
                "environment_id": flag.environment_id,
                "version": flag.version,
                "timestamp": int(self.clock()),
            },
        )

    @property
    def credentials(self) -> Credentials:
        with self._lock:
            keys: dict[str, dict[str, str]] = {env: {} for env in self.environments}
            for key in self._keys.values():
                env = self._env_by_id[key.environment_id]
                if key.revoked_at is None:
                    keys[env.key].setdefault(key.scope, key.secret)
            return Credentials(
                org_token=self.org_token,
                keys=keys,
                environment_ids={k: env.id for k, env in self.environments.items()},
                project_id=self.project.id,
                username=self.user.email,
                password=self.user.password,
            )

    # -- reading -------------------------------------------------------------------------------
    def list_flags(self, environment: str | None = None) -> list[Flag]:
        with self._lock:
            envs = [self._env(environment)] if environment else list(self.environments.values())
            return [
                flag.clone()
                for env in envs
                for flag in sorted(self._flags[env.id].values(), key=lambda f: f.key)
            ]

    def get_flag(self, environment: str, flag_key: str) -> Flag:
        with self._lock:
            return self._flag(environment, flag_key).clone()

    def get_flag_by_id(self, flag_id: str) -> Flag:
        with self._lock:
            flag = self._flag_by_id.get(flag_id)
            if flag is None:
                raise not_found("Flag")
            return flag.clone()

    def evaluate(
        self, environment: str, flag_key: str, context: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """Evaluate like `POST /api/v1/evaluate` does (no credential check)."""
        with self._lock:
            env = self._env(environment)
            flag = self._flags[env.id].get(flag_key)
            if flag is None:
                raise ApiError(404, "evaluate.flag_not_found", "Flag not found")
            value, reason = engine.evaluate(
                enabled=flag.enabled,
                default_value=flag.default_value,
                salt=flag.salt,
                rules=flag.rules,
                context=context or {},
            )
            return {
                "flag_key": flag.key,
                "enabled": flag.enabled,
                "value_type": flag.value_type,
                "value": copy.deepcopy(value),
                "reason": reason,
            }

    # -- flags ---------------------------------------------------------------------------------
    def create_flag(
        self,
        environment: str,
        key: str,
        *,
        name: str | None = None,
        description: str | None = None,
        enabled: bool = True,
        value_type: str = "boolean",
        default_value: Any = UNSET,
        flag_id: str | None = None,
        salt: str | None = None,
        publish: bool = True,
    ) -> Flag:
        """Create a flag (publishes `flag.created`). Any non-empty key is accepted: tests use
        keys that look like markup or carry control characters."""
        if not isinstance(key, str) or not key:
            raise validation("key", "key must be a non-empty string")
        if value_type not in VALUE_TYPES:
            raise validation("value_type", f"value_type must be one of {', '.join(VALUE_TYPES)}")
        if default_value is UNSET:
            default_value = default_for(value_type)
        check_value(value_type, default_value, "default_value")
        if not isinstance(enabled, bool):
            raise validation("enabled", "enabled must be a boolean")
        with self._lock:
            env = self._env(environment)
            if key in self._flags[env.id]:
                raise conflict(f"A flag with this key already exists in {env.key}")
            now = self.clock()
            flag = Flag(
                id=flag_id or self.new_id(),
                environment_id=env.id,
                key=key,
                name=name if name is not None else key,
                description=description,
                enabled=enabled,
                value_type=value_type,
                default_value=copy.deepcopy(default_value),
                salt=salt or self.new_salt(),
                version=1,
                created_at=now,
                updated_at=now,
            )
            self._flags[env.id][key] = flag
            self._flag_by_id[flag.id] = flag
            if publish:
                self._publish("flag.created", flag)
            return flag.clone()

    def update_flag(
        self,
        environment: str,
        flag_key: str,
        *,
        enabled: Any = UNSET,
        default_value: Any = UNSET,
        name: Any = UNSET,
        description: Any = UNSET,
    ) -> Flag:
        """Change a flag (publishes one `flag.updated`, even when nothing changed)."""
        with self._lock:
            flag = self._flag(environment, flag_key)
            if enabled is not UNSET and not isinstance(enabled, bool):
                raise validation("enabled", "enabled must be a boolean")
            if default_value is not UNSET:
                check_value(flag.value_type, default_value, "default_value")
            if name is not UNSET and (not isinstance(name, str) or not name):
                raise validation("name", "name must be a non-empty string")
            if description is not UNSET and not isinstance(description, (str, type(None))):
                raise validation("description", "description must be a string or null")
            if enabled is not UNSET:
                flag.enabled = enabled
            if default_value is not UNSET:
                flag.default_value = copy.deepcopy(default_value)
            if name is not UNSET:
                flag.name = name
            if description is not UNSET:
                flag.description = description
            flag.version += 1
            flag.updated_at = self.clock()
            self._publish("flag.updated", flag)
            return flag.clone()

    def delete_flag(self, environment: str, flag_key: str) -> Flag:
        """Delete a flag and its rules (publishes `flag.deleted` with the next version)."""
        with self._lock:
            flag = self._flag(environment, flag_key)
            del self._flags[flag.environment_id][flag.key]
            del self._flag_by_id[flag.id]
            for rule in flag.rules:
                self._rule_by_id.pop(rule.id, None)
            flag.version += 1
            self._publish("flag.deleted", flag)
            return flag.clone()

    # -- rules ---------------------------------------------------------------------------------
    def _find_rule(self, flag: Flag, rule_id: str | int | None) -> Rule:
        """A rule by id; an int is an index in priority order; None is the first rule."""
        ordered = flag.sorted_rules()
        if rule_id is None:
            rule_id = 0
        if isinstance(rule_id, int):
            if not -len(ordered) <= rule_id < len(ordered):
                raise not_found("Rule")
            return ordered[rule_id]
        for rule in ordered:
            if rule.id == rule_id:
                return rule
        raise not_found("Rule")

    def _check_rule(self, flag: Flag, rule: Rule) -> None:
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
                raise validation(
                    "operator", f"operator must be one of {', '.join(engine.OPERATORS)}"
                )
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

    def create_rule(
        self,
        environment: str,
        flag_key: str,
        *,
        rule_type: str,
        return_value: Any,
        priority: int | None = None,
        attribute: str | None = None,
        operator: str | None = None,
        value_json: str | None = None,
        rollout_percentage: int | None = None,
        bucket_by: str = "user_id",
        is_active: bool = True,
        rule_id: str | None = None,
        publish: bool = True,
    ) -> Rule:
        """Add a rule (publishes `rule.created`); priority defaults to after the last rule."""
        with self._lock:
            flag = self._flag(environment, flag_key)
            if priority is None:
                priority = max((r.priority for r in flag.rules), default=-1) + 1
            now = self.clock()
            rule = Rule(
                id=rule_id or self.new_id(),
                flag_id=flag.id,
                priority=priority,
                rule_type=rule_type,
                return_value=copy.deepcopy(return_value),
                attribute=attribute,
                operator=operator,
                value_json=value_json,
                rollout_percentage=rollout_percentage,
                bucket_by=bucket_by,
                is_active=is_active,
                created_at=now,
                updated_at=now,
            )
            self._check_rule(flag, rule)
            flag.rules.append(rule)
            self._rule_by_id[rule.id] = (flag, rule)
            if publish:
                flag.version += 1
                flag.updated_at = now
                self._publish("rule.created", flag)
            return copy.deepcopy(rule)

    _RULE_FIELDS = (
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

    def update_rule(
        self, environment: str, flag_key: str, rule_id: str | int | None = None, **changes: Any
    ) -> Rule:
        """Change a rule (publishes `rule.updated`). `rule_id`: id, index by priority, or None
        for the first rule. `changes`: any of the rule's fields."""
        unknown = set(changes) - set(self._RULE_FIELDS)
        if unknown:
            raise validation(sorted(unknown)[0], "unknown rule field")
        with self._lock:
            flag = self._flag(environment, flag_key)
            rule = self._find_rule(flag, rule_id)
            candidate = copy.deepcopy(rule)
            for name, value in changes.items():
                setattr(candidate, name, copy.deepcopy(value))
            self._check_rule(flag, candidate)
            for name in changes:
                setattr(rule, name, getattr(candidate, name))
            rule.updated_at = flag.updated_at = self.clock()
            flag.version += 1
            self._publish("rule.updated", flag)
            return copy.deepcopy(rule)

    def delete_rule(
        self, environment: str, flag_key: str, rule_id: str | int | None = None
    ) -> Rule:
        """Remove a rule (publishes `rule.deleted`)."""
        with self._lock:
            flag = self._flag(environment, flag_key)
            rule = self._find_rule(flag, rule_id)
            flag.rules.remove(rule)
            self._rule_by_id.pop(rule.id, None)
            flag.version += 1
            flag.updated_at = self.clock()
            self._publish("rule.deleted", flag)
            return copy.deepcopy(rule)

    def locate_rule(self, rule_id: str) -> tuple[Flag, Rule]:
        """(flag, rule) copies for a rule id; 404 when unknown."""
        with self._lock:
            found = self._rule_by_id.get(rule_id)
            if found is None:
                raise not_found("Rule")
            return copy.deepcopy(found[0]), copy.deepcopy(found[1])

    def environment_of(self, environment_id: str) -> Environment:
        with self._lock:
            return self._env(environment_id)

    # -- credentials ---------------------------------------------------------------------------
    def api_key(self, secret: str | None) -> ApiKey:
        """The live key for `secret`; 401 when missing, unknown or revoked."""
        if not secret:
            raise unauthorized("Missing API key")
        with self._lock:
            key = self._keys.get(secret)
            if key is None or key.revoked_at is not None:
                raise unauthorized("Invalid or revoked API key")
            return key

    def api_keys(self) -> list[ApiKey]:
        """Copies of every key, revoked ones included."""
        with self._lock:
            return [dataclasses.replace(key) for key in self._keys.values()]

    def set_version(self, environment: str, flag_key: str, version: int) -> None:
        """Set a flag's current version without publishing (loading a state file)."""
        with self._lock:
            self._flag(environment, flag_key).version = version

    def revoke_key(self, secret: str) -> bool:
        """Mark a key revoked; returns whether it existed. (Closing streams: faults.py.)"""
        with self._lock:
            key = self._keys.get(secret)
            if key is None:
                return False
            key.revoked_at = self.clock()
            return True

    def check_token(self, token: str | None) -> None:
        """Accept the org token or an unexpired access token; 401 otherwise."""
        if not token:
            raise unauthorized("Missing bearer token")
        with self._lock:
            info = self._tokens.get(token)
            if info is None or info.kind != "access":
                raise unauthorized("Invalid or expired token")
            if info.expires_at is not None and info.expires_at <= self.clock():
                raise unauthorized("Invalid or expired token")

    def _mint(self, kind: str, ttl: float) -> str:
        now = self.clock()
        if kind == "refresh":
            token = "tgl_rt_" + "".join(self._rng.choice(_SECRET_ALPHABET) for _ in range(40))
        else:
            token = make_jwt(
                {
                    "sub": self.user.id,
                    "org": self.organization.id,
                    "iat": int(now),
                    "exp": int(now + ttl),
                    "jti": f"{self._rng.getrandbits(64):016x}",
                },
                self._signing_key,
            )
        self._tokens[token] = _Token(kind, now + ttl)
        return token

    def login(self, username: str, password: str) -> dict[str, Any]:
        with self._lock:
            if username != self.user.email or password != self.user.password:
                raise unauthorized("Invalid username or password")
            return self._session()

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        with self._lock:
            info = self._tokens.get(refresh_token)
            if (
                info is None
                or info.kind != "refresh"
                or (info.expires_at is not None and info.expires_at <= self.clock())
            ):
                raise unauthorized("Invalid or expired refresh token")
            del self._tokens[refresh_token]  # rotation: the old refresh token dies at once
            return self._session()

    def _session(self) -> dict[str, Any]:
        org = {
            "id": self.organization.id,
            "slug": self.organization.slug,
            "name": self.organization.name,
            "role": "owner",
        }
        created = iso(self.user.created_at)
        return {
            "token": self._mint("access", ACCESS_TOKEN_TTL),
            "refresh_token": self._mint("refresh", REFRESH_TOKEN_TTL),
            "user": {
                "id": self.user.id,
                "name": self.user.name,
                "email": self.user.email,
                "role": "owner",
                "email_verified_at": created,
                "created_at": created,
                "updated_at": created,
            },
            "current_organization": org,
            "organizations": [org],
        }


def make_jwt(claims: dict[str, Any], key: bytes) -> str:
    """An HS256 JWT, so the org token looks like what Togul hands out."""

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    signature = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"
