"""The history of the selected flag: its events (each with its configuration diff under it),
value transitions, outages and the configuration changes re-fetches found, newest first.

The entries come from `Monitor.history()` (the journal), so they survive restarts; the main
screen fetches them on a worker thread once per selected flag, adds the rows that arrive
afterwards in memory (`view/history.py`), and hands the list to `show()`. An event whose
re-evaluation was merged into its flag's next one (a burst) has `evaluated with the next change`
under it, as `history` prints it: by the journal's answers (domain/merged.py), read with the
entries, and for this run's rows by what the feed's row says (view/answers.py). Until the read
answers the pane says it is reading (a large flag's read takes a second or two): "no history"
is the answer of a read that found nothing, never a read still running.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from rich.text import Text
from textual.reactive import reactive
from textual.widgets.data_table import ColumnKey

from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.flag_config import describe
from togul_monitor.domain.history import FoundDiff, HistoryEntry, Replays
from togul_monitor.domain.merged import WITH_NEXT
from togul_monitor.domain.values import ValueTransition
from togul_monitor.support.text import safe_text
from togul_monitor.ui.keymap import pane_binding
from togul_monitor.ui.view.change import change_text
from togul_monitor.ui.view.format import fmt_clock, type_style
from togul_monitor.ui.view.words import wrap_words
from togul_monitor.ui.widgets.lean_table import LeanTable

#: The contexts each event was evaluated with its flag's next change in (domain/merged.py).
Marks = Mapping[FlagEvent, tuple[str, ...]] | None

MAX_ROWS = 200
WHAT = 13  # the what column's width: an event's type, cut to leave a space before the detail
LEAD = 10 + WHAT  # the time and what columns


def entry_cells(
    entry: object,
    time_mode: str,
    now: float,
    room: int = 0,
    *,
    contexts: bool = False,
    happened: float | None = None,
) -> tuple[Text, Text, Text]:
    """The row of one history entry; its detail is cut to `room` cells (0: whole), with `…`.
    `contexts`: the profile evaluates for several, a value change names its context.
    `happened`: an event the server replayed after an outage, when it happened
    (domain/history.py `Replays.happened_at`): it is dated so, as the pane is ordered."""
    if isinstance(entry, FlagEvent):
        when, what, detail = _event_cells(entry, time_mode, now, happened=happened)
    else:
        when, what, detail = _cells(entry, time_mode, now, room, contexts)
    if room > 0:
        detail.truncate(room, overflow="ellipsis")
    return when, what, detail


def _cells(
    entry: object, time_mode: str, now: float, room: int, contexts: bool = False
) -> tuple[Text, Text, Text]:
    if isinstance(entry, ValueTransition):
        when = fmt_clock(entry.at, time_mode, now)
        return (
            Text(when, style="dim"),
            Text("value", style="bold"),
            change_text(entry, room, entry.context if contexts else ""),
        )
    if isinstance(entry, FoundDiff):  # its changes follow, a line each (`redraw`)
        when = fmt_clock(entry.at, time_mode, now)
        said = Text("found on a re-fetch", style="dim")
        return Text(when, style="dim"), Text("config", style="cyan"), said
    if isinstance(entry, Outage):
        when = fmt_clock(entry.started_at, time_mode, now)
        until = fmt_clock(entry.ended_at, time_mode, now)
        note = "may miss changes" if entry.may_have_missed else "complete"
        if entry.proven_at is not None:
            note = "complete (proved by the next event)"
        return (
            Text(when, style="dim"),
            Text("outage", style="yellow"),
            Text(f"→ {until}, {note}", style="yellow"),  # the time column has the start
        )
    return Text(""), Text("?"), Text(safe_text(repr(entry)))


def _event_cells(
    entry: FlagEvent, time_mode: str, now: float, *, happened: float | None = None
) -> tuple[Text, Text, Text]:
    when = fmt_clock(entry.received_at if happened is None else happened, time_mode, now)
    detail = Text()  # not the whole detail's style: a replay's note is yellow, not dim
    detail.append(f"v{entry.version}", style="dim")
    if entry.event_id:
        detail.append(f"  id {safe_text(entry.event_id)}", style="dim")
    if happened is not None:  # it came in after the outage; the server's clock may be off ours
        server = fmt_clock(entry.timestamp, time_mode, now)
        received = fmt_clock(entry.received_at, time_mode, now)
        detail.append(f"  replayed, server {server}, received {received}", style="yellow")
    what = Text(safe_text(entry.type), type_style(entry.type))
    what.truncate(WHAT - 1, overflow="ellipsis")  # an unknown type may be of any length
    return Text(when, style="dim"), what, detail


def merged_cells(contexts: Sequence[str], every: Sequence[str] = ()) -> tuple[Text, Text, Text]:
    """The line under an event evaluated with its flag's next change in `contexts`: named when
    the profile has several (`every`) and they are not all of them, as `history` names them."""
    detail = Text("")
    if len(every) > 1 and not set(every).issubset(contexts):
        detail.append(f"[{', '.join(safe_text(name) for name in contexts)}] ", style="italic")
    detail.append(WITH_NEXT, style="dim")
    return Text(""), Text("  value", style="dim"), detail


def diff_cells(line: str, room: int, *, first: bool) -> list[tuple[Text, Text, Text]]:
    """One line of an event's configuration diff (already plain text), under the event: wrapped
    to the pane rather than cut, since a diff line is read whole."""
    parts = wrap_words(line, room) or [""]
    what = Text("  config" if first else "", style="dim cyan")
    return [
        (Text(""), what if number == 0 else Text(""), Text(part, style="cyan"))
        for number, part in enumerate(parts)
    ]


class HistoryPane(LeanTable):
    """A read-only table of one flag's history."""

    # DataTable's `end` scrolled sideways; ctrl+end goes to the last row.
    BINDINGS = [pane_binding("follow", "screen.follow")]

    time_mode: reactive[str] = reactive("local", init=False)  # bound to the main screen's

    def __init__(self, clock: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", show_cursor=False, cell_padding=0)
        self.clock = clock
        self.flag_key: str | None = None
        self.entries: list[HistoryEntry] = []
        # What an event changed in the flag's configuration, a line each, shown under it (the
        # painter hands the feed store's `diffs.lines_for`).
        self.diff_lines: Callable[[FlagEvent], Sequence[str]] = lambda event: ()
        # The contexts an event was evaluated with its flag's next change in: the journal's
        # answers, read with the entries (`show`), else this run's feed row's (the painter's).
        self.read_with_next: Mapping[FlagEvent, tuple[str, ...]] = {}
        self.live_with_next: Callable[[FlagEvent], tuple[str, ...]] = lambda event: ()
        self._row_entries: list[int] = []  # table row → index in `entries`
        self.contexts: tuple[str, ...] = ()  # the profile's: value changes name several
        self._drawn = 0  # entries drawn (the first ones, unless the pane has focus)
        self.reading = False  # the journal read of the flag's history has not answered yet

    def on_mount(self) -> None:
        self.add_column("time", key="time", width=10)
        self.add_column("what", key="what", width=WHAT)
        self.add_column("detail", key="detail")

    def on_focus(self) -> None:
        self.show_cursor = True  # focused (tab), a row can be chosen: `y` copies it
        if len(self.entries) > self._drawn:
            self.redraw()  # every entry, to move through

    def on_blur(self) -> None:
        self.show_cursor = False

    @property
    def selected_entry(self) -> HistoryEntry | None:
        """The entry under the cursor (None when the pane shows none); a diff line's is the
        event it belongs to."""
        if 0 <= self.cursor_row < len(self._row_entries):
            return self.entries[self._row_entries[self.cursor_row]]
        return None

    def watch_time_mode(self) -> None:
        if self.columns:  # mounted: the columns exist
            self.redraw()

    def on_resize(self) -> None:
        if self.columns:
            self.redraw()  # value changes are cut to the pane's width

    @property
    def name_contexts(self) -> bool:
        """The profile evaluates for several contexts: a value change names its context."""
        return len(self.contexts) > 1

    def with_next(self, event: FlagEvent) -> tuple[str, ...]:
        return self.read_with_next.get(event) or self.live_with_next(event)

    def show(
        self,
        flag_key: str | None,
        entries: Sequence[HistoryEntry],
        *,
        reading: bool = False,
        with_next: Mapping[FlagEvent, tuple[str, ...]] | None = None,
    ) -> None:
        """`with_next`: the journal's answers of a read's entries (None: those of the last read
        of this flag stand)."""
        if with_next is not None:
            self.read_with_next = with_next
        elif reading or flag_key != self.flag_key:
            self.read_with_next = {}
        self.flag_key = flag_key
        self.reading = reading
        self.entries = list(entries[:MAX_ROWS])
        self.redraw()

    def redraw(self) -> None:
        now = self.clock()
        self.clear()
        if self.flag_key is None:
            self.border_title = "history"
            return
        self.border_title = Text("history: ").append(safe_text(self.flag_key), style="bold")
        room = max(4, self.size.width - 1 - LEAD)  # cut with `…` within the pane
        rows: list[tuple[Text, Text, Text]] = []
        self._row_entries = []
        # Unfocused, the pane shows its first lines only: drawing those is enough, and keeps a
        # redraw (a key that changes the time format, a burst of the flag's events) cheap.
        entries = self.entries if self.has_focus else self.entries[: max(8, self.size.height)]
        self._drawn = len(entries)
        replays = Replays(self.entries)
        for index, entry in enumerate(entries):
            happened = replays.happened_at(entry)
            cells = entry_cells(
                entry, self.time_mode, now, room, contexts=self.name_contexts, happened=happened
            )
            rows.append(cells)
            self._row_entries.append(index)
            lines: Sequence[str] = ()
            if isinstance(entry, FlagEvent):
                lines = self.diff_lines(entry)
                merged = self.with_next(entry)
                if merged:
                    merged_row = merged_cells(merged, self.contexts)
                    merged_row[2].truncate(room, overflow="ellipsis")
                    rows.append(merged_row)
                    self._row_entries.append(index)
            elif isinstance(entry, FoundDiff):
                lines = describe(entry.diff)
            for number, line in enumerate(lines):
                first = number == 0 and not isinstance(entry, FoundDiff)  # it says `config`
                for cells in diff_cells(line, room, first=first):
                    rows.append(cells)
                    self._row_entries.append(index)
        # The pane is redrawn whole, and DataTable measures an auto-width column only when it
        # is next idle: until then a paint (or a screen pushed on top) shows the column cut at
        # its label's width. Measuring here makes every paint right.
        detail = self.columns[ColumnKey("detail")]
        detail.auto_width = False
        detail.width = max([len("detail"), *(cells[2].cell_len for cells in rows)])
        detail.width = min(detail.width, room)  # no sideways scrolling: a cut says `…`
        if rows:
            self.add_rows(rows)
        else:
            said = "reading…" if self.reading else "no history"
            self.add_row(Text(""), Text(said, style="dim"), Text(""))
