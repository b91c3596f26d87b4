"""The main screen: the panes, the view's state, and the key actions on it.

The view's modes are reactives: the time format, paused, the filter, the hidden event types,
the selected flag, and compact (a narrow terminal). The widgets that show them are bound to them
(`data_bind`); watchers turn them into CSS classes (`-paused`, `-compact`) or push them to the
store and the history pane. The rest of the view's state is plain: the feed's store (the view
model over the monitor's event log), the predicate, the watched flags, environment names.

The screen runs the timers; `MainPainter` (`main_paint.py`) drains the monitor and paints. What
would block the event loop (refiltering a large view, exporting, reading a flag's history,
looking up a value change in the journal) runs in thread workers (`main_jobs.py`). The app owns
the running monitor and hands each new one over (`monitor_started`); the screen reaches the app
only through `ViewHost` (`handle.py`).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Static
from textual.worker import Worker

from togul_monitor.config.profiles import Profile
from togul_monitor.domain.filters import Filter
from togul_monitor.protocol import EVENT_TYPES
from togul_monitor.ui.export import export_path, exported_text, view_export
from togul_monitor.ui.handle import MonitorHandle, ViewHost
from togul_monitor.ui.keymap import main_screen_bindings
from togul_monitor.ui.messages import ExportDone, HistoryLoaded, RefilterDone
from togul_monitor.ui.screens import main_detail, main_jobs
from togul_monitor.ui.screens.main_keys import MainKeys
from togul_monitor.ui.screens.main_pace import PaintPacer
from togul_monitor.ui.screens.main_paint import MainPainter
from togul_monitor.ui.screens.main_support import take_profile
from togul_monitor.ui.session import while_mounted
from togul_monitor.ui.view.feed_predicate import FeedPredicate
from togul_monitor.ui.view.feed_store import FeedStore
from togul_monitor.ui.view.format import next_time_mode
from togul_monitor.ui.view.found import row_flag
from togul_monitor.ui.view.history import HistoryReads
from togul_monitor.ui.view.rows import FeedItem, Row, marker_items, run_boundary
from togul_monitor.ui.widgets.event_feed import EventFeed
from togul_monitor.ui.widgets.filter_bar import FilterBar
from togul_monitor.ui.widgets.history_pane import HistoryPane
from togul_monitor.ui.widgets.notice_panel import NoticePanel
from togul_monitor.ui.widgets.status_bar import StatusBar
from togul_monitor.ui.widgets.values_table import ValuesTable
from togul_monitor.ui.worker_errors import report_worker_error

COMPACT_WIDTH = 100  # below this the panes stack (80×24 terminals)
SYNC_REFILTER_LIMIT = 5_000  # larger stores are refiltered on a worker thread


class MainScreen(Screen[None]):
    """The feed, the values, the selected flag's history, the status bar and the filter bar."""

    BINDINGS = main_screen_bindings()

    # `var`: a change repaints only the widgets bound to it (and what the watchers touch), never
    # the whole screen, whose values table alone is costly to redraw under a fast stream.
    time_mode: var[str] = var("local", init=False)
    paused: var[bool] = var(False, init=False)
    filter: var[Filter] = var(Filter(""), init=False)
    hidden_types: var[frozenset[str]] = var(frozenset(), init=False)
    selected_flag: var[str | None] = var(None, init=False)
    compact: var[bool] = var(False, init=False)

    def __init__(
        self,
        host: ViewHost,
        *,
        clock: Callable[[], float],
        paint_hz: float = 20.0,
        view_size: int = 5_000,
        export_dir: Path | None = None,
        pace_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        profile = host.profile
        self.host = host
        self.clock = clock
        self.export_dir = export_dir
        # One dict, shared by every predicate and the feed: learning an id updates them all.
        self.environment_names: dict[str, str] = dict(profile.environment_names)
        self.predicate = FeedPredicate(environment_names=self.environment_names)
        self.store = FeedStore(
            view_size=view_size, predicate=self.predicate, marker_rows=self._marker_items
        )
        self.watched: set[str] = set(profile.watch)
        self.set_reactive(MainScreen.selected_flag, profile.watch[0] if profile.watch else None)
        self.history = HistoryReads(self.store.answers, self.environment_names)
        self.last_export: Path | None = None
        self._painter: MainPainter | None = None
        # The drains: when the monitor wakes the screen, at most once a frame (main_pace.py).
        self.pacer = PaintPacer(self, self._tick, paint_hz=paint_hz, clock=pace_clock)
        self._keys: MainKeys | None = None

    def _marker_items(self, row: object) -> list[FeedItem]:
        return marker_items(row, self.time_mode, self.clock())

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status").data_bind(
            MainScreen.paused,
            MainScreen.filter,
            MainScreen.hidden_types,
            MainScreen.time_mode,
            narrow=MainScreen.compact,
        )
        yield NoticePanel(id="notice")
        with Horizontal(id="main"):
            with Vertical(id="feed-pane") as feed_pane:
                feed_pane.border_title = "live feed"
                yield EventFeed(self.store, self.clock, id="feed").data_bind(MainScreen.time_mode)
                yield Label("", id="new-count")
            with Vertical(id="side"):
                with Vertical(id="values-pane") as values_pane:
                    values_pane.border_title = "values"
                    yield ValuesTable(self.clock, id="values")
                    yield Static("", id="values-empty")
                yield HistoryPane(self.clock, id="history").data_bind(MainScreen.time_mode)
        yield FilterBar(id="filter-bar")
        yield Footer().data_bind(compact=MainScreen.compact)

    @property
    def painter(self) -> MainPainter:
        """What paints the panes (made once they are composed)."""
        if self._painter is None:
            self._painter = MainPainter(
                self,
                self.host,
                store=self.store,
                environment_names=self.environment_names,
                watched=self.watched,
                history=self.history,
                clock=self.clock,
            )
        return self._painter

    @property
    def keys(self) -> MainKeys:
        """`w`, `t`, `y`, `g`: what reaches past the panes (main_keys.py)."""
        if self._keys is None:
            select = partial(setattr, self, "selected_flag")
            self._keys = MainKeys(self, self.host, self.painter, self.watched, select)
        return self._keys

    @property
    def feed(self) -> EventFeed:
        return self.painter.feed

    @property
    def values_table(self) -> ValuesTable:
        return self.painter.values

    @property
    def history_pane(self) -> HistoryPane:
        return self.painter.history_pane

    def on_mount(self) -> None:
        self.history_pane.border_title = "history"
        self.values_table.set_watched(self.watched)
        self.compact = self.app.size.width < COMPACT_WIDTH
        self.feed.environment_names = self.environment_names
        self.feed.focus()
        self.paint_texts()
        self.pacer.start()
        self.set_interval(1.0, self._every_second, name="ages")
        # Everything alive once the main screen is painted lives as long as the app: out of the
        # collector's reach (support/collector.py; the app unfreezes when it unmounts).
        self.call_after_refresh(gc.freeze)

    def on_resize(self, event: events.Resize) -> None:
        if self.is_mounted:  # on_mount sets it first
            self.compact = event.size.width < COMPACT_WIDTH

    def watch_compact(self, compact: bool) -> None:
        self.set_class(compact, "-compact")
        # ctrl+p still opens it (`?` lists it); recomposed, or its key stays and cuts `q Quit`.
        self.painter.footer.show_command_palette = not compact
        self.painter.footer.refresh(recompose=True)

    def can_paint(self) -> bool:
        return self.is_attached and not self.host.closing

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        """A worker that failed is reported by name (every worker runs exit_on_error=False)."""
        report_worker_error(self, event)

    # -- the monitor (the app hands it over) and the paint loop (main_paint.py) ------------------
    def monitor_started(self, profile: Profile, monitor: MonitorHandle, *, first: bool) -> None:
        """Show `monitor`'s rows: those its journal recorded earlier (marked), then live ones."""
        snapshot, now = monitor.snapshot(), self.clock()
        take_profile(profile, snapshot, self.store.answers, self.environment_names, first)
        boundary = run_boundary(snapshot, self.time_mode, now)
        self.store.attach(monitor, snapshot.feed_start, boundary, snapshot.recorded.found)
        self.painter.started(profile, first=first, selected=self.selected_flag, snapshot=snapshot)
        monitor.enable_drain(self.pacer.wake_threadsafe)  # woken, never polled (main_pace.py)
        self.pacer.wake()
        if not first:
            self.selected_flag = profile.watch[0] if profile.watch else None
        if self.selected_flag is None:  # the history pane shows the latest recorded flag's
            self.selected_flag = self.painter.latest_flag()

    def monitor_failed(self, profile_name: str, error: str) -> None:
        if self.host.monitor is None:  # none runs (not a replaced one failing to stop)
            self.store.answers.stop()  # nothing answers the rows still waiting
            self.feed.relayout()
        self.painter.failed(profile_name, error)

    def switch_started(self) -> None:
        """The app is switching profile: the notice of the old one goes, the bar says so."""
        self.painter.notice.hide_notice()
        self.paint_texts()

    def paint_texts(self) -> None:
        """The status bar and the empty-pane hints, now."""
        self.painter.texts()

    @while_mounted
    def _tick(self) -> None:
        drained = self.painter.tick(self.selected_flag, idle=(idle := self.pacer.idle))
        self.keys.select_followed(self.focused, self.selected_flag, busy=not idle)
        self.pacer.drained(drained, more=self.painter.held)

    @while_mounted
    def _every_second(self) -> None:
        self.painter.every_second(self.time_mode, self.selected_flag, idle=self.pacer.idle)

    def watch_selected_flag(self, flag_key: str | None) -> None:
        self.painter.select(flag_key)

    @on(HistoryLoaded)
    @while_mounted
    def _history_loaded(self, message: HistoryLoaded) -> None:
        self.painter.history_loaded(message, self.selected_flag)

    @on(EventFeed.CursorMoved)
    def _feed_cursor(self, message: EventFeed.CursorMoved) -> None:
        flag = row_flag(message.item) if message.item is not None else None
        if flag is not None:  # an event's row, or a change found on re-evaluation
            self.selected_flag = flag
        self.painter.new_rows()

    @on(DataTable.RowHighlighted, "#values")
    def _values_cursor(self, message: DataTable.RowHighlighted) -> None:
        if self.focused is self.values_table and message.row_key.value is not None:
            self.selected_flag = message.row_key.value

    @on(DataTable.RowSelected, "#values")
    def _values_selected(self, message: DataTable.RowSelected) -> None:
        flag, table = message.row_key.value, self.values_table
        latest = partial(self.keys.latest_event, flag)
        if flag is not None:  # its values whole, `e` there its latest event (main_detail.py)
            main_detail.open_values(self, table, flag, self.time_mode, latest, self._open_detail)

    @on(DataTable.RowSelected, "#history")
    def _history_selected(self) -> None:
        event = self.history_pane.selected_event
        if event is not None:  # as the feed's `enter`; an outage's row has none
            self._open_detail(main_detail.own_row(self.store, event))

    # -- the key actions (keymap.py) ---------------------------------------------------------
    def action_filter_key(self) -> None:  # `/`, a priority binding (MainKeys.filter_key)
        self.keys.filter_key(self.focused, self.action_open_filter)

    def action_open_filter(self) -> None:
        bar = self.query_one(FilterBar)
        bar.input.value = self.filter.text
        bar.open()

    @on(FilterBar.Applied)
    def _filter_applied(self, message: FilterBar.Applied) -> None:
        self.filter = message.filter

    @on(FilterBar.Closed)
    def _filter_closed(self) -> None:
        self.feed.focus()

    def action_toggle_type(self, index: int) -> None:
        event_type = EVENT_TYPES[index]
        self.hidden_types = self.hidden_types ^ {event_type}
        state = "hidden" if event_type in self.hidden_types else "shown"
        self.notify(f"{event_type} events {state}", markup=False)

    def watch_filter(self) -> None:
        self._set_predicate()

    def watch_hidden_types(self) -> None:
        self._set_predicate()

    def _set_predicate(self) -> None:
        """The filter and the hidden types as one predicate, applied to what was received."""
        text_filter = None if self.filter.empty else self.filter
        predicate = FeedPredicate(text_filter, self.hidden_types, self.environment_names)
        self.predicate = predicate
        store = self.store
        if store.position - store.start <= SYNC_REFILTER_LIMIT:
            store.refilter(predicate)
            self.keys.follow(self.focused, self.selected_flag)
        else:
            rows = store.refilter_input()
            job, post = main_jobs.refilter, self.post_message
            # The worker renders markers as the view does now, without reading the screen.
            markers = partial(marker_items, time_mode=self.time_mode, now=self.clock())
            main_jobs.start(self, "refilter", job, post, predicate, *rows, markers)
            self.paint_texts()

    @on(RefilterDone)
    @while_mounted
    def _refilter_done(self, message: RefilterDone) -> None:
        if message.result.predicate is self.predicate:
            self.store.apply_refilter(message.result)
            self.keys.follow(self.focused, self.selected_flag)

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused

    def watch_paused(self, paused: bool) -> None:
        self.set_class(paused, "-paused")
        self.store.set_paused(paused)
        if paused:
            self.painter.new_rows()
            self.paint_texts()
        else:
            self.keys.follow(self.focused, self.selected_flag)

    def action_follow(self) -> None:  # from any pane: the keys then act on the newest row
        self.paused = False
        self.set_focus(self.feed)  # now, not after this key: the newest row's flag is selected
        self.keys.follow(self.focused, self.selected_flag)

    def action_detail(self) -> None:
        item = self.feed.cursor_item
        if item is None:
            self.notify("No event selected.", markup=False)
            return
        self._open_detail(item)

    def _open_detail(self, item: Row) -> None:
        names, mode = self.environment_names, self.time_mode
        main_detail.open_detail(self, self.host, self.store, item, mode, names)

    def action_inventory(self) -> None:
        main_detail.open_inventory(self, self.host, self.store, self.clock, self.keys.jump_to)

    def action_compare(self) -> None:
        main_detail.open_matrix(self, self.host, self.clock)

    def action_coverage(self) -> None:
        self.keys.open_coverage(self.focused, self.selected_flag)

    def action_watch(self) -> None:
        self.keys.toggle_watch(self.focused, self.selected_flag)

    def action_time_format(self) -> None:
        self.time_mode = next_time_mode(self.time_mode)
        self.keys.save_time_mode(lambda: self.time_mode)

    def action_copy(self) -> None:
        self.keys.copy(self.focused)

    def action_jump(self) -> None:
        self.keys.open_jump()

    def action_jump_key(self) -> None:  # `g` / `:`, a priority binding (MainKeys.jump_key)
        self.keys.jump_key(self.focused)

    def action_clear_view(self) -> None:
        self.store.clear_view(self.clock())
        self.painter.follow()  # an empty view, following
        self.notify("View cleared (the event log and journal are kept).", markup=False)

    def action_export(self) -> None:
        path = export_path(self.export_dir, self.host.profile.name, self.clock())
        args = (view_export(self.store), self.predicate, path)
        main_jobs.start(self, "export", main_jobs.export, self.post_message, *args, exclusive=False)

    @on(ExportDone)
    def _export_done(self, message: ExportDone) -> None:
        if message.error is not None or message.path is None:
            self.notify(f"Export failed: {message.error}", severity="error", markup=False)
            return
        self.last_export = message.path
        # The folder on its own line: a long path wraps there rather than mid-name.
        text = f"{exported_text(message.counts)} → {message.path.name}\nin {message.path.parent}"
        self.notify(text, title="exported", markup=False)
