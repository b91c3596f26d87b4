"""The built-in demo: an embedded emulator on a free loopback port, and its two profiles.

One emulator per process, started on first use and shared by every user in the process (the
TUI switching between `demo-production` and `demo-staging` talks to the same server). Users
either hold it for a block (`demo_session()`, what `--demo` uses: the server stops when the
last such block ends) or pin it for the life of the process (`ensure_running()`, what the
profile switcher uses); an `atexit` hook stops whatever is still running. The TUI opens it
inside `serving_deferred()`: the server loads after the first frame.

The demo profiles are built here from the running emulator's credentials and are never written
to `profiles.toml`. `register()` offers them to `config.resolve` (name lookup, listing, `--demo`,
the fallback of a fresh machine): the configuration stage sits below the demo and cannot import
it, so the command line calls `register()` when it starts.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import msgspec

from togul_monitor.config import resolve
from togul_monitor.config.entry import Profile

DEMO_PROFILES: dict[str, str] = {  # profile name -> environment key
    "demo-production": "production",
    "demo-staging": "staging",
}
DEMO_CONTEXT: dict[str, str] = {"user_id": "demo-user", "plan": "premium", "country": "TR"}
# Two named contexts beside it (the `default` one: three columns in the values pane), chosen against the seeded rules
# (emulator/seed.py) so that the same flag visibly differs between them: `plan` decides
# new-dashboard, support-tier, max-upload-mb and api-rate-limit (100 free, 1000 premium, 5000
# enterprise), `country` the welcome-message (TR, DE or neither), and each its own `user_id`
# puts it in its own percentage-rollout bucket.
DEMO_CONTEXTS: dict[str, dict[str, str]] = {
    "free": {"user_id": "demo-free", "plan": "free", "country": "US"},
    "eu": {"user_id": "demo-eu", "plan": "premium", "country": "DE"},
}
DEMO_WATCH: tuple[str, ...] = ("new-dashboard",)
# Tunables, module attributes so tests can speed the demo up before it starts.
HEARTBEAT_SECONDS = 5.0
SIMULATE_EVENTS_PER_SECOND = 2.0
SEED = 7
# The documented stream form (docs/protocol.md): no `id:`, no `retry:`, no replay. What the demo
# shows is what a real Togul server gives.
STREAM_IDS = False


class DemoServer(msgspec.Struct, frozen=True):
    """What the demo profiles need from the running emulator."""

    base_url: str
    sdk_keys: dict[str, str]  # environment key -> sdk key
    environment_ids: dict[str, str]  # environment key -> environment id
    org_token: str  # management API: lists every flag, so first changes have a "before"
    handle: Any  # the emulator harness's handle (world, faults) for tests and tools


class _Demo:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stack: contextlib.ExitStack | None = None
        self._server: DemoServer | None = None
        self._users = 0
        self._pinned = False
        self._serve_after: threading.Event | None = None  # see `defer_serving`

    def acquire(self, *, pin: bool = False) -> DemoServer:
        with self._lock:
            if self._server is None:
                self._start()
            if pin:
                self._pinned = True
            else:
                self._users += 1
            assert self._server is not None
            return self._server

    def release(self) -> None:
        with self._lock:
            self._users = max(0, self._users - 1)
            if self._users == 0 and not self._pinned:
                self._stop()

    def defer_serving(self) -> Callable[[], None]:
        event = self._serve_after = threading.Event()
        return event.set

    def current(self) -> DemoServer | None:
        return self._server

    def shutdown(self) -> None:
        with self._lock:
            self._pinned = False
            self._users = 0
            self._stop()

    def _start(self) -> None:
        # Imported here: the emulator (uvicorn, Starlette) loads only when the demo is used.
        from togul_monitor.emulator.harness import running_emulator

        deferred = self._serve_after
        stack = contextlib.ExitStack()
        try:
            emu = stack.enter_context(
                running_emulator(
                    seed=SEED,
                    heartbeat=HEARTBEAT_SECONDS,
                    simulate=SIMULATE_EVENTS_PER_SECOND,
                    ids=STREAM_IDS,
                    serve_after=None if deferred is None or deferred.is_set() else deferred,
                )
            )
            creds = emu.credentials
            server = DemoServer(
                base_url=emu.base_url,
                sdk_keys={env: creds.keys[env]["sdk"] for env in DEMO_PROFILES.values()},
                org_token=creds.org_token,
                environment_ids={env: creds.environment_ids[env] for env in DEMO_PROFILES.values()},
                handle=emu,
            )
        except BaseException:
            stack.close()
            raise
        self._stack = stack
        self._server = server

    def _stop(self) -> None:
        stack, self._stack, self._server = self._stack, None, None
        if stack is not None:
            stack.close()


_DEMO = _Demo()
atexit.register(_DEMO.shutdown)


def is_demo_profile(name: str) -> bool:
    return name in DEMO_PROFILES


def demo_profile(name: str, server: DemoServer | None) -> Profile:
    """The built-in profile `name`, pointing at `server` (a placeholder URL when not running)."""
    environment = DEMO_PROFILES[name]
    return Profile(
        name=name,
        base_url=server.base_url if server else "http://127.0.0.1:0",
        environment_key=environment,
        api_key=server.sdk_keys[environment] if server else None,
        # The token lets the monitor list every flag up front, so even a flag's first change
        # shows before → after; the stream stays on the environment's sdk key.
        token=server.org_token if server else None,
        context=dict(DEMO_CONTEXT),
        contexts={name: dict(attrs) for name, attrs in DEMO_CONTEXTS.items()},
        watch=DEMO_WATCH,
        heartbeat_seconds=HEARTBEAT_SECONDS,
        builtin=True,
        environment_names=(
            {env_id: env for env, env_id in server.environment_ids.items()} if server else {}
        ),
    )


def demo_profiles() -> list[Profile]:
    """Both demo profiles, for listing: connected to the emulator if it runs, else placeholders.

    Listing never starts the emulator; connect through `ensure_running()` or `demo_session()`.
    """
    server = current_server()
    return [demo_profile(name, server) for name in DEMO_PROFILES]


def current_server() -> DemoServer | None:
    """The demo's emulator when it runs (never starts it)."""
    return _DEMO.current()


def ensure_running() -> DemoServer:
    """Start the demo emulator if needed and keep it until the process exits."""
    return _DEMO.acquire(pin=True)


@contextlib.contextmanager
def serving_deferred() -> Iterator[Callable[[], None]]:
    """While the block runs, the demo's emulator, when it starts, serves only once the function
    given is called: its profiles are ready at once (the socket is bound, the credentials
    made), and loading the server (uvicorn, Starlette: about a third of the TUI's start) waits
    until the TUI has painted its first frame. Requests made meanwhile wait for it, in the
    socket's backlog. Leaving the block calls it, however the block ends."""
    serve = _DEMO.defer_serving()
    try:
        yield serve
    finally:
        serve()


@contextlib.contextmanager
def demo_session() -> Iterator[DemoServer]:
    """The demo emulator for the duration of the block (shared; stopped by the last user)."""
    server = _DEMO.acquire()
    try:
        yield server
    finally:
        _DEMO.release()


def shutdown() -> None:
    """Stop the demo emulator now (tests; the atexit hook does it otherwise)."""
    _DEMO.shutdown()


class _DemoSource:
    """The demo as `config.resolve` sees it (a `resolve.ProfileSource`)."""

    def names(self) -> Mapping[str, str]:
        return DEMO_PROFILES

    def listed(self) -> list[Profile]:
        return demo_profiles()

    def pinned(self, name: str) -> Profile:
        return demo_profile(name, ensure_running())

    @contextlib.contextmanager
    def session(self, name: str) -> Iterator[Profile]:
        with demo_session() as server:
            yield demo_profile(name, server)


_SOURCE = _DemoSource()


def register() -> None:
    """Offer the demo profiles through `config.resolve`; calling it again changes nothing."""
    resolve.register_profile_source(resolve.DEMO_SOURCE, _SOURCE)
