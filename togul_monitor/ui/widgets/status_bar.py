"""The status bar: profile, environment, connection, rate sparkline, heartbeat age, lag, counts.

It renders a plain `Text` built from parts, so profile names and server error messages are
shown literally. The app refreshes it a few times a second from `MonitorThread.snapshot()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from togul_monitor.domain.events import ConnectionState
from togul_monitor.support.text import safe_text
from togul_monitor.ui.view.format import fmt_age, fmt_lag

BARS = "▁▂▃▄▅▆▇█"

STATE_STYLES = {
    ConnectionState.CONNECTING: ("◌ connecting", "yellow"),
    ConnectionState.LIVE: ("● live", "bold green"),
    ConnectionState.RETRYING: ("◌ retrying", "bold yellow"),
    ConnectionState.STOPPED: ("■ stopped", "bold red"),
}


def sparkline(buckets: Sequence[int], width: int = 12) -> str:
    values = list(buckets)[-width:]
    if not values:
        return " " * width
    top = max(values) or 1
    line = "".join(BARS[min(7, (v * 7 + top - 1) // top)] if v else " " for v in values)
    return line.rjust(width)


@dataclass
class StatusInfo:
    """Everything the bar shows; the app fills it from the snapshot and the view state."""

    profile: str = ""
    environment: str = ""
    state: ConnectionState = ConnectionState.CONNECTING
    retry_in: float | None = None
    error: str | None = None
    rate: Sequence[int] = ()
    heartbeat_age: float | None = None
    lag: float | None = None
    malformed: int = 0
    duplicates: int = 0
    trimmed: int = 0
    dropped: int = 0
    filtered: int = 0
    shown: int = 0
    paused: bool = False
    pending: int = 0
    filter_text: str = ""
    hidden_types: int = 0
    time_mode: str = "local"
    switching: bool = False


def render_status(info: StatusInfo, narrow: bool = False) -> Text:
    """Two lines: who/where/state/modes, then rates and counts (short labels when narrow)."""
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(" ")
    line.append(safe_text(info.profile), style="bold")
    line.append(" / ", style="dim")
    line.append(safe_text(info.environment or "all environments"))
    line.append("  ")
    if info.switching:
        line.append("⇄ switching profile…", style="bold yellow")
    else:
        label, style = STATE_STYLES[info.state]
        line.append(label, style=style)
        if info.state is ConnectionState.RETRYING and info.retry_in is not None:
            line.append(f" in {max(0.0, info.retry_in):.0f}s", style="yellow")
        if info.error and info.state in (ConnectionState.RETRYING, ConnectionState.STOPPED):
            line.append(f" ({safe_text(info.error)[:48]})", style="dim")
    if info.paused:
        line.append("  ❚❚ PAUSED", style="bold reverse yellow")
        line.append(f" +{info.pending} new", style="yellow")
    if info.filter_text:
        line.append("  filter: ", style="dim")
        line.append(safe_text(info.filter_text), style="cyan")
    if info.hidden_types:
        line.append(f"  {info.hidden_types} type(s) hidden", style="cyan")
    line.append(f"  time {info.time_mode}", style="dim")
    line.append("\n ")
    rate_now = info.rate[-1] if info.rate else 0
    line.append(sparkline(info.rate, 8 if narrow else 12), style="green")
    line.append(f" {rate_now}/s", style="bold")
    line.append("  hb ", style="dim")
    line.append(fmt_age(info.heartbeat_age))
    line.append("  lag ", style="dim")
    line.append(fmt_lag(info.lag))
    line.append(" shown " if narrow else "  shown ", style="dim")
    line.append(str(info.shown))
    counts = (
        ("filtered", "filt", info.filtered, "cyan"),
        ("trimmed", "trim", info.trimmed, "yellow"),
        ("malformed", "bad", info.malformed, "red"),
        ("dup", "dup", info.duplicates, "yellow"),
        ("dropped", "drop", info.dropped, "red"),
    )
    for name, short, count, style in counts:
        line.append(f" {short} " if narrow else f"  {name} ", style="dim")
        line.append(str(count), style=style if count else "")
    return line


class StatusBar(Static):
    # Each of the two lines is cut with an ellipsis, never wrapped: a long filter or error on the
    # first line would otherwise push the counts (malformed, dropped...) off the bar.
    DEFAULT_CSS = """
    StatusBar { height: 2; background: $panel; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    narrow = False

    def show(self, info: StatusInfo) -> None:
        self.update(render_status(info, self.narrow))
