"""Run the emulator on a loopback port in a background thread: for tests, the demo and
`togul-monitor serve`.

    with running_emulator(seed=0, heartbeat=0.2) as emu:
        emu.base_url, emu.credentials, emu.world, emu.faults

The stream is the documented form by default: `data:` lines only, no `id:` and no `retry:`
(docs/protocol.md). `ids=True` adds an `id:` on every event, a `retry:` at connect and replay
of the last `replay` events from `Last-Event-ID`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from togul_monitor.emulator.auth import Credentials
from togul_monitor.emulator.faults import Faults
from togul_monitor.emulator.outbox import DEFAULT_MAX_PENDING, Outbox
from togul_monitor.emulator.seed import seed_state
from togul_monitor.emulator.simulate import Simulator, SimulatorThread
from togul_monitor.emulator.statefile import build_world, load_world
from togul_monitor.emulator.tally import RequestTally
from togul_monitor.emulator.world import World

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp

START_TIMEOUT = 10.0


@dataclass
class EmulatorHandle:
    """What a running emulator gives back: where it is, its credentials and its controls."""

    base_url: str
    host: str
    port: int
    world: World
    outbox: Outbox
    faults: Faults
    heartbeat: float
    replay: int
    ids: bool
    seed: int | str = 0  # the world's seed (a random one when none was asked for)
    fault_routes: bool = False
    requests: RequestTally = field(default_factory=RequestTally)  # every request, by path
    _server: _ServerThread | None = field(default=None, repr=False)

    @property
    def credentials(self) -> Credentials:
        return self.world.credentials

    @property
    def serving(self) -> bool:
        """The server answers (False while a `serve_after` start waits, and once stopped)."""
        server = self._server
        return server is not None and server.serving

    @property
    def events_published(self) -> int:
        return self.outbox.events_published

    @property
    def open_streams(self) -> int:
        return self.outbox.open_streams

    def wait_for_streams(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until exactly `count` streams are open; False on timeout."""
        deadline = time.monotonic() + timeout
        while self.outbox.open_streams != count:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True

    async def await_streams(self, count: int, timeout: float = 5.0) -> bool:
        """`wait_for_streams` for async tests (does not block the test's loop)."""
        deadline = time.monotonic() + timeout
        while self.outbox.open_streams != count:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.005)
        return True


class _ServerThread:
    """uvicorn on a pre-bound socket, in its own thread with its own event loop.

    uvicorn, Starlette and the app are loaded and built on that thread, when it starts serving:
    at once, or once `serve_after` is set (the demo's TUI paints its first frame first; a
    connection made meanwhile waits in the bound socket's backlog)."""

    def __init__(
        self,
        app: Callable[[], ASGIApp],
        sock: socket.socket,
        outbox: Outbox,
        serve_after: threading.Event | None = None,
    ) -> None:
        self._make_app = app
        self.server: uvicorn.Server | None = None
        self.sock = sock
        self.outbox = outbox
        self.error: BaseException | None = None
        self._serve_after = serve_after
        self._stopping = False
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, name="togul-emulator", daemon=True)

    @property
    def serving(self) -> bool:
        return self._ready.is_set() and not self._stopping

    def _make_server(self) -> uvicorn.Server:
        import uvicorn

        from togul_monitor.emulator.stream import install_log_filter

        install_log_filter()
        config = uvicorn.Config(
            self._make_app(),
            http="h11",
            ws="none",
            lifespan="on",
            log_level="warning",
            access_log=False,
            # No handlers of uvicorn's own (they print to stderr, under the TUI's screen): its
            # records go to the root logger, that is to the log file when the CLI set one up.
            log_config=None,
        )
        return uvicorn.Server(config)

    def _run(self) -> None:
        if self._serve_after is not None:
            self._serve_after.wait()
            if self._stopping:
                return
        loop = asyncio.new_event_loop()
        try:
            self.server = self._make_server()
            if self._stopping:  # stopped while the server loaded (a deferred start)
                return
            loop.run_until_complete(self._serve(self.server))
        except BaseException as exc:  # surfaced to the starting thread, or logged when deferred
            self.error = exc
            if self._serve_after is not None and not self._stopping:
                what = "stopped on an error" if self._ready.is_set() else "failed to start"
                logging.getLogger(__name__).error("the emulator %s", what, exc_info=exc)
                # Nobody waits for this start: refuse connections rather than leave them
                # waiting in the backlog for a server that will never answer.
                with contextlib.suppress(OSError):
                    self.sock.close()
        finally:
            loop.close()

    async def _serve(self, server: uvicorn.Server) -> None:
        # uvicorn's own serve() polls for exit every 0.1 s and then sleeps 0.1 s more; tests
        # start and stop hundreds of servers, so we start it the same way and stop it faster.
        if not server.config.loaded:
            server.config.load()
        server.lifespan = server.config.lifespan_class(server.config)
        await server.startup(sockets=[self.sock])
        self._stop_event = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._ready.set()
        if self._stopping:  # stopped while it was starting (a deferred start): `stop` saw no loop
            self._stop_event.set()
        await self._stop_event.wait()
        await self._shutdown(server)

    async def _shutdown(self, server: uvicorn.Server) -> None:
        state = server.server_state
        for listener in server.servers:
            listener.close()
        for connection in list(state.connections):
            connection.shutdown()  # closes idle keep-alive connections at once
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 0.5
        while state.connections and loop.time() < deadline:
            await asyncio.sleep(0.005)
        for connection in list(state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.close()
        for task in list(state.tasks):
            task.cancel()
        await server.lifespan.shutdown()

    def start(self) -> None:
        self.thread.start()
        if self._serve_after is not None:
            return  # connections wait in the backlog until it serves
        deadline = time.monotonic() + START_TIMEOUT
        while not self._ready.wait(0.01):
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"emulator failed to start: {self.error!r}")

    def stop(self) -> None:
        self._stopping = True
        if self._serve_after is not None:
            self._serve_after.set()  # a thread still waiting to serve ends at once
        # End every stream first (clean EOF), so no open response holds the shutdown up.
        self.outbox.close_streams("clean")
        loop, stop_event = self._loop, self._stop_event
        if loop is not None and stop_event is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop_event.set)
        self.thread.join(timeout=2)


def fresh_seed() -> str:
    """128 random bits: a world whose secrets nobody can guess from its seed."""
    return secrets.token_hex(16)


def make_world(
    *,
    seed: int | str | None = 0,
    state_file: str | Path | None = None,
    replay: int = 1000,
    clock: Callable[[], float] = time.time,
    max_pending: int = DEFAULT_MAX_PENDING,
    token_ttl: float | None = None,
    random_password: bool = False,
) -> World:
    """A world with its outbox: from `state_file` when given, else the seeded world.
    `seed`: None draws a fresh one and a fresh login password (`random_password`) for a world
    that does not set its own, so no two such worlds share a credential. `token_ttl`: seconds
    every access token lives, the org token's too (None: it never expires)."""
    outbox = Outbox(replay=replay, max_pending=max_pending)
    if seed is None:
        seed, random_password = fresh_seed(), True
    password = secrets.token_urlsafe(12) if random_password else "togul-emulator"
    if state_file is not None:
        return load_world(
            state_file,
            outbox=outbox,
            clock=clock,
            seed=seed,
            token_ttl=token_ttl,
            default_password=password,
        )
    state = seed_state(seed)
    state["user"]["password"] = password
    return build_world(state, outbox=outbox, clock=clock, seed=seed, token_ttl=token_ttl)


@contextlib.contextmanager
def running_emulator(
    seed: int | str | None = 0,
    heartbeat: float = 0.2,
    replay: int = 1000,
    ids: bool = False,
    simulate: float = 0.0,
    state_file: str | Path | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    clock: Callable[[], float] = time.time,
    max_pending: int = DEFAULT_MAX_PENDING,
    token_ttl: float | None = None,
    fault_routes: bool = False,
    serve_after: threading.Event | None = None,
) -> Iterator[EmulatorHandle]:
    """Serve the emulator on `host:port` (0: a free port) until the block ends.

    `ids`: off, the documented stream (no `id:`, no `retry:`, `Last-Event-ID` ignored); on, ids,
    a `retry:` at connect and replay from a ring of `replay` events. `seed`: None for fresh
    random credentials (what `serve` does unless given `--seed`). `fault_routes`: the fault
    switches over HTTP too (`emu.faults` works in-process either way). `serve_after`: the
    server starts only once it is set (uvicorn and Starlette load then, off the caller's path).
    Returns once the server accepts connections (with `serve_after`, once its socket listens:
    requests wait for the server); leaving the block stops the simulation, closes every stream
    and shuts the server down (well under a second).
    """
    if heartbeat <= 0:
        raise ValueError("heartbeat must be > 0")
    random_world = seed is None
    seed = fresh_seed() if seed is None else seed
    world = make_world(
        seed=seed,
        random_password=random_world,
        state_file=state_file,
        replay=replay,
        clock=clock,
        max_pending=max_pending,
        token_ttl=token_ttl,
    )
    outbox = world.outbox
    faults = Faults(world, outbox)
    tally = RequestTally()

    def app() -> ASGIApp:
        from togul_monitor.emulator.server import create_app

        return create_app(
            world,
            outbox,
            faults,
            heartbeat=heartbeat,
            ids=ids,
            fault_routes=fault_routes,
            tally=tally,
        )

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio turns Nagle off only on sockets whose proto says TCP,
    # and with Nagle on every keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    bound_port = sock.getsockname()[1]
    server = _ServerThread(app, sock, outbox, serve_after)
    server.start()
    url_host = f"[{host}]" if ":" in host else host
    handle = EmulatorHandle(
        base_url=f"http://{url_host}:{bound_port}",
        host=host,
        port=bound_port,
        world=world,
        outbox=outbox,
        faults=faults,
        heartbeat=heartbeat,
        replay=replay,
        ids=ids,
        seed=seed,
        fault_routes=fault_routes,
        requests=tally,
        _server=server,
    )
    simulator: SimulatorThread | None = None
    try:
        if simulate > 0:
            simulator = SimulatorThread(Simulator(world, seed), simulate)
            simulator.start()
        yield handle
    finally:
        if simulator is not None:
            simulator.stop()
        server.stop()
        with contextlib.suppress(OSError):
            sock.close()
