"""The status bar: profile, environment, connection, rate sparkline, heartbeat age, lag, counts,
and a third line, only when there is something to say: not recording, journal problems, values
not evaluated (`view/status.py` builds what it shows, and where each note comes from), led by the
stream's error when the first line cannot hold it whole. On a short first line the time format
gives way first, then the profile's name (cut with `…`, to `MIN_NAME`), so that the state and
the modes that say what the feed shows (PAUSED, the filter) stay where the state and its error
leave room for them (a long state still cuts them; an error too long for the line takes the
third).

It renders a plain `Text` built from parts, so profile names and server error messages are
shown literally. The main screen sets `info` a few times a second from the monitor's snapshot;
the view's modes (paused, filter, hidden types, time format, narrow) are bound to the screen's
reactives, so the bar repaints as soon as one changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from msgspec.structs import replace
from rich.cells import cell_len
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from togul_monitor.domain.events import ConnectionState
from togul_monitor.domain.filters import Filter
from togul_monitor.protocol import EVENT_TYPES
from togul_monitor.support.text import safe_text
from togul_monitor.ui.view.format import fmt_age, fmt_lag
from togul_monitor.ui.view.status import Note, StatusInfo, hidden_label, paused_label
from togul_monitor.ui.view.words import fit_words

__all__ = ["StatusBar", "fit_words", "render_status"]

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


def render_notes(notes: Sequence[Note], narrow: bool) -> Text:
    line = Text(" ")
    for index, note in enumerate(notes):
        if index:
            line.append("  ")
        line.append(safe_text(note.short if narrow else note.text), style=note.style)
    return line


#: The cells `_below` counts for the state, whatever it is now: a retry's with a one-digit
#: countdown. The error then keeps its place through a reconnect cycle, as the countdown ticks
#: (`in 10s`, `in 9s`) and an attempt (`◌ connecting`) comes between two failures.
STATE_CELLS = cell_len("◌ retrying in 9s")
#: What the last attempt's error is said with while the stream connects again.
LAST_ATTEMPT = "last attempt: "
MIN_NAME = 8  # cells a cut profile name keeps, its `…` included


class _Head(NamedTuple):
    line: Text  # the first line's start: who, where, the state
    start: int  # its cells before the state
    error: Text | None  # the stream's error, if the bar shows one
    reason: str | None  # its words that must read whole (the error's `reason`)
    mark: Text  # what it is said with: the last attempt's, while connecting again


def _head(info: StatusInfo, narrow: bool, cut: int = 0) -> _Head:
    """The first line's start (who, where, the state) and the stream's error, if it shows one:
    while retrying or stopped, or the last attempt's while the stream connects again. `cut`:
    cells the profile's name gives up (with `…`, down to `MIN_NAME`)."""
    line = Text(" ")
    name = Text(safe_text(info.profile), style="bold")
    if cut > 0:
        name.truncate(max(MIN_NAME, name.cell_len - cut), overflow="ellipsis")
    line.append_text(name)
    line.append(" / ", style="dim")
    line.append(safe_text(info.environment or "all environments"))
    if info.environment and not info.environment_verified:
        # The profile's name for it, which nothing could check: never vouched for.
        line.append("?" if narrow else " (not verified)", style="bold yellow")
    line.append("  ")
    start, error, reason, mark = line.cell_len, None, None, Text()
    if info.switching:
        line.append("⇄ switching profile…", style="bold yellow")
    else:
        label, style = STATE_STYLES[info.state]
        if info.state is ConnectionState.CONNECTING and info.error:
            label = f"◌ {safe_text(info.error.brief)}"  # connected, and why it is not live yet
        line.append(label, style=style)
        if info.silent is not None and info.state is ConnectionState.LIVE:
            # Live, and nothing (not even a heartbeat) for longer than expected: a stall shows
            # before the read timeout calls it one.
            line.append(f" · no data {fmt_age(info.silent)}", style="bold yellow")
        # Not beside the last attempt's error: its reason must read whole.
        waiting = info.no_answer is not None and not info.last_error
        if waiting and info.state is ConnectionState.CONNECTING:
            line.append(f" · no answer {fmt_age(info.no_answer)}", style="bold yellow")
        if info.state is ConnectionState.RETRYING and info.retry_in is not None:
            line.append(f" in {max(0.0, info.retry_in):.0f}s", style="yellow")
        if info.error and info.state in (ConnectionState.RETRYING, ConnectionState.STOPPED):
            error, reason = Text(safe_text(info.error.brief), style="dim"), info.error.reason
        elif info.last_error and info.state is ConnectionState.CONNECTING:
            last = info.last_error
            error, reason = Text(safe_text(last.brief), style="dim"), last.reason
            mark = Text(LAST_ATTEMPT, style="dim")
    return _Head(line, start, error, reason, mark)


def _fitted(head: _Head, modes: Text, info: StatusInfo, narrow: bool, width: int) -> _Head:
    """`head` (the whole name's), whose profile name gives way when the line is short (`width`;
    0: not cut) after the time format: the `modes` after the state (PAUSED, the filter) say
    what the feed shows, and a cut line would lose them first."""
    whole = head.line.cell_len + modes.cell_len
    if width <= 0 or whole <= width:
        return head
    over = whole - cell_len(_time_text(info)) + 1 - width  # 1: the `…` that cuts the time
    return _head(info, narrow, cut=over) if over > 0 else head


def _time_text(info: StatusInfo) -> str:
    return f"  time {info.time_mode}"


def _modes(info: StatusInfo, narrow: bool) -> Text:
    """The view's modes, after the state on the first line; the time format last."""
    modes = Text()
    if info.paused:
        modes.append("  ❚❚ PAUSED", style="bold reverse yellow")
        modes.append(" " + paused_label(info.paused_new, info.pending, narrow), style="yellow")
    if info.filter_text:
        modes.append("  filter: ", style="dim")
        modes.append(safe_text(info.filter_text), style="cyan")
    if info.hidden_types:
        modes.append("  " + hidden_label(info.hidden_types, narrow), style="cyan")
    modes.append(_time_text(info), style="dim")
    return modes


def _alone(line: Text, width: int) -> int:
    """The error's room on the first line once the modes give way: all but its parentheses and
    the `…` that says the modes were cut."""
    return width - line.cell_len - 4


def _below(head: _Head, width: int) -> bool:
    """Whether the error takes the third line, before the notes: one the first line cannot hold
    whole even once the modes give way. A known failure (a reason and the place it names,
    `nothing accepted the connection: 127.0.0.1:9`) only where a line of its own holds it whole
    (else its reason alone stays on the first line); any other, cut there if it must be, rather
    than cut on the first line with the modes (a filter, PAUSED) lost. The state counts as
    `STATE_CELLS`, whichever it is: the bar keeps its height while it reconnects."""
    if head.error is None or width <= 0:
        return False
    if head.error.cell_len <= width - head.start - STATE_CELLS - 4:
        return False
    return head.error.cell_len < width if head.reason else True


def error_below(info: StatusInfo, narrow: bool, width: int) -> bool:
    """Whether `render_status` gives the stream's error a line of its own (the bar's height)."""
    if not (info.error or info.last_error) or info.switching or width <= 0:
        return False
    return _below(_head(info, narrow), width)


def render_status(info: StatusInfo, narrow: bool = False, width: int = 0) -> Text:
    """Two lines: who/where/state/modes, then rates and counts (short labels when narrow); a
    third for the notes. With `width` (0: not cut), the stream's error takes the room the first
    line has left, the modes' too when it needs it, and each line is cut between words with
    `…`; an error the first line cannot hold whole leads the third line (`_below`)."""
    whole, modes = _head(info, narrow), _modes(info, narrow)
    # Decided on the whole name, as `error_below` decides the bar's height: without the modes.
    below = _below(whole, width)
    head = _fitted(whole, modes, info, narrow, width)
    line, error, mark = head.line, head.error, head.mark
    if error is not None and not below:
        # The room the line has left, cut between words: the whole error when it fits, else
        # when the modes give way to it (`alone`). Else its reason alone (`nothing accepted
        # the connection`, without the host), which must read whole: when too little is left,
        # the error goes first and the modes are cut.
        room = width - line.cell_len - modes.cell_len - 3 if width else error.cell_len
        room -= mark.cell_len if width else 0
        alone = _alone(line, width) - mark.cell_len
        reason = head.reason
        if reason and error.cell_len > max(room, alone):
            error = Text(safe_text(reason), style="dim")
        if room < (error.cell_len if reason else min(error.cell_len, 16)):
            room = alone
        line.append(" (", style="dim")
        line.append_text(mark)
        line.append_text(fit_words(error, room))
        line.append(")", style="dim")
    line.append_text(modes)
    counts = Text(" ")
    # The last complete second (domain/rates.py): the sparkline's last bar, not a count still
    # growing.
    rate_now = info.rate[-1] if info.rate else 0
    counts.append(sparkline(info.rate, 8 if narrow else 12), style="green")
    counts.append(f" {rate_now}/s", style="bold")
    counts.append("  hb ", style="dim")
    counts.append(fmt_age(info.heartbeat_age))
    counts.append("  lag ", style="dim")
    counts.append(fmt_lag(info.lag))
    counts.append(" shown " if narrow else "  shown ", style="dim")
    counts.append(str(info.shown))
    for name, short, count, style in (
        ("filtered", "filt", info.filtered, "cyan"),
        ("trimmed", "trim", info.trimmed, "yellow"),
        ("malformed", "bad", info.malformed, "red"),
        ("dup", "dup", info.duplicates, "yellow"),
        ("dropped", "drop", info.dropped, "red"),
    ):
        counts.append(f" {short} " if narrow else f"  {name} ", style="dim")
        counts.append(str(count), style=style if count else "")
    lines = [line, counts]
    if below and error is not None:
        third = Text(" ")
        third.append_text(mark)
        third.append_text(error)
        if info.notes:
            third.append(" ")
            third.append_text(render_notes(info.notes, narrow))
        lines.append(third)
    elif info.notes:
        lines.append(render_notes(info.notes, narrow))
    # Cut between words: a cut note or error should still read as words, and say it is cut.
    return Text("\n", no_wrap=True, overflow="ellipsis").join(fit_words(t, width) for t in lines)


class StatusBar(Widget):
    # Each line is cut with an ellipsis, never wrapped: a long filter or error on the first line
    # would otherwise push the counts (malformed, dropped...) off the bar.
    DEFAULT_CSS = """
    StatusBar {
        height: auto; background: $panel; text-wrap: nowrap; text-overflow: ellipsis;
    }
    """

    info: reactive[StatusInfo] = reactive(StatusInfo, repaint=False)
    narrow: reactive[bool] = reactive(False, layout=True)  # the error may take a line
    # Bound to the main screen's reactives of the same names.
    paused: reactive[bool] = reactive(False)
    filter: reactive[Filter] = reactive(Filter(""))
    hidden_types: reactive[frozenset[str]] = reactive(frozenset())
    time_mode: reactive[str] = reactive("local")

    def watch_info(self, old: StatusInfo, new: StatusInfo) -> None:
        # A new line count changes the bar's height: lay the screen out again only then.
        self.refresh(layout=self._third_line(old) != self._third_line(new))

    def _third_line(self, info: StatusInfo) -> bool:
        return bool(info.notes) or error_below(info, self.narrow, self.size.width)

    def render(self) -> Text:
        info = replace(
            self.info,
            paused=self.paused,
            filter_text=self.filter.text,
            hidden_types=tuple(t for t in EVENT_TYPES if t in self.hidden_types)
            + tuple(sorted(self.hidden_types.difference(EVENT_TYPES))),
            time_mode=self.time_mode,
        )
        return render_status(info, self.narrow, self.size.width)
