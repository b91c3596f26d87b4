"""Answers ahead of the stream (core/configs.py): a fetch read a version of the flag whose event
has not come yet (the server answers sooner than it streams, or the stream lags in a burst).

Tied to the event that asked, the diff would name an older event than the one that made it, and
the flag's last event, read again when it comes, would find nothing changed: the final change
would sit on an earlier row and the last row say nothing. So the answer is held, the snapshot
left as it was, until an event of its version (or a later one) comes, and is then tied to it. A
server whose versions do not follow its events must still see its diffs: after `WAIT_INTERVALS`
pacing intervals the answer is tied to the flag's newest event received. A newer answer of the
flag replaces a held one (it diffs from the same snapshot); a deletion forgets it.

Runs on the monitor's loop.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

import msgspec

from togul_monitor.core.config_fetch import Fetched, Trigger, ahead_of_stream, tie_answer
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_config import FlagConfig

WAIT_INTERVALS = 10  # a read ahead of the stream waits for its event so many pacing intervals


class Held(msgspec.Struct, frozen=True):
    trigger: Trigger  # the event that asked
    config: FlagConfig  # what the fetch read (its version known: that is why it waits)
    asked_at: float  # when the fetch was sent (core/config_reads.py)


class AheadAnswers:
    def __init__(self, on_due: Callable[[str, Held], None]) -> None:
        """`on_due(key, held)`: the wait is over without the event of its version."""
        self._on_due = on_due
        self._held: dict[str, tuple[Held, asyncio.TimerHandle]] = {}
        self._hurried = False  # `hurry`: the stream is read no further

    def __bool__(self) -> bool:
        return bool(self._held)

    def tie(
        self,
        key: str,
        pending: deque[FlagEvent] | None,
        trigger: Trigger,
        answer: Fetched,
        superseded: bool,
        hold: bool,
        interval: float,
    ) -> tuple[bool, FlagEvent | None]:
        """`tie_answer` (core/config_fetch.py), but an answer ahead of the stream is held
        (`hold`; not kept yet) for `WAIT_INTERVALS` pacing `interval`s. A newer read replaces
        what is held: it diffs from the same snapshot."""
        config = answer.config
        assert config is not None
        self.take(key)
        if (
            hold
            and not self._hurried
            and not superseded
            and ahead_of_stream(pending, trigger, config)
        ):
            timer = asyncio.get_running_loop().call_later(WAIT_INTERVALS * interval, self._due, key)
            self._held[key] = (Held(trigger, config, answer.asked_at), timer)
            return False, None
        return tie_answer(pending, trigger, config, superseded)

    def hurry(self) -> None:
        """The stream is read no further (`tail --count` stops at its count): the events the
        held answers wait for will not come, so they are due now, and none is held again."""
        self._hurried = True
        for key in list(self._held):
            self._due(key)

    def take(self, key: str) -> Held | None:
        """The held answer of `key` (no longer held), if any."""
        entry = self._held.pop(key, None)
        if entry is None:
            return None
        entry[1].cancel()
        return entry[0]

    def arrived(self, key: str, event: FlagEvent) -> Held | None:
        """The held answer of `key` if `event` (the flag's newest, just received) reached its
        version: its event has come (no longer held)."""
        entry = self._held.get(key)
        version = entry[0].config.version if entry is not None else None
        if version is not None and event.version is not None and event.version >= version:
            return self.take(key)
        return None

    def clear(self) -> None:
        for key in list(self._held):
            self.take(key)

    def _due(self, key: str) -> None:  # its wait is over, or `hurry`
        held = self.take(key)
        if held is not None:
            self._on_due(key, held)
