"""Fault switches for tests: each one is observable from a plain HTTP client.

Stream faults act on `GET /api/v1/stream`; evaluate faults (`fail_evaluate`,
`exhaust_evaluate_quota`) on the next answers of `POST /api/v1/evaluate`. The same switches are
routes under `/_emulator/faults/` (admin.py; every one is listed in docs/management-api.md).

Every method may be called from any thread, including from a test's own event loop while the
server runs in the harness's background thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from togul_monitor.emulator.outbox import Outbox
from togul_monitor.emulator.world import World

#: Togul's answer when the organization's monthly evaluation quota is spent (a 403 that is not
#: about the credentials; docs/protocol.md).
QUOTA_CODE = "billing.evaluation_blocked"


@dataclass(frozen=True)
class Failure:
    """How to answer one stream request instead of streaming."""

    status: int
    retry_after: float | None


@dataclass(frozen=True)
class EvaluateFailure:
    """How to answer one evaluate request instead of evaluating: `status` (with `Retry-After`
    when `retry_after` is set) before any credential check, or with `quota` Togul's quota
    answer (403 `billing.evaluation_blocked`) to a request whose key may evaluate."""

    status: int
    retry_after: float | None
    quota: bool = False

    def code(self) -> str:
        if self.quota:
            return QUOTA_CODE
        return {429: "rate_limited", 500: "internal", 503: "unavailable"}.get(self.status, "error")

    def message(self) -> str:
        if self.quota:
            return "The organization's monthly evaluation quota is exhausted"
        if self.status == 429:
            return "Too many requests"
        return "Evaluate temporarily unavailable"


class Faults:
    def __init__(self, world: World, outbox: Outbox) -> None:
        self._world = world
        self._outbox = outbox
        self._lock = threading.Lock()
        self._failures: list[Failure] = []
        self._evaluate_failures: list[EvaluateFailure] = []

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

    def fail_evaluate(
        self, k: int = 1, status: int = 503, retry_after: float | None = None
    ) -> None:
        """Answer the next `k` evaluate requests with `status` (429, 500, 503...; `Retry-After`
        when `retry_after` is given), before any credential check, like a proxy or an overloaded
        server would."""
        if k < 0:
            raise ValueError("k must be >= 0")
        if not 400 <= status <= 599:
            raise ValueError("status must be a 4xx or 5xx")
        with self._lock:
            self._evaluate_failures.extend(EvaluateFailure(status, retry_after) for _ in range(k))

    def exhaust_evaluate_quota(self, k: int = 1) -> None:
        """The next `k` evaluate requests whose key may evaluate get Togul's quota answer: 403
        `{"code": "billing.evaluation_blocked", ...}`. A request refused for its credentials
        still gets its 401/403 and does not use one up."""
        if k < 0:
            raise ValueError("k must be >= 0")
        with self._lock:
            self._evaluate_failures.extend(EvaluateFailure(403, None, True) for _ in range(k))

    def take_evaluate_failure(self, *, authorized: bool) -> EvaluateFailure | None:
        """The evaluate fault due now, in the order they were set: before the credential check
        (`authorized=False`) a status fault, after it (`authorized=True`) a quota fault."""
        with self._lock:
            failures = self._evaluate_failures
            if failures and failures[0].quota == authorized:
                return failures.pop(0)
            return None

    @property
    def evaluate_failures_left(self) -> int:
        with self._lock:
            return len(self._evaluate_failures)

    def revoke_key(self, secret: str) -> bool:
        """The key now gets 401 everywhere; streams opened with it are closed (clean EOF, so a
        client's reconnect meets the 401). Returns whether the key existed."""
        existed = self._world.auth.revoke_key(secret)
        self._outbox.close_streams("clean", lambda sub: sub.credential == secret)
        return existed
