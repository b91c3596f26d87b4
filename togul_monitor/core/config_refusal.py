"""Whether the server refuses the token the flags' configurations are read with (core/configs.py).

A 401 or 403 halts the fetches: asking again would only be refused, so nothing is asked until a
re-fetch of everything (after an outage, `R` among them) tries once more. The stop is said once,
with when it began and how to fix it (`ConfigsStopped`: `tail` prints it, the TUI's status bar
and inventory show it while it lasts), and it lasts until the server answers again: a retry
refused once more is the same stop, not a new one.
"""

from __future__ import annotations

from collections.abc import Callable

from togul_monitor.core.updates import ConfigsStopped, MonitorUpdate


class Refusal:
    def __init__(self, publish: Callable[[MonitorUpdate], None], clock: Callable[[], float]):
        self._publish = publish
        self._clock = clock
        self.halted = False  # nothing is asked until a re-fetch of everything tries again
        self.stopped: ConfigsStopped | None = None  # since the first refusal, until an answer
        # What to tell the user (client/tokens.py `rejection_hint`: when the token expired, how
        # to log in again), read when the refusal comes.
        self.hint: Callable[[], str] = lambda: ""

    def halt(self, error: str) -> None:
        if self.stopped is None:
            self.stopped = ConfigsStopped(error, self.hint(), self._clock())
            self._publish(self.stopped)
        self.halted = True

    def served(self) -> bool:
        """The server answered a request with the token: True when that ends a stop (diffs are
        followed again)."""
        if self.stopped is None or self.halted:
            return False
        self.stopped = None
        return True
