"""The emulated world: the project's environments and flags with their rules, the lookups over
them, and the mutations that publish change events through the outbox.

Every mutation takes the world lock, changes the model, bumps the flag's own version and
publishes exactly one event through the outbox before the lock is released, so the order of
events always matches the order of changes. All public methods are safe from any thread.
Credentials (API keys, tokens, login) live in `auth.py`, reached as `World.auth`.
"""

from __future__ import annotations

import copy
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from togul_monitor.emulator import rules as engine
from togul_monitor.emulator.auth import ApiKey, Auth, Credentials
from togul_monitor.emulator.errors import ApiError, conflict, not_found, validation
from togul_monitor.emulator.model import (
    RULE_FIELDS,
    Environment,
    Flag,
    Organization,
    Project,
    Rule,
    User,
    check_rule,
    check_value,
    default_for,
)
from togul_monitor.emulator.outbox import Outbox
from togul_monitor.protocol import VALUE_TYPES

#: "Not given" for optional arguments whose value may legitimately be None.
UNSET: Any = object()


class World:
    """The whole emulated state. Build it with `statefile.build_world` (seed.py builds a
    state)."""

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
        token_ttl: float | None = None,
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
        self.outbox = outbox
        self.clock = clock
        # Ids, salts and tokens made at run time come from this generator, so a seeded world
        # driven by the same calls produces the same ids.
        self._rng = random.Random(f"{seed}:runtime")
        self.auth = Auth(
            organization=organization,
            user=user,
            api_keys=api_keys,
            org_token=org_token,
            clock=clock,
            lock=self._lock,
            rng=self._rng,
            seed=seed,
            token_ttl=token_ttl,  # access tokens' lifetime (auth.py); None: no expiry
        )

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
            for key in self.auth.api_keys():
                env = self._env_by_id[key.environment_id]
                if key.revoked_at is None:
                    keys[env.key].setdefault(key.scope, key.secret)
            return Credentials(
                org_token=self.auth.org_token,
                keys=keys,
                environment_ids={k: env.id for k, env in self.environments.items()},
                project_id=self.project.id,
                username=self.user.email,
                password=self.user.password,
                org_refresh_token=self.auth.org_refresh_token,
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

    def environment_of(self, environment_id: str) -> Environment:
        with self._lock:
            return self._env(environment_id)

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
        publish: bool = True,
    ) -> Flag:
        """Change a flag (publishes one `flag.updated`, even when nothing changed; with
        `publish=False` nothing, the version stays: a change whose event a test sends itself)."""
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
            flag.updated_at = self.clock()
            if publish:
                flag.version += 1
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

    def set_version(self, environment: str, flag_key: str, version: int) -> None:
        """Set a flag's current version without publishing (loading a state file)."""
        with self._lock:
            self._flag(environment, flag_key).version = version

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
            check_rule(flag, rule)
            flag.rules.append(rule)
            self._rule_by_id[rule.id] = (flag, rule)
            if publish:
                flag.version += 1
                flag.updated_at = now
                self._publish("rule.created", flag)
            return copy.deepcopy(rule)

    def update_rule(
        self, environment: str, flag_key: str, rule_id: str | int | None = None, **changes: Any
    ) -> Rule:
        """Change a rule (publishes `rule.updated`). `rule_id`: id, index by priority, or None
        for the first rule. `changes`: any of the rule's fields."""
        unknown = set(changes) - set(RULE_FIELDS)
        if unknown:
            raise validation(sorted(unknown)[0], "unknown rule field")
        with self._lock:
            flag = self._flag(environment, flag_key)
            rule = self._find_rule(flag, rule_id)
            candidate = copy.deepcopy(rule)
            for name, value in changes.items():
                setattr(candidate, name, copy.deepcopy(value))
            check_rule(flag, candidate)
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
