"""The `--state` JSON format: load a whole world from it, and dump a world back to it.

docs/state-file.md documents the format. Optional fields (ids, salts, secrets, the org token)
are generated deterministically from the seed when a file leaves them out.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from togul_monitor.emulator.auth import SCOPES, ApiKey, make_jwt
from togul_monitor.emulator.errors import ApiError
from togul_monitor.emulator.model import Environment, Organization, Project, User
from togul_monitor.emulator.outbox import Outbox
from togul_monitor.emulator.world import World
from togul_monitor.protocol import KEY_PREFIXES

_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_FAR_FUTURE = 4102444800  # 2100-01-01: the org token of a seeded world does not expire
_ISSUED = 1767225600  # 2026-01-01: a fixed iat keeps the seeded org token stable


class StateError(ValueError):
    """A state file that cannot be loaded; the message names the place at fault."""


class IdGenerator:
    """Deterministic generator for everything a state file may leave out."""

    def __init__(self, seed: int | str) -> None:
        self.rng = random.Random(f"{seed}:state")

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def salt(self) -> str:
        return f"{self.rng.getrandbits(32):08x}"

    def secret(self, scope: str) -> str:
        return KEY_PREFIXES[scope] + "".join(self.rng.choice(_ALPHABET) for _ in range(32))

    def org_token(self, user_id: str, org_id: str) -> str:
        claims = {
            "sub": user_id,
            "org": org_id,
            "iat": _ISSUED,
            "exp": _FAR_FUTURE,
            "jti": f"{self.rng.getrandbits(64):016x}",
        }
        return make_jwt(claims, f"togul-emulator-org:{org_id}".encode())


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise StateError(f"{where}: expected a JSON object")
    return value


def _str(obj: dict[str, Any], name: str, where: str, default: str | None = None) -> str:
    value = obj.get(name, default)
    if not isinstance(value, str) or not value:
        raise StateError(f"{where}.{name}: expected a non-empty string")
    return value


def _list(obj: dict[str, Any], name: str, where: str) -> list[Any]:
    value = obj.get(name, [])
    if not isinstance(value, list):
        raise StateError(f"{where}.{name}: expected a JSON array")
    return value


def build_world(
    state: Any,
    *,
    outbox: Outbox,
    clock: Callable[[], float] = time.time,
    seed: int | str = 0,
    token_ttl: float | None = None,
) -> World:
    """Build a World from a parsed state document; raise StateError naming the bad field.
    `token_ttl`: the access tokens' lifetime (auth.py; None: the org token never expires)."""
    gen = IdGenerator(seed)
    state = _obj(state, "state")
    now = clock()
    org_in = _obj(state.get("organization", {}), "organization")
    org = Organization(
        id=org_in.get("id") or gen.uuid(),
        slug=_str(org_in, "slug", "organization", "acme"),
        name=_str(org_in, "name", "organization", "Acme"),
    )
    user_in = _obj(state.get("user", {}), "user")
    user = User(
        id=user_in.get("id") or gen.uuid(),
        name=_str(user_in, "name", "user", "Emulator Admin"),
        email=_str(user_in, "email", "user", "admin@acme.test"),
        password=_str(user_in, "password", "user", "togul-emulator"),
        created_at=now,
    )
    proj_in = _obj(state.get("project", {}), "project")
    project = Project(
        id=proj_in.get("id") or gen.uuid(),
        organization_id=org.id,
        slug=_str(proj_in, "slug", "project", "default"),
        name=_str(proj_in, "name", "project", "Default"),
        description=proj_in.get("description"),
        created_at=now,
    )
    environments: list[Environment] = []
    for i, env_in in enumerate(_list(state, "environments", "state")):
        where = f"environments[{i}]"
        env_in = _obj(env_in, where)
        key = _str(env_in, "key", where)
        if any(e.key == key for e in environments):
            raise StateError(f"{where}.key: duplicate environment key {key!r}")
        environments.append(
            Environment(
                id=env_in.get("id") or gen.uuid(),
                project_id=project.id,
                key=key,
                name=_str(env_in, "name", where, key.capitalize()),
                description=env_in.get("description"),
                created_at=now,
            )
        )
    if not environments:
        raise StateError("state.environments: at least one environment is needed")
    env_ids = {e.key: e.id for e in environments}

    keys: list[ApiKey] = []
    for i, key_in in enumerate(_list(state, "api_keys", "state")):
        where = f"api_keys[{i}]"
        key_in = _obj(key_in, where)
        env_key = _str(key_in, "environment", where)
        if env_key not in env_ids:
            raise StateError(f"{where}.environment: unknown environment {env_key!r}")
        scope = _str(key_in, "scope", where)
        if scope not in SCOPES:
            raise StateError(f"{where}.scope: must be one of {', '.join(SCOPES)}")
        secret = key_in.get("secret") or gen.secret(scope)
        if not isinstance(secret, str):
            raise StateError(f"{where}.secret: expected a string")
        keys.append(
            ApiKey(
                id=key_in.get("id") or gen.uuid(),
                project_id=project.id,
                environment_id=env_ids[env_key],
                name=key_in.get("name") or f"{env_key} {scope}",
                scope=scope,
                secret=secret,
                created_at=now,
            )
        )

    org_token = state.get("org_token") or gen.org_token(user.id, org.id)
    world = World(
        organization=org,
        user=user,
        project=project,
        environments=environments,
        api_keys=keys,
        org_token=org_token,
        outbox=outbox,
        clock=clock,
        seed=seed,
        token_ttl=token_ttl,
    )
    for i, flag_in in enumerate(_list(state, "flags", "state")):
        where = f"flags[{i}]"
        flag_in = _obj(flag_in, where)
        env_key = _str(flag_in, "environment", where)
        if env_key not in env_ids:
            raise StateError(f"{where}.environment: unknown environment {env_key!r}")
        extra: dict[str, Any] = {}
        if "default_value" in flag_in:
            extra["default_value"] = flag_in["default_value"]
        try:
            world.create_flag(
                env_key,
                _str(flag_in, "key", where),
                name=flag_in.get("name"),
                description=flag_in.get("description"),
                enabled=flag_in.get("enabled", True),
                value_type=flag_in.get("value_type", "boolean"),
                flag_id=flag_in.get("id") or gen.uuid(),
                salt=flag_in.get("salt") or gen.salt(),
                publish=False,
                **extra,
            )
            for j, rule_in in enumerate(_list(flag_in, "rules", where)):
                rule_in = dict(_obj(rule_in, f"{where}.rules[{j}]"))
                rule_in["rule_id"] = rule_in.pop("id", None) or gen.uuid()
                rule_in.pop("flag_id", None)
                world.create_rule(env_key, flag_in["key"], publish=False, **rule_in)
        except ApiError as exc:
            raise StateError(f"{where}: {exc.message} ({exc.code})") from None
        except TypeError as exc:
            raise StateError(f"{where}: {exc}") from None
        version = flag_in.get("version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise StateError(f"{where}.version: expected a non-negative integer")
        world.set_version(env_key, flag_in["key"], version)
    return world


def load_world(
    path: str | Path,
    *,
    outbox: Outbox,
    clock: Callable[[], float] = time.time,
    seed: int | str = 0,
    token_ttl: float | None = None,
) -> World:
    """Read a `--state` file; StateError names the file and the problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise StateError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        state = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateError(f"{path}: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    try:
        return build_world(state, outbox=outbox, clock=clock, seed=seed, token_ttl=token_ttl)
    except StateError as exc:
        raise StateError(f"{path}: {exc}") from None


def dump_state(world: World) -> dict[str, Any]:
    """The world as a state document (secrets included: it is for files you control)."""
    creds_envs = {env.id: env.key for env in world.environments.values()}
    flags = []
    for flag in world.list_flags():
        flags.append(
            {
                "id": flag.id,
                "environment": creds_envs[flag.environment_id],
                "key": flag.key,
                "name": flag.name,
                "description": flag.description,
                "enabled": flag.enabled,
                "value_type": flag.value_type,
                "default_value": flag.default_value,
                "salt": flag.salt,
                "version": flag.version,
                "rules": [
                    {
                        k: v
                        for k, v in rule.to_api().items()
                        if k not in ("flag_id", "created_at", "updated_at")
                    }
                    for rule in flag.sorted_rules()
                ],
            }
        )
    keys = [
        {
            "id": key.id,
            "name": key.name,
            "environment": creds_envs[key.environment_id],
            "scope": key.scope,
            "secret": key.secret,
        }
        for key in world.auth.api_keys()
        if key.revoked_at is None
    ]
    return {
        "organization": {
            "id": world.organization.id,
            "slug": world.organization.slug,
            "name": world.organization.name,
        },
        "user": {
            "id": world.user.id,
            "name": world.user.name,
            "email": world.user.email,
            "password": world.user.password,
        },
        "org_token": world.auth.org_token,
        "project": {
            "id": world.project.id,
            "slug": world.project.slug,
            "name": world.project.name,
            "description": world.project.description,
        },
        "environments": [
            {"id": env.id, "key": env.key, "name": env.name, "description": env.description}
            for env in world.environments.values()
        ],
        "flags": flags,
        "api_keys": keys,
    }
