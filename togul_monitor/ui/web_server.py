"""The TUI served to browsers by textual-serve, for `togul-monitor web` (cli/web.py).

textual-serve runs one command per browser session and relays its terminal over a websocket to
xterm.js in the page. This module holds what touches textual-serve and aiohttp: the command
line decides what runs, which pages may open a session (`allowed`) and what is said about them
(`SessionLog`). Imported only by that command: aiohttp loads for it alone.
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Callable
from typing import Any, Protocol

from aiohttp import web as aiohttp_web
from textual_serve.server import Server

# How long a stopping server lets open sessions end (the TUI closes its monitor and, for the
# demo, its emulator) before aiohttp cancels their handlers, which then ask once more.
SHUTDOWN_GRACE_SECONDS = 5.0


class SessionLog(Protocol):
    """What the server says about its sessions (the command line writes it to stderr)."""

    def refused(self, origin: str | None, peer: str) -> None: ...

    def opened(self, number: int, peer: str, open_now: int) -> None: ...

    def closed(self, number: int, open_now: int) -> None: ...


class WebServer(Server):
    def __init__(
        self,
        command: list[str],
        *,
        title: str,
        host: str,
        port: int,
        url: str,
        allowed: Callable[[str | None], bool],
        log: SessionLog,
    ) -> None:
        # `exec`: textual-serve starts the command through a shell; exec makes the session
        # process the TUI itself, so a signal or a kill reaches it and no shell lingers.
        super().__init__("exec " + shlex.join(command), host=host, port=port, title=title,
                         public_url=url)  # fmt: skip
        self._allowed = allowed
        self._log = log
        self.opened = 0
        self.open_now = 0
        self.sessions: set[asyncio.Task[Any]] = set()

    def initialize_logging(self) -> None:
        """Keep the log setup of the command line (every record to the log file, secrets
        masked) rather than textual-serve's terminal handler."""

    async def on_startup(self, app: aiohttp_web.Application) -> None:
        """textual-serve prints a banner here, before the port is bound: `serve`'s `announce`
        says where to go once it is."""

    async def on_shutdown(self, app: aiohttp_web.Application) -> None:
        """End every session now rather than after aiohttp's grace period: a cancelled session
        handler closes its websocket and asks its TUI to quit (textual-serve's
        `AppService.stop`), then waits for the process to exit."""
        sessions = list(self.sessions)
        for task in sessions:
            task.cancel()
        if sessions:
            await asyncio.wait(sessions, timeout=SHUTDOWN_GRACE_SECONDS)

    async def handle_websocket(self, request: aiohttp_web.Request) -> Any:
        origin = request.headers.get("Origin")
        peer = request.remote or "?"
        if not self._allowed(origin):
            self._log.refused(origin, peer)
            raise aiohttp_web.HTTPForbidden(text="not this server's page\n")
        self.opened += 1
        number = self.opened
        self.open_now += 1
        task = asyncio.current_task()
        if task is not None:
            self.sessions.add(task)
        self._log.opened(number, peer, self.open_now)
        try:
            return await super().handle_websocket(request)
        finally:
            if task is not None:
                self.sessions.discard(task)
            self.open_now -= 1
            self._log.closed(number, self.open_now)


def serve(server: WebServer, *, host: str, port: int, announce: Callable[..., None]) -> None:
    """Run `server` until SIGINT or SIGTERM (a graceful shutdown that ends every session).
    OSError when the port cannot be bound; `announce` is called once it is."""
    aiohttp_web.run_app(
        # textual-serve's own routes and templates. Its serve() is not used: it prints before
        # the port is bound, logs to the terminal and waits 60 s for open sessions.
        server._make_app(),
        host=host,
        port=port,
        print=announce,
        handle_signals=True,
        shutdown_timeout=SHUTDOWN_GRACE_SECONDS,
        access_log=None,
    )
