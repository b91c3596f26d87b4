"""JSON responses in Togul's shapes."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from togul_monitor.emulator.errors import ApiError


def error_response(error: ApiError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


def ok(body: Any) -> JSONResponse:
    """Togul answers every success with 200, creates included."""
    return JSONResponse(body, status_code=200)
