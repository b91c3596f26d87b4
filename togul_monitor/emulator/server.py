"""The Starlette application: routes, error mapping, and the loop hand-over to the outbox."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from togul_monitor.emulator.admin import Admin
from togul_monitor.emulator.api import Api
from togul_monitor.emulator.errors import ApiError
from togul_monitor.emulator.faults import Faults
from togul_monitor.emulator.outbox import Outbox
from togul_monitor.emulator.responses import error_response, ok
from togul_monitor.emulator.stream import StreamEndpoint
from togul_monitor.emulator.tally import RequestTally, Tallying
from togul_monitor.emulator.world import World
from togul_monitor.protocol import EVALUATE_PATH, STREAM_PATH

logger = logging.getLogger(__name__)


def create_app(
    world: World,
    outbox: Outbox,
    faults: Faults,
    *,
    heartbeat: float = 30.0,
    ids: bool = False,
    fault_routes: bool = False,
    tally: RequestTally | None = None,
) -> Starlette:
    """`fault_routes`: offer the fault switches over HTTP (`/_emulator/faults/`). Off, they
    answer 404 like any unknown path: whoever may manage flags may not also break the server
    unless its operator asked for it (`serve --faults`). `faults` works in-process either way.
    `tally`: count every request in it (tests).
    """
    api = Api(world, faults)
    admin = Admin(world, faults)
    stream = StreamEndpoint(world, outbox, faults, heartbeat=heartbeat, ids=ids)
    project = "/api/v1/projects/{project_id}"

    async def healthz(request: Request) -> Response:
        return ok({"status": "ok"})

    async def readyz(request: Request) -> Response:
        return ok({"status": "ready"})

    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route(STREAM_PATH, stream),
        Route(EVALUATE_PATH, api.evaluate, methods=["POST"]),
        Route("/api/v1/login", api.login, methods=["POST"]),
        Route("/api/v1/refresh-token", api.refresh_token, methods=["POST"]),
        Route("/api/v1/projects", api.list_projects),
        Route(f"{project}/environments", api.list_environments),
        Route(f"{project}/flags", api.list_flags, methods=["GET"]),
        Route(f"{project}/flags", api.create_flag, methods=["POST"]),
        Route(f"{project}/flags/{{flag_id}}", api.get_flag, methods=["GET"]),
        Route(f"{project}/flags/{{flag_id}}", api.patch_flag, methods=["PATCH"]),
        Route(f"{project}/flags/{{flag_id}}", api.delete_flag, methods=["DELETE"]),
        Route(f"{project}/rules", api.create_rule, methods=["POST"]),
        Route(f"{project}/rules/{{rule_id}}", api.patch_rule, methods=["PATCH"]),
        Route(f"{project}/rules/{{rule_id}}", api.delete_rule, methods=["DELETE"]),
    ]
    if fault_routes:
        routes.append(Route("/_emulator/faults/{name}", admin.fault, methods=["POST"]))

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        return JSONResponse(
            {"code": code, "message": str(exc.detail), "details": None},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    async def on_client_gone(request: Request, exc: Exception) -> Response:
        # A client may hang up before its body arrived (a `tail` piped into `head` quits while
        # its evaluate is in flight): a normal end, not uvicorn's traceback in the log file.
        # Nobody reads the answer: uvicorn drops what is sent to a closed connection.
        logger.debug("%s %s: the client hung up mid-request", request.method, request.url.path)
        return Response(status_code=400)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        outbox.attach_loop(asyncio.get_running_loop())
        try:
            yield
        finally:
            outbox.attach_loop(None)

    return Starlette(
        routes=routes,
        exception_handlers={
            ApiError: on_api_error,
            HTTPException: on_http_error,
            ClientDisconnect: on_client_gone,
        },
        lifespan=lifespan,
        middleware=[Middleware(Tallying, tally=tally)] if tally is not None else None,
    )
