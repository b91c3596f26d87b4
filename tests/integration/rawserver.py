"""A tiny loopback HTTP server that writes exact byte chunks, for byte-level stream tests.

Each incoming request gets the next `Reply` of the script (the last reply repeats once the script
is used up, or `after` if given). A reply's body is a list of steps: `bytes` are written as one
HTTP/1.1 chunk (then a short pause, so that the client sees separate reads), a `float` pauses,
and an `asyncio.Event` holds the body until the test sets it. The reply then ends with a clean
end of body (`eof`), an abrupt close in the middle of the chunked body (`reset`), or stays open
(`hold`) until the server stops. A `silent` reply reads the request and never answers: no status
line, no headers (a server or proxy that took the connection and hangs). Every request is
recorded with its raw header bytes.

It runs on the test's own event loop (asyncio.start_server on 127.0.0.1, port 0).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

SSE_HEADERS: tuple[tuple[str, str], ...] = (("Content-Type", "text/event-stream"),)

Step = bytes | float | asyncio.Event


@dataclass
class Reply:
    body: Sequence[Step] = ()
    status: int = 200
    headers: Sequence[tuple[str, str]] = SSE_HEADERS
    end: Literal["eof", "reset", "hold"] = "hold"
    pause: float = 0.01  # after each bytes step
    silent: bool = False  # send nothing at all, not even the headers, until the server stops


@dataclass
class Request:
    method: str
    target: str
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    def header(self, name: str) -> bytes | None:
        wanted = name.lower().encode()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None


class RawServer:
    def __init__(self, script: Sequence[Reply], *, after: Reply | None = None) -> None:
        self.script = list(script)
        self.after = after
        self.requests: list[Request] = []
        self.base_url = ""
        self._server: asyncio.Server | None = None
        self._closing = asyncio.Event()
        self._changed = asyncio.Event()
        self._writers: set[asyncio.StreamWriter] = set()
        #: Held responses whose client closed the connection (seen by the server).
        self.client_closes = 0

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing.set()
        for writer in list(self._writers):
            writer.transport.abort()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def wait_requests(self, count: int, timeout: float = 5.0) -> None:
        """Wait until at least `count` requests have arrived."""
        await asyncio.wait_for(self._until(count), timeout)

    async def _until(self, count: int) -> None:
        while len(self.requests) < count:
            self._changed.clear()
            await self._changed.wait()

    def _reply_for(self, index: int) -> Reply:
        if index < len(self.script):
            return self.script[index]
        if self.after is not None:
            return self.after
        return self.script[-1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head[:-4].split(b"\r\n")
            method, target, _version = lines[0].decode("latin-1").split(" ", 2)
            headers = []
            for line in lines[1:]:
                key, _, value = line.partition(b":")
                headers.append((key.strip(), value.strip()))
            index = len(self.requests)
            self.requests.append(Request(method, target, headers))
            self._changed.set()
            await self._respond(self._reply_for(index), reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:  # the test's loop is shutting down: leave quietly
            pass
        finally:
            self._writers.discard(writer)
            if not writer.transport.is_closing():
                writer.close()

    async def _respond(
        self, reply: Reply, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if reply.silent:
            await self._hold(reader)
            return
        status_line = f"HTTP/1.1 {reply.status} X\r\n"
        head = status_line + "".join(f"{k}: {v}\r\n" for k, v in reply.headers)
        no_body = reply.status in (204, 304) or 100 <= reply.status < 200
        if not no_body:
            head += "Transfer-Encoding: chunked\r\n"
        head += "Connection: close\r\n\r\n"
        writer.write(head.encode("latin-1"))
        await writer.drain()
        if no_body:
            return
        for step in reply.body:
            if isinstance(step, bytes):
                if step:
                    writer.write(b"%x\r\n%s\r\n" % (len(step), step))
                    await writer.drain()
                    if reply.pause:
                        await asyncio.sleep(reply.pause)
            elif isinstance(step, asyncio.Event):
                await step.wait()
            else:
                await asyncio.sleep(step)
        if reply.end == "eof":
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        elif reply.end == "reset":
            writer.write(b"10\r\npartial")  # a chunk announced and never finished
            await writer.drain()
            writer.transport.abort()
        else:
            await self._hold(reader)

    async def _hold(self, reader: asyncio.StreamReader) -> None:
        """Keep the connection open until the server stops or the client closes it."""
        closing = asyncio.ensure_future(self._closing.wait())
        client_gone = asyncio.ensure_future(reader.read())  # b"" once the client closes
        done, pending = await asyncio.wait(
            {closing, client_gone}, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        if client_gone in done:
            self.client_closes += 1
            self._changed.set()

    async def wait_client_closes(self, count: int, timeout: float = 5.0) -> None:
        """Wait until clients have closed `count` held responses."""

        async def until() -> None:
            while self.client_closes < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(until(), timeout)
