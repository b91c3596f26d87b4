"""The `--state` JSON format: load a whole world from it, and dump a world back to it.

docs/state-file.md documents the format. Optional fields (ids, salts, secrets, the org token)
are generated deterministically from the seed when a file leaves them out.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from togul_monitor.emulator import statefields as fields
from togul_monitor.emulator.auth import SCOPES, ApiKey, make_jwt
from togul_monitor.emulator.errors import ApiError
from togul_monitor.emulator.jsondoc import JsonProblem, check_document, parse
from togul_monitor.emulator.model import RULE_FIELDS, Environment, Organization, Project, User
from togul_monitor.emulator.outbox import Outbox
from togul_monitor.emulator.statefields import StateError
from togul_monitor.emulator.world import World
from togul_monitor.protocol import KEY_PREFIXES, VALUE_TYPES

__all__ = ["IdGenerator", "StateError", "build_world", "dump_state", "load_world"]

_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_FAR_FUTURE = 4102444800  # 2100-01-01: the org token of a seeded world does not expire
_ISSUED = 1767225600  # 2026-01-01: a fixed iat keeps the seeded org token stable


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


_RULE_IGNORED = ("id", "flag_id", "created_at", "updated_at")  # what dump_state or the API add
#: A state file is read whole into memory: far above any real world, far below the memory.
MAX_FILE_BYTES = 32 * 1024 * 1024


def _api_problem(exc: ApiError, where: str) -> StateError:
    """A refusal of the world's own checks, at the path of the field it names."""
    field = (exc.details or {}).get("field")
    path = fields.field_path(where, field) if isinstance(field, str) else where
    return StateError(f"{path}: {exc.message} ({exc.code})")


def _environments(
    state: dict[str, Any], gen: IdGenerator, project_id: str, now: float
) -> list[Environment]:
    environments: list[Environment] = []
    keys = fields.Unique("environment key")
    ids = fields.Unique("environment id")
    for i, env_in in enumerate(fields.array(state, "environments", "state")):
        where = f"environments[{i}]"
        env_in = fields.obj(env_in, where)
        key = keys.add(fields.text(env_in, "key", where), f"{where}.key")
        env_id = fields.given_id(env_in, "id", where) or gen.uuid()
        ids.add(env_id, f"{where}.id")
        environments.append(
            Environment(
                id=env_id,
                project_id=project_id,
                key=key,
                name=fields.text(env_in, "name", where, key.capitalize()),
                description=fields.optional_text(env_in, "description", where),
                created_at=now,
            )
        )
    if not environments:
        raise StateError("state.environments: at least one environment is needed")
    # The API finds an environment by key or by id: an id that is another environment's key
    # would make that environment (and its flags) unreachable.
    by_key = {env.key: i for i, env in enumerate(environments)}
    for i, env in enumerate(environments):
        other = by_key.get(env.id)
        if other is not None and other != i:
            raise StateError(
                f"environments[{i}].id: {env.id!r} is the key of environments[{other}]"
            )
    return environments


def _api_keys(
    state: dict[str, Any], gen: IdGenerator, project_id: str, env_ids: dict[str, str], now: float
) -> list[ApiKey]:
    keys: list[ApiKey] = []
    secrets = fields.Unique("secret")
    ids = fields.Unique("API key id")
    for i, key_in in enumerate(fields.array(state, "api_keys", "state")):
        where = f"api_keys[{i}]"
        key_in = fields.obj(key_in, where)
        env_key = fields.text(key_in, "environment", where)
        if env_key not in env_ids:
            raise StateError(f"{where}.environment: unknown environment {env_key!r}")
        scope = fields.choice(key_in, "scope", where, SCOPES, None)
        secret = fields.token(key_in, "secret", where) or gen.secret(scope)
        keys.append(
            ApiKey(
                id=ids.add(fields.given_id(key_in, "id", where) or gen.uuid(), f"{where}.id"),
                project_id=project_id,
                environment_id=env_ids[env_key],
                name=fields.text(key_in, "name", where, f"{env_key} {scope}"),
                scope=scope,
                secret=secrets.add(secret, f"{where}.secret"),
                created_at=now,
            )
        )
    return keys


def _rule_arguments(rule_in: dict[str, Any], where: str) -> dict[str, Any]:
    """The rule's fields as `World.create_rule` takes them, each of the right JSON type (the
    world then checks what they mean)."""
    for name in rule_in:
        if name not in RULE_FIELDS and name not in _RULE_IGNORED:
            raise StateError(f"{fields.field_path(where, name)}: unknown rule field")
    for required in ("rule_type", "return_value"):
        if required not in rule_in:
            raise StateError(f"{fields.field_path(where, required)}: required")
    arguments: dict[str, Any] = {
        "rule_type": fields.text(rule_in, "rule_type", where),
        "return_value": rule_in["return_value"],
        "priority": fields.integer(rule_in, "priority", where),
        "rollout_percentage": fields.integer(rule_in, "rollout_percentage", where),
        "is_active": fields.boolean(rule_in, "is_active", where, True),
    }
    for name in ("attribute", "operator", "value_json"):
        arguments[name] = fields.optional_text(rule_in, name, where)
    bucket_by = fields.optional_text(rule_in, "bucket_by", where)
    if bucket_by is not None:
        arguments["bucket_by"] = bucket_by
    return arguments


def _flags(world: World, state: dict[str, Any], gen: IdGenerator, env_ids: dict[str, str]) -> None:
    flag_ids = fields.Unique("flag id")
    rule_ids = fields.Unique("rule id")
    for i, flag_in in enumerate(fields.array(state, "flags", "state")):
        where = f"flags[{i}]"
        flag_in = fields.obj(flag_in, where)
        env_key = fields.text(flag_in, "environment", where)
        if env_key not in env_ids:
            raise StateError(f"{where}.environment: unknown environment {env_key!r}")
        key = fields.text(flag_in, "key", where)
        flag_id = flag_ids.add(fields.given_id(flag_in, "id", where) or gen.uuid(), f"{where}.id")
        extra: dict[str, Any] = {}
        if "default_value" in flag_in:
            extra["default_value"] = flag_in["default_value"]
        name = flag_in.get("name")
        if name is not None:
            name = fields.text(flag_in, "name", where)
        version = fields.integer(flag_in, "version", where, low=0)
        rules = fields.array(flag_in, "rules", where)
        try:
            world.create_flag(
                env_key,
                key,
                name=name,
                description=fields.optional_text(flag_in, "description", where),
                enabled=fields.boolean(flag_in, "enabled", where, True),
                value_type=fields.choice(flag_in, "value_type", where, VALUE_TYPES, "boolean"),
                flag_id=flag_id,
                salt=fields.given_id(flag_in, "salt", where) or gen.salt(),
                publish=False,
                **extra,
            )
        except ApiError as exc:
            raise _api_problem(exc, where) from None
        for j, rule_in in enumerate(rules):
            rule_where = f"{where}.rules[{j}]"
            rule_in = fields.obj(rule_in, rule_where)
            rule_id = fields.given_id(rule_in, "id", rule_where) or gen.uuid()
            rule_ids.add(rule_id, f"{rule_where}.id")
            arguments = _rule_arguments(rule_in, rule_where)
            try:
                world.create_rule(env_key, key, publish=False, rule_id=rule_id, **arguments)
            except ApiError as exc:
                raise _api_problem(exc, rule_where) from None
        world.set_version(env_key, key, 1 if version is None else version)


def build_world(
    state: Any,
    *,
    outbox: Outbox,
    clock: Callable[[], float] = time.time,
    seed: int | str = 0,
    token_ttl: float | None = None,
    default_password: str = "togul-emulator",
) -> World:
    """Build a World from a parsed state document; raise StateError naming the bad field.
    `token_ttl`: the access tokens' lifetime (auth.py; None: the org token never expires).
    `default_password`: the login's password when the document gives none."""
    try:
        check_document(state)
    except JsonProblem as exc:
        raise StateError(str(exc)) from None
    gen = IdGenerator(seed)
    state = fields.obj(state, "state")
    now = clock()
    org_in = fields.member(state, "organization", "")
    org = Organization(
        id=fields.given_id(org_in, "id", "organization") or gen.uuid(),
        slug=fields.text(org_in, "slug", "organization", "acme"),
        name=fields.text(org_in, "name", "organization", "Acme"),
    )
    user_in = fields.member(state, "user", "")
    user = User(
        id=fields.given_id(user_in, "id", "user") or gen.uuid(),
        name=fields.text(user_in, "name", "user", "Emulator Admin"),
        email=fields.text(user_in, "email", "user", "admin@acme.test"),
        password=fields.text(user_in, "password", "user", default_password),
        created_at=now,
    )
    proj_in = fields.member(state, "project", "")
    project = Project(
        id=fields.given_id(proj_in, "id", "project") or gen.uuid(),
        organization_id=org.id,
        slug=fields.text(proj_in, "slug", "project", "default"),
        name=fields.text(proj_in, "name", "project", "Default"),
        description=fields.optional_text(proj_in, "description", "project"),
        created_at=now,
    )
    environments = _environments(state, gen, project.id, now)
    env_ids = {e.key: e.id for e in environments}
    keys = _api_keys(state, gen, project.id, env_ids, now)
    org_token = fields.token(state, "org_token", "") or gen.org_token(user.id, org.id)
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
    _flags(world, state, gen, env_ids)
    return world


def load_world(
    path: str | Path,
    *,
    outbox: Outbox,
    clock: Callable[[], float] = time.time,
    seed: int | str = 0,
    token_ttl: float | None = None,
    default_password: str = "togul-emulator",
) -> World:
    """Read a `--state` file; StateError names the file and the problem."""
    try:
        with open(path, "rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise StateError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise StateError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StateError(f"{path}: not UTF-8 text (byte {exc.start} cannot be decoded)") from None
    try:
        state = parse(text)
        return build_world(
            state,
            outbox=outbox,
            clock=clock,
            seed=seed,
            token_ttl=token_ttl,
            default_password=default_password,
        )
    except (StateError, JsonProblem) as exc:
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
