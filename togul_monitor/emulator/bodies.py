"""Request bodies: read with a size bound, parsed and checked (jsondoc) before any handler looks
at them, so a bad body is a 4xx and never reaches the world."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from togul_monitor.emulator.errors import ApiError, validation
from togul_monitor.emulator.jsondoc import JsonProblem, parse

#: Far above any real management or evaluate body; keeps one request from filling the memory.
MAX_BODY_BYTES = 256 * 1024


def too_large() -> ApiError:
    return ApiError(413, "payload_too_large", f"Request body is larger than {MAX_BODY_BYTES} bytes")


async def read_body(request: Request) -> bytes:
    """The raw body, refused with 413 past MAX_BODY_BYTES (before reading it when the client
    announced its length)."""
    announced = request.headers.get("content-length", "")
    if announced.isascii() and announced.isdigit():
        if len(announced) > 12 or int(announced) > MAX_BODY_BYTES:
            raise too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def parse_body(raw: bytes) -> Any:
    try:
        return parse(raw)
    except JsonProblem as exc:
        where = f" at {exc.path}" if exc.path else ""
        raise validation("body", f"Request body must be valid JSON{where}: {exc.message}") from None


async def read_json(request: Request) -> Any:
    return parse_body(await read_body(request))


async def read_object(request: Request) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise validation("body", "Request body must be a JSON object")
    return body
