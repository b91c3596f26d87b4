"""Times as the headless commands print them: local, truncated to the second, as the TUI's clock
does (`fmt_clock` in ui/view/format.py): an event received at 12:00:00.9 is 12:00:00 in both,
never a second apart.
"""

from __future__ import annotations

import math
import time


def stamp(ts: float) -> str:
    """`2026-11-28 01:02:03`, or `?` for a time this platform cannot show."""
    return _format("%Y-%m-%d %H:%M:%S", ts)


class Stamps:
    """`stamp` of the last second asked for, kept: a burst's events share their second, and
    `localtime` + `strftime` cost more than the rest of a human line."""

    def __init__(self) -> None:
        self._second: float | None = None
        self._text = ""

    def __call__(self, ts: float) -> str:
        try:
            second = math.floor(ts)
        except (OverflowError, ValueError):  # inf, nan: `stamp` says `?`
            return stamp(ts)
        if second != self._second:
            self._second, self._text = second, stamp(ts)
        return self._text


def clock(ts: float) -> str:
    """`01:02:03`, or `?` for a time this platform cannot show."""
    return _format("%H:%M:%S", ts)


def _format(pattern: str, ts: float) -> str:
    try:
        # Truncated to the second explicitly (math.floor), as the TUI's clock does.
        return time.strftime(pattern, time.localtime(math.floor(ts)))
    except (OverflowError, OSError, ValueError):
        return "?"


def replay_words(server_time: float, received_at: float) -> str:
    """What `tail` and `history` say of an event the server replayed after an outage: the
    server's time too, since the row's own is kept inside the outage, which a server clock off
    ours may not be."""
    return f"replayed: server time {clock(server_time)}; received {clock(received_at)}"
