"""Togul's evaluate endpoint, login and the management API (projects, environments, flags,
rules) as Starlette handlers; docs/protocol.md describes the API they implement and
docs/management-api.md every route, body, answer and error of the management API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from togul_monitor.emulator.bodies import read_object
from togul_monitor.emulator.errors import ApiError, forbidden, not_found, unauthorized, validation
from togul_monitor.emulator.faults import EvaluateFailure, Faults
from togul_monitor.emulator.model import RULE_FIELDS
from togul_monitor.emulator.responses import error_response, ok
from togul_monitor.emulator.world import UNSET, World

EVALUATE_SCOPES = frozenset({"server", "sdk"})
Handler = Callable[[Request], Awaitable[JSONResponse]]


def _non_empty_str(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise validation(name, f"{name} is required and must be a non-empty string")
    return value


def parse_context(raw: Any) -> dict[str, str]:
    """`{}`, `null` and `[]` all mean an empty context (Python/JS, Go and PHP SDKs)."""
    if raw is None or raw == []:
        return {}
    if not isinstance(raw, dict):
        raise validation("context", "context must be an object of string values")
    for name, value in raw.items():
        if not isinstance(value, str):
            raise validation("context", f"context value for {name!r} must be a string")
    return raw


def _failed(failure: EvaluateFailure) -> JSONResponse:
    headers = {}
    if failure.retry_after is not None:
        headers["Retry-After"] = f"{failure.retry_after:g}"
    error = ApiError(failure.status, failure.code(), failure.message())
    return error_response(error, headers)


class Api:
    def __init__(self, world: World, faults: Faults | None = None) -> None:
        self.world = world
        self.faults = faults

    # -- auth ----------------------------------------------------------------------------------
    def _bearer(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("Missing bearer token")
        self.world.auth.check_token(token.strip())

    def _project(self, request: Request) -> str:
        self._bearer(request)
        project_id: str = request.path_params["project_id"]
        if project_id != self.world.project.id:
            raise not_found("Project")
        return project_id

    # -- evaluate ------------------------------------------------------------------------------
    async def evaluate(self, request: Request) -> JSONResponse:
        faults = self.faults
        failure = faults.take_evaluate_failure(authorized=False) if faults else None
        if failure is not None:
            return _failed(failure)
        key = self.world.auth.api_key(request.headers.get("x-api-key"))
        if key.scope not in EVALUATE_SCOPES:
            raise forbidden(f"API keys with scope {key.scope!r} cannot evaluate flags")
        failure = faults.take_evaluate_failure(authorized=True) if faults else None
        if failure is not None:
            return _failed(failure)
        body = await read_object(request)
        flag_key = _non_empty_str(body, "flag_key")
        environment_key = _non_empty_str(body, "environment_key")
        context = parse_context(body.get("context"))
        env = self.world.environment_of(key.environment_id)
        if environment_key != env.key:
            raise forbidden("This API key does not belong to that environment")
        return ok(self.world.evaluate(env.key, flag_key, context))

    # -- auth routes ---------------------------------------------------------------------------
    async def login(self, request: Request) -> JSONResponse:
        body = await read_object(request)
        username = _non_empty_str(body, "username")
        password = _non_empty_str(body, "password")
        return ok(self.world.auth.login(username, password))

    async def refresh_token(self, request: Request) -> JSONResponse:
        body = await read_object(request)
        return ok(self.world.auth.refresh(_non_empty_str(body, "refresh_token")))

    # -- projects and environments -------------------------------------------------------------
    async def list_projects(self, request: Request) -> JSONResponse:
        self._bearer(request)
        return ok({"projects": [self.world.project.to_api()]})

    async def list_environments(self, request: Request) -> JSONResponse:
        self._project(request)
        envs = self.world.environments.values()
        return ok({"environments": [env.to_api() for env in envs]})

    # -- flags ---------------------------------------------------------------------------------
    async def list_flags(self, request: Request) -> JSONResponse:
        self._project(request)
        environment = request.query_params.get("environment_id") or None
        return ok({"flags": [f.to_api() for f in self.world.list_flags(environment)]})

    async def get_flag(self, request: Request) -> JSONResponse:
        self._project(request)
        flag = self.world.get_flag_by_id(request.path_params["flag_id"])
        return ok({"flag": flag.to_api(), "rules": [r.to_api() for r in flag.sorted_rules()]})

    async def create_flag(self, request: Request) -> JSONResponse:
        self._project(request)
        body = await read_object(request)
        environment_id = _non_empty_str(body, "environment_id")
        key = _non_empty_str(body, "key")
        name = _non_empty_str(body, "name")
        description = body.get("description")
        if not isinstance(description, (str, type(None))):
            raise validation("description", "description must be a string or null")
        value_type = body.get("value_type", "boolean")
        if not isinstance(value_type, str):
            raise validation("value_type", "value_type must be a string")
        try:
            env = self.world.environment_of(environment_id)
        except ApiError:
            raise not_found("Environment") from None
        flag = self.world.create_flag(
            env.key,
            key,
            name=name,
            description=description,
            enabled=body.get("enabled", True),
            value_type=value_type,
            default_value=body.get("default_value", UNSET),
        )
        return ok({"flag": flag.to_api()})

    async def patch_flag(self, request: Request) -> JSONResponse:
        self._project(request)
        flag = self.world.get_flag_by_id(request.path_params["flag_id"])
        body = await read_object(request)
        changes = {
            name: body[name]
            for name in ("name", "description", "enabled", "default_value")
            if name in body
        }
        updated = self.world.update_flag(flag.environment_id, flag.key, **changes)
        return ok({"flag": updated.to_api()})

    async def delete_flag(self, request: Request) -> JSONResponse:
        self._project(request)
        flag = self.world.get_flag_by_id(request.path_params["flag_id"])
        self.world.delete_flag(flag.environment_id, flag.key)
        return ok({"deleted": True})

    # -- rules ---------------------------------------------------------------------------------

    async def create_rule(self, request: Request) -> JSONResponse:
        self._project(request)
        body = await read_object(request)
        flag_id = _non_empty_str(body, "flag_id")
        for required in ("priority", "rule_type", "return_value"):
            if required not in body:
                raise validation(required, f"{required} is required")
        flag = self.world.get_flag_by_id(flag_id)
        fields = {name: body[name] for name in RULE_FIELDS if name in body}
        if fields.get("bucket_by") is None:
            fields.pop("bucket_by", None)
        if fields.get("is_active") is None:
            fields.pop("is_active", None)
        rule = self.world.create_rule(flag.environment_id, flag.key, **fields)
        return ok({"rule": rule.to_api()})

    async def patch_rule(self, request: Request) -> JSONResponse:
        self._project(request)
        flag, rule = self.world.locate_rule(request.path_params["rule_id"])
        body = await read_object(request)
        changes = {name: body[name] for name in RULE_FIELDS if name in body}
        changes.pop("rule_type", None)  # Togul's docs do not list it as patchable
        updated = self.world.update_rule(flag.environment_id, flag.key, rule.id, **changes)
        return ok({"rule": updated.to_api()})

    async def delete_rule(self, request: Request) -> JSONResponse:
        self._project(request)
        flag, rule = self.world.locate_rule(request.path_params["rule_id"])
        self.world.delete_rule(flag.environment_id, flag.key, rule.id)
        return ok({"deleted": True})
