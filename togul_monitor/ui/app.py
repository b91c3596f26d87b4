"""The Textual app: wires the panes to one MonitorThread and paints its updates in batches.

All the monitor's work (stream parsing, evaluate calls, journal writes) runs on its own thread.
This app only drains it on a timer (at most `paint_hz` times a second), paints each batch inside
one `batch_update()`, and sends intents (watch, restart) as plain calls. The pieces with one job
each live next to it: `session` (start/stop/switch the monitor on thread workers), `batch` (a
drained batch into the store, sorted for painting), `status_view` (status bar and empty-pane
texts), `actions` (the keys, the base class of this app) and `export`. Reading history (once
per selected flag; rows that arrive later are merged in memory), looking up a value change for
the detail screen, reading the keymap and profiles, refiltering large views and exporting run
in thread workers, so the event loop never blocks; a worker that fails is reported by name
(`worker_errors`).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Label, Static
from textual.worker import Worker

from togul_monitor.config.profiles import Profile
from togul_monitor.core import EvaluatorStatus, MonitorUpdate
from togul_monitor.domain.events import ConnectionState, Outage, Status
from togul_monitor.domain.filters import Filter
from togul_monitor.domain.history import HistoryEntry, merge_history
from togul_monitor.ui.actions import KeyActions
from togul_monitor.ui.commands import TogulCommands
from togul_monitor.ui.handle import MonitorHandle
from togul_monitor.ui.keymap import DEFAULT_KEYS, app_bindings, load_user_keymap
from togul_monitor.ui.messages import HistoryLoaded, MonitorFailed, MonitorReady
from togul_monitor.ui.screens.help import key_label
from togul_monitor.ui.session import (
    Clock,
    MonitorFactory,
    MonitorSession,
    ProfileResolver,
    while_mounted,
)
from togul_monitor.ui.view.batch import Batch, BellLimiter, marker_items, ring_message, take_batch
from togul_monitor.ui.view.feed_store import FeedItem, FeedPredicate, FeedStore, row_event
from togul_monitor.ui.view.status import feed_empty_message, status_info, values_empty_text
from togul_monitor.ui.widgets.event_feed import EventFeed
from togul_monitor.ui.widgets.filter_bar import FilterBar
from togul_monitor.ui.widgets.history_pane import MAX_ROWS, HistoryPane
from togul_monitor.ui.widgets.notice_panel import NoticePanel
from togul_monitor.ui.widgets.status_bar import StatusBar
from togul_monitor.ui.widgets.values_table import ValuesTable
from togul_monitor.ui.worker_errors import report_worker_error

W = TypeVar("W", bound=Widget)

COMPACT_WIDTH = 100  # below this the panes stack (80×24 terminals)
STATUS_EVERY = 5  # status bar and history refresh every N paints (4 Hz at 20 Hz)


class TogulMonitorApp(KeyActions):
    """One profile at a time; `p` switches without leaving the app."""

    CSS_PATH = "app.tcss"
    TITLE = "togul-monitor"
    BINDINGS = app_bindings()
    COMMANDS = App.COMMANDS | {TogulCommands}

    def __init__(
        self,
        profile: Profile,
        *,
        clock: Clock = time.time,
        monitor_factory: MonitorFactory | None = None,
        profile_resolver: ProfileResolver | None = None,
        keymap: dict[str, str] | None = None,
        paint_hz: float = 20.0,
        view_size: int = 5_000,
        export_dir: Path | None = None,
    ) -> None:
        super().__init__()
        self.profile = profile
        self.clock = clock
        self.session = MonitorSession(self, clock, monitor_factory, profile_resolver)
        self.keymap_override = keymap
        self.paint_hz = paint_hz
        self.export_dir = export_dir
        # One dict, shared by every predicate and the feed: learning an id updates them all.
        self.environment_names: dict[str, str] = {}
        self.predicate = FeedPredicate(environment_names=self.environment_names)
        self.store = FeedStore(
            view_size=view_size, predicate=self.predicate, marker_rows=self._marker_items
        )
        self.filter = Filter("")
        self.time_mode = "local"
        self.watched: set[str] = set(profile.watch)
        self.environment_names.update(getattr(profile, "environment_names", {}) or {})
        self.selected_flag: str | None = profile.watch[0] if profile.watch else None
        self.bells = BellLimiter()
        self.status = Status(ConnectionState.CONNECTING, at=clock())
        self.paints = 0
        self._history_dirty = True  # the selected flag's history must be read (once)
        self._history_new: list[HistoryEntry] = []  # arrived since: merged in memory
        # History reads: the latest asked for and the latest answered (equal: the pane is current).
        self.history_requested = 0
        self.history_answered = 0

    @property
    def monitor(self) -> MonitorHandle | None:
        """The running monitor; None before the first start and during a switch."""
        return self.session.monitor

    def _marker_items(self, row: object) -> list[FeedItem]:
        return marker_items(row, self.time_mode, self.clock())

    @property
    def switching(self) -> bool:
        return self.session.switching

    @property
    def _exiting(self) -> bool:
        return self.session.closing

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield NoticePanel(id="notice")
        with Horizontal(id="main"):
            with Vertical(id="feed-pane"):
                yield EventFeed(self.store, self.clock, id="feed")
                yield Label("", id="new-count")
            with Vertical(id="side"):
                with Vertical(id="values-pane"):
                    yield ValuesTable(self.clock, id="values")
                    yield Static("", id="values-empty")
                yield HistoryPane(self.clock, id="history")
        yield FilterBar(id="filter-bar")
        yield Footer()

    # The main screen's widgets. Looked up there (not on `self.screen`, which is whatever modal
    # is on top) so that painting goes on while a detail or help screen is open.
    def _main(self, selector: str, kind: type[W]) -> W:
        return self.screen_stack[0].query_one(selector, kind)

    @property
    def main_screen(self) -> Screen[Any]:
        return self.screen_stack[0]

    @property
    def feed(self) -> EventFeed:
        return self._main("#feed", EventFeed)

    @property
    def values_table(self) -> ValuesTable:
        return self._main("#values", ValuesTable)

    @property
    def history_pane(self) -> HistoryPane:
        return self._main("#history", HistoryPane)

    @property
    def notice(self) -> NoticePanel:
        return self._main("#notice", NoticePanel)

    def on_mount(self) -> None:
        self.keymap = dict(self.keymap_override or {})
        if self.keymap_override is None:
            self._keymap_worker()  # the config file is read off the event loop
        elif self.keymap:
            self.set_keymap(self.keymap)
        self._main("#feed-pane", Vertical).border_title = "live feed"
        self._main("#values-pane", Vertical).border_title = "values"
        self.history_pane.border_title = "history"
        self.values_table.set_watched(self.watched)
        self._apply_compact(self.size.width)
        self.feed.environment_names = self.environment_names
        self.feed.focus()
        self._paint_texts()
        # Everything alive now (modules, classes, widgets, styles) lives as long as the app: move
        # it out of the garbage collector's reach, so its full collections walk only what came
        # later. Under a fast stream those collections are the longest event-loop stalls.
        self.call_after_refresh(gc.freeze)
        self.set_interval(1 / self.paint_hz, self._tick, name="paint")
        self.set_interval(1.0, self._every_second, name="ages")
        self.session.start(self.profile, None, self.profile.name)

    @work(thread=True, exclusive=True, group="keymap", exit_on_error=False, name="keymap")
    def _keymap_worker(self) -> None:
        keymap = load_user_keymap()
        if keymap:
            self.call_from_thread(self._apply_keymap, keymap)

    def _apply_keymap(self, keymap: dict[str, str]) -> None:
        self.keymap = keymap
        self.set_keymap(keymap)
        self.refresh_bindings()

    def on_unmount(self) -> None:
        gc.unfreeze()  # hand what was frozen back to the collector (tests run many apps)
        self.session.close_soon()

    def on_resize(self, event: Any) -> None:
        self._apply_compact(event.size.width)

    def _apply_compact(self, width: int) -> None:
        compact = width < COMPACT_WIDTH
        self.main_screen.set_class(compact, "-compact")
        footer = self._main("Footer", Footer)
        footer.compact = compact
        footer.show_command_palette = not compact  # ctrl+p still works; `?` lists it
        self._main("#status", StatusBar).narrow = compact

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        """A worker that failed is reported by name (every worker runs exit_on_error=False)."""
        report_worker_error(self, event)

    # -- monitor lifecycle (see session.py) -------------------------------------------------
    @on(MonitorReady)
    def _monitor_ready(self, message: MonitorReady) -> None:
        if not self.screen_stack:
            self.session.closing = True  # no screen left to paint: the app is going away
        first = self.session.adopt(message)
        if first is None:
            return
        self.profile = message.profile
        monitor = message.monitor.monitor
        self.store.attach(monitor, monitor.snapshot().feed_start)
        if not first:
            self._reset_view()
            self.environment_names.update(getattr(message.profile, "environment_names", {}) or {})
            self.watched = set(message.profile.watch)
            self.selected_flag = message.profile.watch[0] if message.profile.watch else None
            self.values_table.set_watched(self.watched)
        self.status = Status(ConnectionState.CONNECTING, at=self.clock())
        self.notice.hide_notice()
        self._history_dirty = True
        self._paint_texts()
        self.sub_title = message.profile.name

    @on(MonitorFailed)
    @while_mounted
    def _monitor_failed(self, message: MonitorFailed) -> None:
        if message.generation in (0, self.session.generation):
            self.session.switching = False  # not while a newer switch is still under way
        keys = (self._key_for(k) for k in ("profiles", "edit_profile", "quit"))
        self.notice.show_failed(message.profile_name, message.error, *keys)
        self._paint_texts()

    def _reset_view(self) -> None:
        self.store.clear()
        self.environment_names.clear()
        self.feed.sync()
        self.feed.follow()
        self.values_table.reset()
        self._history_new.clear()
        self.history_pane.show(self.selected_flag, [])

    def switch_profile(self, name: str) -> None:
        """Stop the running monitor (on a worker) and start one for profile `name`."""
        self.notice.hide_notice()
        self.session.start(None, name, self.profile.name)
        self._paint_texts()

    async def action_quit(self) -> None:
        await self.session.close()
        self.exit()

    # -- the paint loop (see batch.py) --------------------------------------------------------
    @while_mounted
    def _tick(self) -> None:
        monitor = self.monitor
        self.paints += 1
        if monitor is not None:
            updates = monitor.drain()
            if updates:
                with self.batch_update():
                    self._paint_batch(updates)
        if self.paints % STATUS_EVERY == 0:
            self._paint_texts()
            if self._history_dirty:
                self._load_history()
            elif self._history_new and self.history_answered == self.history_requested:
                self._merge_history(None)

    def _paint_batch(self, updates: list[MonitorUpdate]) -> None:
        batch: Batch = take_batch(
            updates,
            self.store,
            environment_names=self.environment_names,
            selected=self.selected_flag,
            watched=self.watched,
        )
        self._history_new.extend(batch.history)
        monitor = self.monitor
        if batch.unknown_environment and monitor is not None:
            self._learn_environment_names(monitor.snapshot().environment_names)
        for signal in batch.signals:
            self._on_signal(signal)
        self.feed.sync()
        if batch.repaint_rows:
            self.feed.refresh()
        if batch.values:
            self.values_table.apply(batch.values, flash=batch.flash)
        for key in batch.flash.difference(value.flag_key for value in batch.values):
            self.values_table.flash(key)
        for key, ring in batch.rings.items():
            if self.bells.due(key):
                self.bell()
                message = ring_message(ring)
                self.notify(message, title="watched flag changed", severity="warning", markup=False)
        self._paint_new_count()

    def _on_signal(self, signal: Status | EvaluatorStatus) -> None:
        """A connection or evaluate status: 401/403 shows the credentials notice."""
        rejected, detail = False, ""
        if isinstance(signal, Status):
            self.status = signal
            stopped = signal.state is ConnectionState.STOPPED
            rejected = stopped and signal.credentials_rejected
            detail = signal.error or "the server answered 401/403"
            cleared = signal.state is ConnectionState.LIVE
        else:
            rejected = signal.credentials_rejected
            detail = signal.message or "evaluate answered 401/403: values cannot be shown"
            cleared = signal.ok
        if rejected:
            edit, switch = self._key_for("edit_profile"), self._key_for("profiles")
            self.notice.show_credentials(self.profile.name, detail, edit, switch)
        elif cleared:
            self.notice.hide_notice("credentials")

    def _key_for(self, binding_id: str) -> str:
        return key_label(self.keymap.get(binding_id, DEFAULT_KEYS[binding_id][0]))

    @while_mounted
    def _every_second(self) -> None:
        with self.batch_update():
            self.values_table.tick()
            if self.time_mode == "relative":
                self.feed.refresh()
                self.history_pane.redraw()

    def _paint_new_count(self) -> None:
        label = self._main("#new-count", Label)
        count = self.store.pending_events if self.store.paused else self.feed.unseen
        label.set_class(count > 0, "-shown")
        if count:
            label.update(Text(f" +{count} new · {self._key_for('follow')} to follow "))

    def _paint_texts(self) -> None:
        """Status bar, empty-state texts: a few times a second, from the snapshot."""
        monitor = self.monitor
        snapshot = monitor.snapshot() if monitor is not None else None
        info = status_info(
            profile=self.profile,
            status=self.status,
            switching=self.switching,
            store=self.store,
            filter_text=self.filter.text,
            hidden_types=len(self.predicate.hidden_types),
            time_mode=self.time_mode,
            snapshot=snapshot,
            now=self.clock(),
        )
        if snapshot is not None:
            self._learn_environment_names(snapshot.environment_names)
        self._main("#status", StatusBar).show(info)
        env = self.profile.environment_key or "this target"
        feed_message = feed_empty_message(self.switching, info.state, self.store, env)
        if feed_message != self.feed.empty_message:
            self.feed.empty_message = feed_message
            self.feed.refresh()
        empty = self._main("#values-empty", Static)
        has_rows = self.values_table.row_count > 0
        empty.set_class(not has_rows, "-shown")
        if not has_rows:
            empty.update(values_empty_text(env))

    def _learn_environment_names(self, names: dict[str, str]) -> None:
        """Environment id → key, as the monitor knows them (the one place that names them)."""
        if names and names.items() - self.environment_names.items():
            self.environment_names.update(names)  # in place: predicates share this dict
            self.feed.refresh()

    # -- history -----------------------------------------------------------------------------
    def _select_flag(self, flag_key: str | None) -> None:
        if flag_key is not None and flag_key != self.selected_flag:
            self.selected_flag = flag_key
            self._history_new.clear()  # they were the previous flag's
            self.history_pane.show(flag_key, [])
            self._load_history()

    def _load_history(self) -> None:
        self._history_dirty = False
        if self.monitor is None or self.selected_flag is None:
            self.history_pane.show(self.selected_flag, [])
            return
        self.history_requested += 1
        self._history_worker(self.monitor, self.selected_flag, self.history_requested)

    @work(thread=True, exclusive=True, group="history", exit_on_error=False, name="history")
    def _history_worker(self, monitor: MonitorHandle, flag_key: str, request: int) -> None:
        entries: list[HistoryEntry] = []
        try:
            entries = list(monitor.history(flag_key, limit=200))
        finally:  # always answer, so the latest request is known to be answered
            self.post_message(HistoryLoaded(flag_key, entries, request))

    @on(HistoryLoaded)
    @while_mounted
    def _history_loaded(self, message: HistoryLoaded) -> None:
        if message.request != self.history_requested:
            return  # an older read answered late: the newer one is what the pane shows
        self.history_answered = message.request
        if message.flag_key == self.selected_flag:
            self._merge_history(message.entries)

    def _merge_history(self, read: Sequence[HistoryEntry] | None) -> None:
        """Show `read` (the monitor's answer, or None to keep the pane's rows) with the rows
        that arrived since, newest first, without repeats."""
        base = list(read) if read is not None else list(self.history_pane.entries)
        new, self._history_new = self._history_new, []
        if not base and not any(not isinstance(entry, Outage) for entry in new):
            new = []  # an outage alone is not this flag's history (as Monitor.history says)
        entries = merge_history(new, base, limit=MAX_ROWS)
        self.history_pane.show(self.selected_flag, entries)

    @on(EventFeed.CursorMoved)
    def _feed_cursor(self, message: EventFeed.CursorMoved) -> None:
        event = row_event(message.item) if message.item is not None else None
        if event is not None:
            self._select_flag(event.flag_key)
        self._paint_new_count()

    @on(DataTable.RowHighlighted, "#values")
    def _values_cursor(self, message: DataTable.RowHighlighted) -> None:
        if self.focused is self.values_table and message.row_key.value is not None:
            self._select_flag(message.row_key.value)

    @on(DataTable.RowSelected, "#values")
    def _values_selected(self, message: DataTable.RowSelected) -> None:
        key = message.row_key.value
        for row in (*reversed(self.store.pending), *reversed(self.store.view)):
            event = row_event(row)
            if event is not None and event.flag_key == key:
                self._open_detail(event)
                return
        self.notify("No event of this flag in the view yet.", markup=False)
