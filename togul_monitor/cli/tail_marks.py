"""What `tail`'s text lines say about an event besides the event itself (cli/render.py
`TailPrinter`), where the event line is printed: an event the server replayed after an outage
(the rule `history` uses: domain/history.py `Replays`) gets a line under it,
`  ↳ replayed: server time 12:00:01; received 12:00:09`: its line's time is when it was
received, after the outage it happened in.

Text output only: `--json` has both times of every event, and its per-event path does no more
than it did (cli/tail_output.py). An event is looked at here only while a replay's window is
open.
"""

from __future__ import annotations

from collections.abc import Callable

from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.history import REPLAY_WINDOW, Replays


class ReplayMarks:
    """The replay after the last outage the server replayed events for: its events, received
    within REPLAY_WINDOW of the outage's decision, are marked. `clock`: a time as `12:00:01`."""

    def __init__(self, clock: Callable[[float], str]) -> None:
        self._clock = clock
        self._replays: Replays | None = None
        self.until = -1.0  # received after this, an event is live: nothing to look at

    def outage(self, outage: Outage) -> None:
        if outage.replayed:
            self._replays = Replays([outage])
            self.until = outage.received_at + REPLAY_WINDOW

    def line(self, event: FlagEvent) -> str | None:
        """The line under a replayed `event` (`history`'s note, cli/history_lines.py); None
        for any other."""
        if self._replays is None:
            return None
        if event.received_at > self.until:
            self._replays, self.until = None, -1.0  # the window is over
            return None
        if self._replays.happened_at(event) is None:
            return None
        server, received = self._clock(event.timestamp), self._clock(event.received_at)
        return f"  ↳ replayed: server time {server}; received {received}"
