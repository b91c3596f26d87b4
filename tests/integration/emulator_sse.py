"""A deliberately dumb SSE reader for the emulator's tests: it records the raw bytes a real
loopback connection delivers, so framing can be checked byte for byte. It shares nothing with
the product's SSE client (the emulator and the client check each other)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx


class RawStream:
    """Open `GET /api/v1/stream` in a task and record everything that arrives."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout: float = 5.0) -> None:
        self.url = base_url + "/api/v1/stream"
        self.headers = headers
        self.timeout = timeout
        self.raw = bytearray()
        self.arrivals: list[tuple[float, bytes]] = []  # (monotonic time, chunk)
        self.status: int | None = None
        self.response_headers: httpx.Headers | None = None
        self.body_text = ""
        self.error: BaseException | None = None
        self.ended = False
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RawStream:
        self._task = asyncio.create_task(self._run())
        await self.wait(lambda: self.status is not None or self.ended, what="response status")
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass

    async def _run(self) -> None:
        timeout = httpx.Timeout(self.timeout)
        try:
            async with httpx.AsyncClient(timeout=timeout) as client:
                async with client.stream("GET", self.url, headers=self.headers) as response:
                    self.response_headers = response.headers
                    if response.status_code != 200:
                        await response.aread()
                        self.body_text = response.text
                    self.status = response.status_code
                    async for chunk in response.aiter_raw():
                        self.raw.extend(chunk)
                        self.arrivals.append((time.monotonic(), chunk))
        except (httpx.HTTPError, OSError) as exc:
            self.error = exc
        finally:
            self.ended = True

    async def wait(
        self, condition: Callable[[], bool], timeout: float = 5.0, what: str = "condition"
    ) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; got {bytes(self.raw)!r}")
            await asyncio.sleep(0.005)

    # -- parsing (only what the emulator sends: LF lines) --------------------------------------
    def blocks(self) -> list[dict[str, Any]]:
        """Complete events: {"id": str | None, "data": str}. Comment lines are skipped."""
        text = bytes(self.raw).decode()
        complete = text[: text.rfind("\n\n") + 2] if "\n\n" in text else ""
        events = []
        current: dict[str, Any] = {"id": None, "data": []}
        for line in complete.split("\n"):
            if line == "":
                if current["data"]:
                    events.append({"id": current["id"], "data": "\n".join(current["data"])})
                current = {"id": None, "data": []}
            elif line.startswith("id: "):
                current["id"] = line[4:]
            elif line.startswith("data: "):
                current["data"].append(line[6:])
        return events

    def events(self) -> list[dict[str, Any]]:
        """The JSON payloads of complete events, each with `_id` added."""
        out = []
        for block in self.blocks():
            payload = json.loads(block["data"])
            payload["_id"] = block["id"]
            out.append(payload)
        return out

    def heartbeat_times(self) -> list[float]:
        return [t for t, chunk in self.arrivals if chunk == b": heartbeat\n"]

    async def wait_events(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        await self.wait(lambda: len(self.blocks()) >= count, timeout, f"{count} events")
        return self.events()

    async def wait_ended(self, timeout: float = 5.0) -> None:
        await self.wait(lambda: self.ended, timeout, "the stream to end")
