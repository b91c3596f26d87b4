"""`GET /api/v1/stream`: the SSE endpoint, written as a raw ASGI app so that every write,
heartbeat and fault (stall, cut, abrupt close) is under our control.

`ids=False` (the default everywhere) is the documented form: `data:` lines only, and a
`Last-Event-ID` header is ignored. `ids=True` adds an `id:` on every event, a `retry:` at
connect and replay from the outbox's ring.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from togul_monitor.emulator.errors import ApiError, forbidden, unauthorized
from togul_monitor.emulator.faults import Faults
from togul_monitor.emulator.outbox import Outbox, OutboxEvent, Subscriber
from togul_monitor.emulator.responses import error_response
from togul_monitor.emulator.world import World

HEARTBEAT = b": heartbeat\n"  # the keep-alive: one SSE comment line, no blank line after it
RETRY_MS = 1000
MAX_BATCH = 256  # events per write when a stream has a backlog
STREAM_SCOPES = frozenset({"sdk", "stream"})

_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class _QuietAbruptClose(logging.Filter):
    """Returning without completing a response is how we drop a connection on purpose;
    uvicorn logs that as an error, which would be noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


def install_log_filter() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietAbruptClose) for f in logger.filters):
        logger.addFilter(_QuietAbruptClose())


class StreamEndpoint:
    def __init__(
        self, world: World, outbox: Outbox, faults: Faults, heartbeat: float, ids: bool
    ) -> None:
        self.world = world
        self.outbox = outbox
        self.faults = faults
        self.heartbeat = heartbeat
        self.ids = ids

    def _authorize(self, request: Request) -> tuple[str | None, str]:
        """(environment id or None for all, credential) or ApiError 401/403."""
        secret = request.headers.get("x-api-key")
        if secret is not None:
            key = self.world.auth.api_key(secret)
            if key.scope not in STREAM_SCOPES:
                raise forbidden(f"API keys with scope {key.scope!r} cannot open the stream")
            return key.environment_id, secret
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("Missing credentials: send X-API-Key or a Bearer token")
        self.world.auth.check_token(token.strip())
        return None, token.strip()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if request.method != "GET":
            await error_response(ApiError(405, "method_not_allowed", "Use GET"))(
                scope, receive, send
            )
            return
        failure = self.faults.take_failure()
        if failure is not None:
            error = ApiError(failure.status, "unavailable", "Stream temporarily unavailable")
            headers = {}
            if failure.retry_after is not None:
                headers["Retry-After"] = f"{failure.retry_after:g}"
            await error_response(error, headers)(scope, receive, send)
            return
        try:
            environment_id, credential = self._authorize(request)
        except ApiError as exc:
            await error_response(exc)(scope, receive, send)
            return
        # No await between the credential check and subscribe: a revoke that lands after
        # the check is applied on the loop after we are registered, so it still closes us.
        last_event_id = request.headers.get("last-event-id") if self.ids else None
        subscriber = self.outbox.subscribe(environment_id, credential, last_event_id)
        try:
            await self._serve(subscriber, receive, send)
        finally:
            self.outbox.unsubscribe(subscriber)

    async def _serve(self, subscriber: Subscriber, receive: Receive, send: Send) -> None:
        watcher = asyncio.create_task(self._watch_disconnect(receive, subscriber))
        writer = asyncio.create_task(self._write(subscriber, send))
        closed = asyncio.create_task(subscriber.closed.wait())
        try:
            await asyncio.wait({writer, watcher, closed}, return_when=asyncio.FIRST_COMPLETED)
            if not writer.done():
                # Let the writer notice the close (it was woken); cancel it if it is stuck in a
                # send to a client that stopped reading.
                with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(writer, timeout=0.5)
        finally:
            watcher.cancel()
            closed.cancel()
            if not writer.done():
                writer.cancel()
        if subscriber.close_mode == "clean" and writer.done() and not writer.cancelled():
            with contextlib.suppress(Exception):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        # Otherwise return without ending the body: uvicorn drops the connection (abrupt).

    async def _watch_disconnect(self, receive: Receive, subscriber: Subscriber) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                subscriber.close("client")
                return

    async def _write(self, sub: Subscriber, send: Send) -> None:
        loop = asyncio.get_running_loop()  # its clock is time.monotonic (Outbox.stall)
        try:
            await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
            # A stalled server sends nothing after the headers, not even the `retry:` line.
            while (stall := self.outbox.stall_until - loop.time()) > 0 and not sub.close_mode:
                await self._wait(sub, stall)
            if self.ids:
                await self._send(send, f"retry: {RETRY_MS}\n".encode())
            next_heartbeat = loop.time() + self.heartbeat
            while sub.close_mode is None:
                now = loop.time()
                stall = self.outbox.stall_until - now
                if stall > 0:
                    await self._wait(sub, stall)
                    continue
                if sub.cut_remaining == 0:
                    if not sub.cut_mid_event:
                        sub.close("abrupt")
                        break
                    if sub.pending:
                        frame = self._frame(sub.pending[0])
                        await self._send(send, frame[: max(1, len(frame) // 2)])
                        sub.close("abrupt")
                        break
                elif sub.pending:
                    await self._send(send, self._take_batch(sub))
                    continue
                if now >= next_heartbeat:
                    await self._send(send, HEARTBEAT)
                    next_heartbeat = now + self.heartbeat
                    continue
                await self._wait(sub, next_heartbeat - now)
        finally:
            if sub.close_mode is None:
                sub.close("client")

    def _frame(self, event: OutboxEvent) -> bytes:
        return event.frame_with_id if self.ids else event.frame_bare

    def _take_batch(self, sub: Subscriber) -> bytes:
        limit = MAX_BATCH if sub.cut_remaining is None else min(MAX_BATCH, sub.cut_remaining)
        frames: list[bytes] = []
        while sub.pending and len(frames) < limit:
            frames.append(self._frame(sub.pending.popleft()))
        if sub.cut_remaining is not None:
            sub.cut_remaining -= len(frames)
        return b"".join(frames)

    @staticmethod
    async def _send(send: Send, body: bytes) -> None:
        await send({"type": "http.response.body", "body": body, "more_body": True})

    @staticmethod
    async def _wait(sub: Subscriber, timeout: float) -> None:
        sub.wake.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(sub.wake.wait(), timeout)
