"""Fault switches for tests: each one is observable from a plain HTTP client.

Stream faults act on `GET /api/v1/stream`; evaluate faults (`fail_evaluate`,
`exhaust_evaluate_quota`) on the next answers of `POST /api/v1/evaluate`. The same switches are
routes under `/_emulator/faults/` (admin.py; every one is listed in docs/management-api.md).

Every method may be called from any thread, including from a test's own event loop while the
server runs in the harness's background thread.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

import msgspec

from togul_monitor.emulator.outbox import Outbox
from togul_monitor.emulator.world import World

#: Togul's answer when the organization's monthly evaluation quota is spent (a 403 that is not
#: about the credentials; docs/protocol.md).
QUOTA_CODE = "billing.evaluation_blocked"

#: Bounds of every fault argument: a count (`k`, `n`), seconds (`stall`, `retry_after`), and how
#: many sets of failures may wait at once. A fault is a switch for a test, not a way to make the
#: server spend its memory or stop answering.
MAX_COUNT = 1_000_000
MAX_SECONDS = 3600.0
MAX_QUEUED = 1000

_T = TypeVar("_T")


class FaultLimit(ValueError):
    """Too many failures already wait to be answered."""


class _Runs(Generic[_T]):
    """A queue of `k` copies of an item, kept as (item, count) runs: memory grows with the
    number of calls, never with `k`. Callers hold the Faults lock."""

    def __init__(self) -> None:
        self._items: deque[tuple[_T, int]] = deque()

    def add(self, item: _T, k: int) -> None:
        if k == 0:
            return
        if len(self._items) >= MAX_QUEUED:
            raise FaultLimit(f"at most {MAX_QUEUED} fault sets may wait; let some be used first")
        self._items.append((item, k))

    def peek(self) -> _T | None:
        return self._items[0][0] if self._items else None

    def take(self) -> _T | None:
        if not self._items:
            return None
        item, left = self._items[0]
        if left > 1:
            self._items[0] = (item, left - 1)
        else:
            self._items.popleft()
        return item

    def __len__(self) -> int:
        return sum(left for _, left in self._items)


def _check(k: int, status: int | None = None, retry_after: float | None = None) -> None:
    if not 0 <= k <= MAX_COUNT:
        raise ValueError(f"k must be from 0 to {MAX_COUNT}")
    if status is not None and not 400 <= status <= 599:
        raise ValueError("status must be a 4xx or 5xx")
    if retry_after is not None and not 0 <= retry_after <= MAX_SECONDS:
        raise ValueError(f"retry_after must be from 0 to {MAX_SECONDS:g} seconds")


class Failure(msgspec.Struct, frozen=True):
    """How to answer one stream request instead of streaming."""

    status: int
    retry_after: float | None


class EvaluateFailure(msgspec.Struct, frozen=True):
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
        self._failures: _Runs[Failure] = _Runs()
        self._evaluate_failures: _Runs[EvaluateFailure] = _Runs()

    def cut_streams(self, *, clean: bool = False) -> None:
        """Close every open stream now: by default abruptly (the TCP connection drops without
        the end of the chunked body); `clean=True` ends the response normally (EOF)."""
        self._outbox.close_streams("clean" if clean else "abrupt")

    def cut_after(self, n: int, *, mid_event: bool = False) -> None:
        """Close every stream open now after it has written `n` more events. With
        `mid_event=True` the connection drops halfway through event n + 1."""
        if not 0 <= n <= MAX_COUNT:
            raise ValueError(f"n must be from 0 to {MAX_COUNT}")
        self._outbox.cut_after(n, mid_event)

    def stall(self, seconds: float) -> None:
        """Open streams write nothing (no events, no heartbeats) for `seconds`; events that
        arrive meanwhile are delivered afterwards."""
        if not 0 <= seconds <= MAX_SECONDS:
            raise ValueError(f"seconds must be from 0 to {MAX_SECONDS:g}")
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
        _check(k, status, retry_after)
        with self._lock:
            self._failures.add(Failure(status, retry_after), k)

    def take_failure(self) -> Failure | None:
        with self._lock:
            return self._failures.take()

    def fail_evaluate(
        self, k: int = 1, status: int = 503, retry_after: float | None = None
    ) -> None:
        """Answer the next `k` evaluate requests with `status` (429, 500, 503...; `Retry-After`
        when `retry_after` is given), before any credential check, like a proxy or an overloaded
        server would."""
        _check(k, status, retry_after)
        with self._lock:
            self._evaluate_failures.add(EvaluateFailure(status, retry_after), k)

    def exhaust_evaluate_quota(self, k: int = 1) -> None:
        """The next `k` evaluate requests whose key may evaluate get Togul's quota answer: 403
        `{"code": "billing.evaluation_blocked", ...}`. A request refused for its credentials
        still gets its 401/403 and does not use one up."""
        _check(k)
        with self._lock:
            self._evaluate_failures.add(EvaluateFailure(403, None, True), k)

    def take_evaluate_failure(self, *, authorized: bool) -> EvaluateFailure | None:
        """The evaluate fault due now, in the order they were set: before the credential check
        (`authorized=False`) a status fault, after it (`authorized=True`) a quota fault."""
        with self._lock:
            due = self._evaluate_failures.peek()
            if due is not None and due.quota == authorized:
                return self._evaluate_failures.take()
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
