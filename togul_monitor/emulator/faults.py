"""Fault switches for tests: each one is observable from a plain HTTP client.

Every method may be called from any thread, including from a test's own event loop while the
server runs in the harness's background thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from togul_monitor.emulator.outbox import Outbox
from togul_monitor.emulator.world import World


@dataclass(frozen=True)
class Failure:
    """How to answer one stream request instead of streaming."""

    status: int
    retry_after: float | None


class Faults:
    def __init__(self, world: World, outbox: Outbox) -> None:
        self._world = world
        self._outbox = outbox
        self._lock = threading.Lock()
        self._failures: list[Failure] = []

    def cut_streams(self, *, clean: bool = False) -> None:
        """Close every open stream now: by default abruptly (the TCP connection drops without
        the end of the chunked body); `clean=True` ends the response normally (EOF)."""
        self._outbox.close_streams("clean" if clean else "abrupt")

    def cut_after(self, n: int, *, mid_event: bool = False) -> None:
        """Close every stream open now after it has written `n` more events. With
        `mid_event=True` the connection drops halfway through event n + 1."""
        if n < 0:
            raise ValueError("n must be >= 0")
        self._outbox.cut_after(n, mid_event)

    def stall(self, seconds: float) -> None:
        """Open streams write nothing (no events, no heartbeats) for `seconds`; events that
        arrive meanwhile are delivered afterwards."""
        self._outbox.stall(seconds)

    def emit_malformed(self, data: str = "not json") -> int:
        """Send one event whose `data` is `data` verbatim to every open stream (with an id
        when ids are on); returns that id. It is not kept for replay."""
        return self._outbox.publish_raw(data)

    def forget_replay(self) -> None:
        """A "restart": the replay ring is emptied; ids continue from where they were."""
        self._outbox.forget()

    def fail_next(self, k: int = 1, status: int = 503, retry_after: float | None = 2) -> None:
        """Answer the next `k` stream requests with `status` (and `Retry-After`), before any
        credential check, like a proxy in front of the server would."""
        with self._lock:
            self._failures.extend(Failure(status, retry_after) for _ in range(k))

    def take_failure(self) -> Failure | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def revoke_key(self, secret: str) -> bool:
        """The key now gets 401 everywhere; streams opened with it are closed (clean EOF, so a
        client's reconnect meets the 401). Returns whether the key existed."""
        existed = self._world.auth.revoke_key(secret)
        self._outbox.close_streams("clean", lambda sub: sub.credential == secret)
        return existed
