"""Times as the headless commands print them (local time), shared by `tail` and `history`."""

from __future__ import annotations

import time


def stamp(ts: float) -> str:
    """`2026-11-28 01:02:03`, or `?` for a time this platform cannot show."""
    return _format("%Y-%m-%d %H:%M:%S", ts)


def clock(ts: float) -> str:
    """`01:02:03`, or `?` for a time this platform cannot show."""
    return _format("%H:%M:%S", ts)


def _format(pattern: str, ts: float) -> str:
    try:
        return time.strftime(pattern, time.localtime(ts))
    except (OverflowError, OSError, ValueError):
        return "?"
