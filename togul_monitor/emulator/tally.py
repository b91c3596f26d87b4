"""How many requests the emulator answered, by method and path: tests count what a client
costs (a burst of edits must cost a handful of fetches, not one each)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: the demo builds a tally before Starlette is loaded
    from starlette.types import ASGIApp, Receive, Scope, Send


class RequestTally:
    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()  # counted on the server's thread, read on the test's

    def add(self, method: str, path: str) -> None:
        with self._lock:
            self._counts[(method, path)] += 1

    def count(self, method: str | None = None, prefix: str = "") -> int:
        """Requests of `method` (None: any) whose path starts with `prefix`."""
        with self._lock:
            return sum(
                n
                for (m, path), n in self._counts.items()
                if (method is None or m == method) and path.startswith(prefix)
            )


class Tallying:
    """ASGI middleware: counts every HTTP request before the app answers it."""

    def __init__(self, app: ASGIApp, tally: RequestTally) -> None:
        self.app = app
        self.tally = tally

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.tally.add(scope["method"], scope["path"])
        await self.app(scope, receive, send)
