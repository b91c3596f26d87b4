"""The reconnect delay policy (docs/stream-client.md), pure: no clock, no sleep, no I/O.

delay(n) = min(cap, base × 2^(n−1)), then minus a uniform 0–50 % of itself (LaunchDarkly's
jitter: it spreads a thundering herd without ever waiting longer than the curve). `base` is 1 s,
or the server's valid `retry:` clamped to 0.5–300 s; cap = max(30 s, base). `n` counts
consecutive failures. `Retry-After` is a floor.

A connection that worked is not a failure: when it delivered new events, or stayed up
`HEALTHY_AFTER` seconds, `n` starts again from zero, so the next attempt waits about the base.
Otherwise a server (or a proxy) that closes every stream after a while would drive the delay to
the cap, and the monitor would spend a large part of its time waiting with nothing wrong. A
connection that ends at once without a new event is a failure like a refused one: the delay
still grows against a server that accepts and drops every connection, or only replays.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

INITIAL_DELAY = 1.0
MAX_DELAY = 30.0
#: Seconds a connection must stay up (without new events) to count as a success.
HEALTHY_AFTER = 5.0
JITTER = 0.5
MIN_BASE = 0.5
MAX_BASE = 300.0
#: A `Retry-After` longer than this is treated as this (a misconfigured server must not park
#: the monitor for a day).
MAX_RETRY_AFTER = 300.0


class Backoff(msgspec.Struct):
    random: Callable[[], float]
    base: float = INITIAL_DELAY
    cap: float = MAX_DELAY
    healthy_after: float = HEALTHY_AFTER
    jitter: float = JITTER
    attempt: int = 0  # consecutive failures so far

    def set_server_retry(self, milliseconds: int) -> None:
        """A valid `retry:` field: it becomes the base, clamped."""
        self.base = min(MAX_BASE, max(MIN_BASE, milliseconds / 1000.0))

    def connection_ended(self, *, lived: float, delivered: int) -> None:
        """A live connection ended after `lived` seconds, having delivered `delivered` new
        events (duplicates not counted): one that worked forgives the earlier failures."""
        if delivered > 0 or lived >= self.healthy_after:
            self.attempt = 0

    def reset(self) -> None:
        self.attempt = 0

    def next_delay(self, *, retry_after: float | None = None) -> float:
        """Count one more failure and return how long to wait before the next attempt.

        `retry_after` is the server's Retry-After in seconds, a floor (capped at 300 s).
        """
        self.attempt += 1
        cap = max(self.cap, self.base)
        # Bound the exponent: 2.0 ** 1100 would overflow long after the cap applies anyway.
        exponent = min(self.attempt - 1, 32)
        delay = min(cap, self.base * (2.0**exponent))
        delay -= delay * self.jitter * self.random()
        if retry_after is not None:
            delay = max(delay, min(max(retry_after, 0.0), MAX_RETRY_AFTER))
        return delay
