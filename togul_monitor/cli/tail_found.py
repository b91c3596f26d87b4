"""`tail`'s lines of changes found after a reconnect, held until the outage is printed.

Once a lost stream is back, the monitor asks every value and configuration again at once
(core/stream_effects.py), while the stream client decides the outage only with the first event
or heartbeat of the new connection, or DECISION_DELAY (a second) after it went LIVE on a quiet
stream (client/outages.py). The changes those answers find, which no event explains (a value
line `[found on re-evaluation]` or a first value, a diff `[found on a re-fetch]`; with `--json`
their lines that name no event), would reach the output before the outage that explains them
and ended before they were found. The feed, `history` and the exports place an outage where it
ended (domain/events.py `outage_time`), what was found after the reconnect after it; so does
`tail`: from a LIVE status that an outage follows until that outage, the lines of found changes
are held (`take`), and printed right after the outage's lines. What is held is the update, not
its line: the line is made when it is printed (the printer's `release_found`), so it reads as
what it is where it lands. The outage it waited for may change those words: one that resumed
after an event's id says the stream sends ids (cli/render.py `ids_seen`), and a value change no
event explains then reads `[found on re-evaluation]`, as one found a moment after the outage does.

Which LIVE an outage follows is read from the statuses, as the client decides it: the one after
a live connection was lost (a RETRYING or CONNECTING status after LIVE, a restart's included),
and a run's first when it resumes an earlier run's stream (`due` at the start: the monitor's
snapshot says `resumed`). Lost again before the outage came, the client keeps the same outage
for the next LIVE: what was found meanwhile is inside its window, before it, and is printed then.

Bounded: the lines wait HOLD_SECONDS at most, the client's decision and a margin for the drain
and a recording tail's journal commit (cli/tail_record.py) to hand the outage over; then they are
printed without it (cli/tail_loop.py reads with that timeout). Nothing else is held: events are
what decides the outage, they come after it, and a value line tied to an event follows its
event as always. The stream's items reach the printer in order, committed first or not, so the
order holds in a recording tail too. At any end (`--count`, a stop, Ctrl-C) what is held is
printed (`release`), in order, before what is said about the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from togul_monitor.client.outages import DECISION_DELAY
from togul_monitor.domain.events import ConnectionState

#: Seconds a found line waits for its outage at most, from the LIVE status the tail was given.
HOLD_SECONDS = DECISION_DELAY + 0.25


#: A held update: prints its lines when called (cli/render.py).
Held = Callable[[], None]


class FoundHold:
    """The found changes held while an outage is being decided; see the module's docstring."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock  # the loop's clock (asyncio's is time.monotonic)
        self.due = False  # the next LIVE status is followed by an outage
        self._live = False  # the last status said LIVE
        self.until: float | None = None  # holding: when to let go, on `_clock`
        self._held: list[Held] = []

    def status(self, state: ConnectionState) -> list[Held]:
        """A status came (before its own line is said): what is held, to print now."""
        if state is ConnectionState.LIVE:
            if self.due:
                self.until = self._clock() + HOLD_SECONDS
            self.due, self._live = False, True
            return []
        # Lost, or lost again while its outage was being decided: it follows the next LIVE.
        self.due = self.due or self._live or self.until is not None
        self._live = False
        return self.release()

    @property
    def holding(self) -> bool:
        """An outage is being decided: what is found now waits for it."""
        return self.until is not None

    def print_or_hold(self, found: bool, update: Held) -> None:
        """Print `update` (what prints a change's lines) now; or, when it is a change `found`
        (no event explains it) while an outage is being decided, hold it until `release`."""
        if found and self.holding:
            self._held.append(update)
        else:
            update()

    @property
    def held(self) -> int:
        return len(self._held)

    def left(self) -> float | None:
        """Seconds left to hold (None: nothing is being decided)."""
        return None if self.until is None else self.until - self._clock()

    def overdue(self) -> bool:
        return self.until is not None and self._clock() >= self.until

    def release(self) -> list[Held]:
        """Stop holding (the outage came, or its time is up): what was held, oldest first."""
        self.until = None
        held, self._held = self._held, []
        return held
