"""Fault switches over HTTP, for driving a standalone `serve` from a shell:

    curl -X POST -H "Authorization: Bearer $TOKEN" localhost:8080/_emulator/faults/stall \
         -d '{"seconds": 5}'

Routes live under `/_emulator/`, outside the Togul API, and need the org token.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from togul_monitor.emulator.api import read_json
from togul_monitor.emulator.errors import not_found, unauthorized, validation
from togul_monitor.emulator.faults import Faults
from togul_monitor.emulator.responses import ok
from togul_monitor.emulator.world import World


def _number(body: dict[str, Any], name: str, default: float | None = None) -> float:
    value = body.get(name, default)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise validation(name, f"{name} must be a non-negative number")
    return value


def _int(body: dict[str, Any], name: str, default: int | None = None) -> int:
    value = body.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise validation(name, f"{name} must be a non-negative integer")
    return value


class Admin:
    def __init__(self, world: World, faults: Faults) -> None:
        self.world = world
        self.faults = faults

    async def fault(self, request: Request) -> JSONResponse:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            raise unauthorized("Missing bearer token")
        self.world.auth.check_token(token.strip())
        raw = await read_json(request) if await request.body() else {}
        if not isinstance(raw, dict):
            raise validation("body", "Request body must be a JSON object")
        body: dict[str, Any] = raw
        name = request.path_params["name"]
        faults = self.faults
        result: Any = None
        if name == "cut-streams":
            faults.cut_streams(clean=bool(body.get("clean", False)))
        elif name == "cut-after":
            faults.cut_after(_int(body, "n"), mid_event=bool(body.get("mid_event", False)))
        elif name == "stall":
            faults.stall(_number(body, "seconds"))
        elif name == "emit-malformed":
            data = body.get("data", "not json")
            if not isinstance(data, str):
                raise validation("data", "data must be a string")
            result = faults.emit_malformed(data)
        elif name == "forget-replay":
            faults.forget_replay()
        elif name == "fail-next":
            retry_after = body.get("retry_after", 2)
            if retry_after is not None:
                retry_after = _number(body, "retry_after")
            faults.fail_next(_int(body, "k", 1), _int(body, "status", 503), retry_after)
        elif name == "fail-evaluate":
            status = _int(body, "status", 503)
            if not 400 <= status <= 599:
                raise validation("status", "status must be a 4xx or 5xx")
            retry_after = body.get("retry_after")
            if retry_after is not None:
                retry_after = _number(body, "retry_after")
            faults.fail_evaluate(_int(body, "k", 1), status, retry_after)
        elif name == "evaluate-quota":
            faults.exhaust_evaluate_quota(_int(body, "k", 1))
        elif name == "revoke-key":
            secret = body.get("secret")
            if not isinstance(secret, str) or not secret:
                raise validation("secret", "secret is required")
            if not faults.revoke_key(secret):
                raise not_found("API key")
        else:
            raise not_found("Fault")
        return ok({"fault": name, "result": result})
