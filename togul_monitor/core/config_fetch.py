"""Coalesced fetches of flag configurations: at most one in flight per flag, N overall.

The rules are the coalescer's (core/coalesce.py), for a fetch of a flag's configuration instead
of its value, so a burst of 500 edits to one flag costs a handful of fetches and the last one
answers after the last edit. For configurations: an event-driven fetch of a flag is sent at most
once per `min_interval` seconds; flags seen first have no queue of their own (the initial load
of thousands of flags is held to `concurrency` at once like everything else).

`fetch` does the request (and never raises: a failure is a `Fetched` with an `error`),
`on_answer` takes the answer on the monitor's loop; `tie_answer` ties it to its event.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable

import msgspec

from togul_monitor.core.coalesce import Coalescer
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_config import FlagConfig

Trigger = FlagEvent | None  # the event that asked (None: a load or a re-fetch)


class Fetched(msgspec.Struct, frozen=True):
    config: FlagConfig | None  # None: not found (deleted), or failed (`error`)
    error: str | None = None
    status: int | None = None  # the HTTP status of a failure (None: no answer)
    asked_at: float = 0.0  # when the request was sent (the fetcher's clock)
    # False: nothing was asked (no reader, no id known): no answer of the server's.
    asked: bool = True


Fetch = Callable[[str], Awaitable[Fetched]]
OnAnswer = Callable[[str, Trigger, Fetched, bool], None]  # key, trigger, answer, superseded


def _failed(exc: Exception) -> Fetched:
    return Fetched(None, error=f"fetch failed: {exc!r}"[:300])


class FetchQueue(Coalescer[FlagEvent, Fetched]):
    def __init__(
        self,
        fetch: Fetch,
        on_answer: OnAnswer,
        *,
        concurrency: int = 8,
        settle: float = 0.01,
        min_interval: float = 0.5,
    ) -> None:
        super().__init__(
            fetch,
            on_answer,
            failed=_failed,
            concurrency=concurrency,
            settle=settle,
            min_interval=min_interval,
        )


def tie_answer(
    pending: deque[FlagEvent] | None, trigger: Trigger, config: FlagConfig, superseded: bool
) -> tuple[bool, FlagEvent | None]:
    """Whether to keep a fetch's answer (a dropped one is covered by a newer fetch), and the
    event it explains: the pending event of the answer's version when the server says it, else
    the one that asked. The events up to it leave `pending` (core/configs.py)."""
    match: FlagEvent | None = None
    if config.version is not None and pending:
        match = next((e for e in reversed(pending) if e.version == config.version), None)
    if superseded and match is None:
        return False, None
    event = match or trigger
    if pending and event is not None:
        while pending and pending[0] is not event:
            pending.popleft()
        if pending:
            pending.popleft()  # the event itself
    return True, event


def ahead_of_stream(pending: deque[FlagEvent] | None, trigger: Trigger, config: FlagConfig) -> bool:
    """The answer shows a later version of the flag than any event received for it: the event
    that made the change is still on its way (the server answers sooner than it streams)."""
    if trigger is None or config.version is None or trigger.version is None:
        return False
    if pending and any(e.version == config.version for e in pending):
        return False
    return config.version > trigger.version
