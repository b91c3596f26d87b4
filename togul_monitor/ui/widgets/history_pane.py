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

A row is its time, then what it is (an event's type, `value`, `outage`...) and its detail in
one column. The details line up after the widest what of all the entries, on screen or not
(they stay put when the focused pane draws them all), while they fit; a detail that would be
cut there starts right after its own what instead (the padding gives way before a value change
or its context's name is cut). `enter` opens the detail of the row's event, as the feed's
`enter` does: an event's row, its diff's and merged lines', and a value change's, by the event
the merge tied it to (domain/history.py `merge_tied`: of the profile's environment, as the
journal's readers tie it, domain/change_owners.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial

import msgspec
from rich.cells import cell_len
from rich.text import Text
from textual.reactive import reactive
from textual.widgets.data_table import ColumnKey

from togul_monitor.domain.change_owners import ChangeOwners
from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.flag_config import describe
from togul_monitor.domain.history import FoundDiff, HistoryEntry, Replays, history_owners
from togul_monitor.domain.merged import WITH_NEXT
from togul_monitor.domain.values import ValueTransition
from togul_monitor.support.text import safe_text
from togul_monitor.ui.keymap import pane_binding
from togul_monitor.ui.view.change import change_text
from togul_monitor.ui.view.feed_layout import time_width
from togul_monitor.ui.view.format import fmt_clock, type_style
from togul_monitor.ui.view.words import wrap_words
from togul_monitor.ui.widgets.lean_table import LeanTable

#: The contexts each event was evaluated with its flag's next change in (domain/merged.py).
Marks = Mapping[FlagEvent, tuple[str, ...]] | None

MAX_ROWS = 200
WHAT = 13  # the most cells a row's what takes: an event's type, cut to leave a space after it
# What a row of each kind is, but an event's (its type).
WHATS: dict[type, str] = {ValueTransition: "value", FoundDiff: "config", Outage: "outage"}
UNDER = 8  # the widest what of the lines under an event: `  config`, `  value`


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
            Text(WHATS[ValueTransition], style="bold"),
            change_text(entry, room, entry.context if contexts else ""),
        )
    if isinstance(entry, FoundDiff):  # its changes follow, a line each (`redraw`)
        when = fmt_clock(entry.at, time_mode, now)
        said = Text("found on a re-fetch", style="dim")
        return Text(when, style="dim"), Text(WHATS[FoundDiff], style="cyan"), said
    if isinstance(entry, Outage):
        when = fmt_clock(entry.started_at, time_mode, now)
        until = fmt_clock(entry.ended_at, time_mode, now)
        note = "may miss changes" if entry.may_have_missed else "complete"
        if entry.proven_at is not None:
            note = "complete (proved by the next event)"
        return (
            Text(when, style="dim"),
            Text(WHATS[Outage], style="yellow"),
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


def what_cells(entries: Sequence[HistoryEntry]) -> int:
    """The widest what of `entries`' rows and the lines under them, as `entry_cells` and
    `_Line`s say them: an event's type (cut to `WHAT` - 1), at least `UNDER` for the lines an
    event may have under it."""
    kinds = {type(entry) for entry in entries}
    widest = max((len(WHATS.get(kind, "?")) for kind in kinds), default=0)
    types = {entry.type for entry in entries if isinstance(entry, FlagEvent)}
    if types:
        cut = (min(WHAT - 1, cell_len(safe_text(kind))) for kind in types)
        widest = max(widest, UNDER, *cut)
    return widest


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


class _Line(msgspec.Struct, frozen=True):
    """A table row before its detail is fitted: `fit(room)` is its detail in `room` cells (0:
    whole); a diff line (`wrap`) is wrapped to the room instead, a row for each part."""

    entry: int  # index in the pane's entries
    when: Text
    what: Text
    fit: Callable[[int], Text]
    wrap: str | None = None
    first: bool = False  # a diff's first line (it says `config`)


def pane_line(what: Text, pad: int, detail: Text) -> Text:
    """`what`, padded to `pad` cells, then `detail`."""
    line = Text(no_wrap=True)
    line.append_text(what)
    line.append(" " * max(1, pad - what.cell_len))
    line.append_text(detail)
    return line


def _change_fit(
    transition: ValueTransition, time_mode: str, now: float, contexts: bool, room: int
) -> Text:
    return entry_cells(transition, time_mode, now, room, contexts=contexts)[2]


def _cut(detail: Text) -> Callable[[int], Text]:
    def fit(room: int) -> Text:
        cut = detail.copy()
        if room > 0:
            cut.truncate(room, overflow="ellipsis")
        return cut

    return fit


class HistoryPane(LeanTable):
    """A read-only table of one flag's history."""

    # DataTable's `enter` selects the row, which the main screen opens as the feed's `enter`
    # does (the same id: a remapped detail key does it too); its `end` scrolled sideways.
    BINDINGS = [
        pane_binding("detail", "select_cursor", "The detail of the row's event"),
        pane_binding("follow", "screen.follow"),
    ]

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
        self._owners: ChangeOwners | None = None  # the events the merge tied the changes to
        self.contexts: tuple[str, ...] = ()  # the profile's: value changes name several
        self._drawn = 0  # entries drawn (the first ones, unless the pane has focus)
        self._whats = 0  # the widest what of every entry's rows, drawn or not (`what_cells`)
        self.reading = False  # the journal read of the flag's history has not answered yet

    def on_mount(self) -> None:
        self.add_column("time", key="time", width=time_width(self.time_mode) + 1)
        self.add_column("what", key="entry")

    def on_focus(self) -> None:
        self.show_cursor = True  # focused (tab), a row can be chosen: `y` copies it
        if len(self.entries) > self._drawn:
            # Every entry, to move through, once Textual has set `has_focus` (after this).
            self.call_later(self.redraw)

    def on_blur(self) -> None:
        self.show_cursor = False

    @property
    def selected_entry(self) -> HistoryEntry | None:
        """The entry under the cursor (None when the pane shows none); a diff line's is the
        event it belongs to."""
        if 0 <= self.cursor_row < len(self._row_entries):
            return self.entries[self._row_entries[self.cursor_row]]
        return None

    @property
    def selected_event(self) -> FlagEvent | None:
        """The event of the entry under the cursor: the event itself, or the one a value change
        belongs to among the pane's events (None: an outage, a change no event explains)."""
        entry = self.selected_entry
        if isinstance(entry, FlagEvent):
            return entry
        if not isinstance(entry, ValueTransition):
            return None
        owners = self._owners
        if owners is None:  # entries shown unmerged: tied among them, of any environment
            owners = history_owners([self.entries])
        return owners.owner(entry)

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
        owners: ChangeOwners | None = None,
        *,
        reading: bool = False,
        with_next: Mapping[FlagEvent, tuple[str, ...]] | None = None,
    ) -> None:
        """`owners`: the events the merge of `entries` tied their value changes to
        (view/history.py `merged`); `with_next`: the journal's answers of a read's entries
        (None: those of the last read of this flag stand)."""
        if with_next is not None:
            self.read_with_next = with_next
        elif reading or flag_key != self.flag_key:
            self.read_with_next = {}
        self.flag_key = flag_key
        self.reading = reading
        self.entries = list(entries[:MAX_ROWS])
        self._owners = owners
        self._whats = what_cells(self.entries)
        self.redraw()

    def redraw(self) -> None:
        self.clear()
        if self.flag_key is None:
            self.border_title = "history"
            return
        self.border_title = Text("history: ").append(safe_text(self.flag_key), style="bold")
        stamp = time_width(self.time_mode) + 1
        room = max(4, self.size.width - 1 - stamp)  # the what and the detail, within the pane
        lines = self._lines()
        # The details line up after the widest what (and a space), as long as they fit there:
        # of every entry, so that they stay when the pane draws more of them (focused).
        pad = min(WHAT, 1 + max(len("what"), self._whats))
        rows: list[tuple[Text, Text]] = []
        self._row_entries = []
        for line in lines:
            if line.wrap is not None:
                for _, what, part in diff_cells(line.wrap, max(4, room - pad), first=line.first):
                    rows.append((line.when, pane_line(what, pad, part)))
                    self._row_entries.append(line.entry)
                continue
            detail, own = line.fit(0), pad
            if detail.cell_len > room - pad:  # cut there: the padding gives way first
                own = min(pad, line.what.cell_len + 1)
                detail = line.fit(max(4, room - own))
            rows.append((line.when, pane_line(line.what, own, detail)))
            self._row_entries.append(line.entry)
        # The pane is redrawn whole, and DataTable measures an auto-width column only when it
        # is next idle: until then a paint (or a screen pushed on top) shows the column cut at
        # its label's width. Measuring here makes every paint right.
        self.columns[ColumnKey("time")].width = stamp
        column = self.columns[ColumnKey("entry")]
        column.label = Text("what".ljust(pad) + "detail")
        column.auto_width = False
        # No sideways scrolling: a cut says `…`. The pane's width whatever it holds: a new
        # width of the table would lay the whole screen out again (ui/widgets/scroll_size.py).
        column.width = room
        if rows:
            self.add_rows(rows)
        else:
            said = "reading…" if self.reading else "no history"
            self.add_row(Text(""), Text(said, style="dim"))

    def _lines(self) -> list[_Line]:
        """The rows of the entries drawn, before their details are fitted."""
        now, mode, contexts = self.clock(), self.time_mode, self.name_contexts
        # Unfocused, the pane shows its first lines only: drawing those is enough, and keeps a
        # redraw (a key that changes the time format, a burst of the flag's events) cheap.
        entries = self.entries if self.has_focus else self.entries[: max(8, self.size.height)]
        self._drawn = len(entries)
        replays = Replays(self.entries)
        lines: list[_Line] = []
        for index, entry in enumerate(entries):
            happened = replays.happened_at(entry)
            when, what, detail = entry_cells(entry, mode, now, contexts=contexts, happened=happened)
            fit = _cut(detail)
            if isinstance(entry, ValueTransition):  # fitted as the feed fits one (view/change.py)
                fit = partial(_change_fit, entry, mode, now, contexts)
            lines.append(_Line(index, when, what, fit))
            diff: Sequence[str] = ()
            if isinstance(entry, FlagEvent):
                diff = self.diff_lines(entry)
                merged = self.with_next(entry)
                if merged:
                    _, label, said = merged_cells(merged, self.contexts)
                    lines.append(_Line(index, Text(""), label, _cut(said)))
            elif isinstance(entry, FoundDiff):
                diff = describe(entry.diff)
            for number, text in enumerate(diff):
                first = number == 0 and not isinstance(entry, FoundDiff)  # it says `config`
                what = Text("  config" if first else "", style="dim cyan")
                lines.append(_Line(index, Text(""), what, _cut(Text()), text, first))
        return lines
