"""Pure formatting for the TUI: times, ages, values, event-type colours.

Everything that turns server data into text goes through `safe_text` first and comes out as
`rich.text.Text` built from plain strings, so a flag key such as `[bold]x[/]` is never markup.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any

from rich.text import Text

from togul_monitor.config.entry import TIME_MODES as CONFIG_TIME_MODES
from togul_monitor.support.text import safe_text

Clock = Callable[[], float]

# One list with the config layer's, which validates `time_mode` in profiles.toml.
TIME_MODES: tuple[str, ...] = CONFIG_TIME_MODES


def next_time_mode(mode: str) -> str:
    """The mode `t` switches to after `mode` (local → UTC → relative → local)."""
    return TIME_MODES[(TIME_MODES.index(mode) + 1) % len(TIME_MODES)]


#: One colour per event type; unknown types are shown dim rather than dropped.
TYPE_STYLES: dict[str, str] = {
    "flag.created": "bold green",
    "flag.updated": "bold cyan",
    "flag.deleted": "bold red",
    "rule.created": "bold magenta",
    "rule.updated": "bold yellow",
    "rule.deleted": "bold bright_red",
}


def type_style(event_type: str) -> str:
    return TYPE_STYLES.get(event_type, "dim")


def fmt_clock(ts: float, mode: str, now: float) -> str:
    """A timestamp as the user asked to see it: local `12:01:03`, UTC `12:01:03Z`, or `5s ago`.

    `?` when the time cannot be shown (see `_strftime`). Truncated to the second, as `tail` and
    `history` print times (cli/render.py): one event never shows a second apart in the two.
    """
    if mode == "relative":
        age = fmt_age(now - ts)
        return "?" if age == "?" else f"{age} ago"
    try:
        whole = math.floor(ts)
    except (OverflowError, ValueError):  # inf, nan
        return "?"
    return _strftime("%H:%M:%SZ" if mode == "utc" else "%H:%M:%S", whole, utc=mode == "utc")


def _strftime(pattern: str, ts: float, *, utc: bool) -> str:
    """`ts` formatted, or `?`: a server timestamp is data, and a finite but huge one (1e300)
    raises OverflowError, a year past 9999 ValueError or OSError, in the time functions."""
    try:
        return time.strftime(pattern, time.gmtime(ts) if utc else time.localtime(ts))
    except (OverflowError, ValueError, OSError):
        return "?"


def fmt_full_time(ts: float, mode: str) -> str:
    """A date and time for detail screens (relative mode still shows the absolute time)."""
    if mode == "utc":
        return _strftime("%Y-%m-%d %H:%M:%SZ", ts, utc=True)
    return _strftime("%Y-%m-%d %H:%M:%S", ts, utc=False)


def fmt_age(seconds: float | None) -> str:
    """A short age: `0s`, `42s`, `3m`, `2h`, `5d`; `-` when unknown, `?` when not finite."""
    if seconds is None:
        return "-"
    if not math.isfinite(seconds):
        return "?"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def fmt_value(value: Any, limit: int = 40) -> str:
    """An evaluated value as one safe line, JSON-spelled (`true`, `"blue"`, `{"a":1}`)."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    text = safe_text(text)
    if len(text) > limit:
        text = text[: max(1, limit - 1)] + "…"
    return text


def plain(s: object) -> Text:
    """Server text as a Text that is never parsed as markup, control characters replaced.

    What a border title, a column label or a Static takes: Textual parses a `str` there as
    markup, where a key `x[/]` raises and `[b]x[/]` loses its brackets."""
    return Text(safe_text(s), no_wrap=True, overflow="ellipsis")


def fmt_lag(lag: float | None) -> str:
    """Whole seconds, `<1s` under one: Togul stamps events in whole seconds, so a measured lag
    is up to a second too long and its tenths mean nothing ("lag 0.8s" would claim a precision
    the server does not give)."""
    if lag is None:
        return "-"
    if not math.isfinite(lag):
        return "?"
    if lag < 1:
        return "<1s"
    return f"{int(lag)}s"
