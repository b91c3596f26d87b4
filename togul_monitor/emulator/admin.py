"""Fault switches over HTTP, for driving a standalone `serve` from a shell:

    curl -X POST -H "Authorization: Bearer $TOKEN" localhost:8080/_emulator/faults/stall \
         -d '{"seconds": 5}'

Routes live under `/_emulator/`, outside the Togul API, and need the org token.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from togul_monitor.emulator.bodies import parse_body, read_body
from togul_monitor.emulator.errors import not_found, unauthorized, validation
from togul_monitor.emulator.faults import MAX_COUNT, MAX_SECONDS, FaultLimit, Faults
from togul_monitor.emulator.responses import ok
from togul_monitor.emulator.world import World

_ABSENT: Any = object()


def _number(body: dict[str, Any], name: str, default: float | None = None) -> float | None:
    """A number of seconds in 0..MAX_SECONDS; `default` when absent (null stays null)."""
    value = body.get(name, _ABSENT)
    if value is _ABSENT:
        return default
    if value is None and default is None:
        return None
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or not 0 <= value <= MAX_SECONDS
    ):
        raise validation(name, f"{name} must be a number of seconds from 0 to {MAX_SECONDS:g}")
    return float(value)


def _int(body: dict[str, Any], name: str, default: int, low: int = 0, high: int = MAX_COUNT) -> int:
    value = body.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise validation(name, f"{name} must be an integer from {low} to {high}")
    return value


def _status(body: dict[str, Any]) -> int:
    return _int(body, "status", 503, 400, 599)


def _retry_after(body: dict[str, Any], default: float | None) -> float | None:
    """`retry_after`: absent, the fault's default; null, no Retry-After; else seconds."""
    if body.get("retry_after", _ABSENT) is None:
        return None
    return _number(body, "retry_after", default)


class Admin:
    def __init__(self, world: World, faults: Faults) -> None:
        self.world = world
        self.faults = faults

    async def fault(self, request: Request) -> JSONResponse:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            raise unauthorized("Missing bearer token")
        self.world.auth.check_token(token.strip())
        data = await read_body(request)
        raw = parse_body(data) if data.strip() else {}
        if not isinstance(raw, dict):
            raise validation("body", "Request body must be a JSON object")
        body: dict[str, Any] = raw
        name = request.path_params["name"]
        faults = self.faults
        result: Any = None
        if name == "cut-streams":
            faults.cut_streams(clean=bool(body.get("clean", False)))
        elif name == "cut-after":
            n = _int(body, "n", -1, 0)
            faults.cut_after(n, mid_event=bool(body.get("mid_event", False)))
        elif name == "stall":
            seconds = _number(body, "seconds")
            if seconds is None:
                raise validation("seconds", "seconds is required")
            faults.stall(seconds)
        elif name == "emit-malformed":
            text = body.get("data", "not json")
            if not isinstance(text, str):
                raise validation("data", "data must be a string")
            result = faults.emit_malformed(text)
        elif name == "forget-replay":
            faults.forget_replay()
        elif name in ("fail-next", "fail-evaluate", "evaluate-quota"):
            self._queue(name, body)
        elif name == "revoke-key":
            secret = body.get("secret")
            if not isinstance(secret, str) or not secret:
                raise validation("secret", "secret is required")
            if not faults.revoke_key(secret):
                raise not_found("API key")
        else:
            raise not_found("Fault")
        return ok({"fault": name, "result": result})

    def _queue(self, name: str, body: dict[str, Any]) -> None:
        """The faults that answer the next requests; at most MAX_QUEUED sets may wait."""
        k = _int(body, "k", 1)
        try:
            if name == "fail-next":
                self.faults.fail_next(k, _status(body), _retry_after(body, 2.0))
            elif name == "fail-evaluate":
                self.faults.fail_evaluate(k, _status(body), _retry_after(body, None))
            else:
                self.faults.exhaust_evaluate_quota(k)
        except FaultLimit as exc:
            raise validation("k", str(exc)) from None
