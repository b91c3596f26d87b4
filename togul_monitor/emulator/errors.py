"""The one error type of the emulator, shaped like Togul's `{code, message, details}` body."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A request the emulator refuses; the server turns it into a JSON error response."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


def validation(field: str, message: str) -> ApiError:
    """A 400 whose code names the field at fault, e.g. `validation.flag_key`."""
    return ApiError(400, f"validation.{field}", message, {"field": field})


def not_found(what: str, code: str = "not_found") -> ApiError:
    return ApiError(404, code, f"{what} not found")


def unauthorized(message: str = "Missing or invalid credentials") -> ApiError:
    return ApiError(401, "unauthorized", message)


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def conflict(message: str) -> ApiError:
    return ApiError(409, "conflict", message)
