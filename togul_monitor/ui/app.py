"""The Textual app: wires the panes to one MonitorThread and paints its updates in batches.

All the monitor's work (stream parsing, evaluate calls, journal writes) runs on its own thread.
This app only drains it on a timer (at most `paint_hz` times a second), paints each batch inside
one `batch_update()`, and sends intents (watch, restart) as plain calls. Starting, stopping and
switching monitors, reading history, refiltering large views and exporting run in thread workers,
so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Label, Static
from textual.worker import get_current_worker

from togul_monitor.config.profiles import Profile
from togul_monitor.model.filters import Filter
from togul_monitor.model.flag_values import FlagValue
from togul_monitor.monitor import EvaluatorStatus, TransitionRecorded, ValueUpdated
from togul_monitor.protocol import EVENT_TYPES
from togul_monitor.stream.events import (
    ConnectionState,
    FlagEvent,
    Heartbeat,
    Malformed,
    Outage,
    PossibleGap,
    Status,
)
from togul_monitor.text import safe_text
from togul_monitor.ui.commands import TogulCommands
from togul_monitor.ui.feed_store import FeedItem, FeedPredicate, FeedStore, Row, row_event
from togul_monitor.ui.format import TIME_MODES, fmt_clock, fmt_evaluation
from togul_monitor.ui.keymap import DEFAULT_KEYS, app_bindings, load_user_keymap
from togul_monitor.ui.messages import (
    ExportDone,
    HistoryLoaded,
    MonitorFailed,
    MonitorReady,
    RefilterDone,
)
from togul_monitor.ui.screens.event_detail import EventDetailScreen, detail_text
from togul_monitor.ui.screens.help import HelpScreen
from togul_monitor.ui.widgets.event_feed import EventFeed
from togul_monitor.ui.widgets.filter_bar import FilterBar
from togul_monitor.ui.widgets.history_pane import HistoryPane
from togul_monitor.ui.widgets.notice_panel import NoticePanel
from togul_monitor.ui.widgets.status_bar import StatusBar, StatusInfo
from togul_monitor.ui.widgets.values_table import ValuesTable

Clock = Callable[[], float]
MonitorFactory = Callable[[Profile, Clock], Any]
ProfileResolver = Callable[[str], Profile]

W = TypeVar("W", bound=Widget)
F = TypeVar("F", bound=Callable[..., Any])


def while_mounted(method: F) -> F:
    """Skip a timer tick or a late worker message once the main screen is being torn down.

    Timers and worker messages can still arrive while the app exits; by then the widgets are
    gone and there is nothing to paint.
    """

    @functools.wraps(method)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self._exiting or not self.screen_stack:
            return None
        try:
            return method(self, *args, **kwargs)
        except NoMatches:
            return None

    return guarded  # type: ignore[return-value]


COMPACT_WIDTH = 100  # below this the panes stack (80×24 terminals)
SYNC_REFILTER_LIMIT = 5_000  # larger stores are refiltered on a worker thread
STATUS_EVERY = 5  # status bar and history refresh every N paints (4 Hz at 20 Hz)
RING_SECONDS = 2.0


def default_monitor_factory(profile: Profile, clock: Clock) -> Any:
    from togul_monitor.monitor import MonitorThread

    return MonitorThread(profile, clock=clock)


def default_profile_resolver(name: str) -> Profile:
    from togul_monitor.config.resolve import resolve_profile

    return resolve_profile(name)


def outage_text(outage: Outage, time_mode: str, now: float) -> list[tuple[str, str]]:
    """The inline marker of design.md §5 (one or two rows): what was down, what the view did."""
    mode = "utc" if time_mode == "utc" else "local"  # a window reads best as clock times
    start, end = fmt_clock(outage.started_at, mode, now), fmt_clock(outage.ended_at, mode, now)
    head = f"── disconnected {start}–{end}"
    if outage.replayed:
        head += f", {outage.replayed} events replayed"
    if not outage.may_have_missed:
        if not outage.replayed:
            head += ", 0 events replayed"
        return [("outage", head + " ──")]
    return [
        ("outage-missing", head + " ──"),
        ("continued", "  changes in this window may be missing; values re-evaluated"),
    ]


class TogulMonitorApp(App[None]):
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
        self.monitor_factory = monitor_factory or default_monitor_factory
        self.profile_resolver = profile_resolver or default_profile_resolver
        self.keymap_override = keymap
        self.paint_hz = paint_hz
        self.export_dir = export_dir
        self.monitor: Any = None
        # One dict, shared by every predicate and the feed: learning an id updates them all.
        self.environment_names: dict[str, str] = {}
        self.predicate = FeedPredicate(environment_names=self.environment_names)
        self.store = FeedStore(view_size=view_size, predicate=self.predicate)
        self.filter = Filter("")
        self.time_mode = "local"
        self.watched: set[str] = set(profile.watch)
        self.environment_names.update(getattr(profile, "environment_names", {}) or {})
        self.selected_flag: str | None = profile.watch[0] if profile.watch else None
        self._had_monitor = False
        self._last_ring: dict[str, float] = {}
        self._exiting = False
        self.status = Status(ConnectionState.CONNECTING, at=clock())
        self.switching = True
        self.paints = 0
        self._history_dirty = True
        # History reads: the latest asked for and the latest answered (equal: the pane is current).
        self.history_requested = 0
        self.history_answered = 0

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
        self.keymap = dict(self.keymap_override if self.keymap_override is not None else {})
        if self.keymap_override is None:
            self.keymap = load_user_keymap()
        if self.keymap:
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
        self._start_monitor(None, self.profile)

    def on_unmount(self) -> None:
        self._exiting = True
        gc.unfreeze()  # hand what was frozen back to the collector (tests run many apps)
        monitor, self.monitor = self.monitor, None
        if monitor is not None:  # not quit with `q` (ctrl+q, a test ending): still stop it
            threading.Thread(target=monitor.stop, args=(5.0,), daemon=True).start()

    def on_resize(self, event: Any) -> None:
        self._apply_compact(event.size.width)

    def _apply_compact(self, width: int) -> None:
        compact = width < COMPACT_WIDTH
        self.main_screen.set_class(compact, "-compact")
        footer = self._main("Footer", Footer)
        footer.compact = compact
        footer.show_command_palette = not compact  # ctrl+p still works; `?` lists it
        self._main("#status", StatusBar).narrow = compact

    # -- monitor lifecycle (thread workers: stop() and start() block) ------------------------
    def _start_monitor(self, old: Any, profile: Profile | None, name: str | None = None) -> None:
        self.monitor = None  # the paint timer stops draining the old one at once
        self.switching = True
        self._switch_worker(old, profile, name)

    @work(thread=True, exclusive=True, group="monitor", exit_on_error=False, name="monitor")
    def _switch_worker(self, old: Any, profile: Profile | None, name: str | None) -> None:
        if old is not None:
            try:
                old.stop(5.0)
            except Exception as error:  # the new profile still opens; the failure is shown
                self.post_message(MonitorFailed(self.profile.name, f"stopping: {error}"))
        try:
            if profile is None:
                assert name is not None
                profile = self.profile_resolver(name)
            monitor = self.monitor_factory(profile, self.clock)
            monitor.start()
        except Exception as error:
            self.post_message(MonitorFailed(name or (profile.name if profile else "?"), str(error)))
            return
        if get_current_worker().is_cancelled:
            monitor.stop(5.0)
            return
        self.post_message(MonitorReady(profile, monitor))

    @on(MonitorReady)
    def _monitor_ready(self, message: MonitorReady) -> None:
        if self._exiting or not self.screen_stack:
            # Started while the app was closing: stop it rather than leak its thread.
            threading.Thread(target=message.monitor.stop, args=(5.0,), daemon=True).start()
            return
        first = not self._had_monitor
        self._had_monitor = True
        self.profile = message.profile
        self.monitor = message.monitor
        self.switching = False
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
        self.switching = False
        self.notice.show_notice(
            "failed",
            f"Profile {message.profile_name} could not be opened",
            message.error,
            f"{self._key_for('profiles')}: choose another profile · "
            f"{self._key_for('edit_profile')}: edit this profile · {self._key_for('quit')}: quit",
        )
        self._paint_texts()

    def _reset_view(self) -> None:
        self.store.clear()
        self.environment_names.clear()
        self.feed.sync()
        self.feed.follow()
        self.values_table.reset()
        self.history_pane.show(self.selected_flag, [])

    def switch_profile(self, name: str) -> None:
        """Stop the running monitor (on a worker) and start one for profile `name`."""
        self.notice.hide_notice()
        self._start_monitor(self.monitor, None, name)
        self._paint_texts()

    async def action_quit(self) -> None:
        self._exiting = True
        monitor, self.monitor = self.monitor, None
        if monitor is not None:
            await asyncio.to_thread(monitor.stop, 5.0)
        self.exit()

    # -- the paint loop ----------------------------------------------------------------------
    @while_mounted
    def _tick(self) -> None:
        monitor = self.monitor
        self.paints += 1
        if monitor is not None:
            updates = monitor.drain()
            if updates:
                with self.batch_update():
                    self._apply_updates(updates)
        if self.paints % STATUS_EVERY == 0:
            self._paint_texts()
            if self._history_dirty:
                self._load_history()

    def _apply_updates(self, updates: list[Any]) -> None:
        store = self.store
        values: list[FlagValue] = []
        flash: set[str] = set()
        repaint_rows = False
        rings: dict[str, TransitionRecorded] = {}  # one bell per watched flag per paint
        selected = self.selected_flag
        for update in updates:
            if isinstance(update, FlagEvent):
                store.add_event(update)
                self._learn_environment(update)
                if update.flag_key == selected:
                    self._history_dirty = True
            elif isinstance(update, ValueUpdated):
                values.append(update.value)
            elif isinstance(update, TransitionRecorded):
                store.add_transition(update.transition)
                flash.add(update.transition.flag_key)
                repaint_rows = True
                if update.transition.flag_key == selected:
                    self._history_dirty = True
                if update.watched or update.transition.flag_key in self.watched:
                    rings[update.transition.flag_key] = update
            elif isinstance(update, Status):
                self._on_status(update)
            elif isinstance(update, Outage):
                for kind, text in outage_text(update, self.time_mode, self.clock()):
                    store.add_marker(kind, text, update.received_at, update)
                self._history_dirty = self._history_dirty or selected is not None
            elif isinstance(update, Malformed):
                text = f"malformed event skipped: {update.reason} · {update.raw[:80]}"
                store.add_marker("malformed", safe_text(text), update.received_at, update)
            elif isinstance(update, PossibleGap):
                text = (
                    f"possible gap: {update.flag_key} expected v{update.expected_version}, "
                    f"got v{update.got_version}"
                )
                store.add_marker("gap", safe_text(text), update.received_at, update)
            elif isinstance(update, EvaluatorStatus):
                self._on_evaluator(update)
            elif isinstance(update, Heartbeat):
                pass  # the status bar reads the heartbeat age from the snapshot
        self.feed.sync()
        if repaint_rows:
            self.feed.refresh()
        if values:
            self.values_table.apply(values, flash=flash)
        for key in flash.difference(value.flag_key for value in values):
            self.values_table.flash(key)
        for ring in rings.values():
            self._ring(ring)
        self._paint_new_count()

    def _learn_environment(self, event: FlagEvent) -> None:
        # An API key's stream carries its own environment only, so its events' environment id
        # names the profile's environment. With a Bearer token the stream is org-wide: ids stay
        # shown as id prefixes (the filter's `env:` still matches them).
        if self.profile.token is None and event.environment_id not in self.environment_names:
            if not self.environment_names and self.profile.environment_key:
                self.environment_names[event.environment_id] = self.profile.environment_key

    def _ring(self, update: TransitionRecorded) -> None:
        t = update.transition
        # One bell and toast per flag per RING_SECONDS (wall time): a flapping flag must not
        # flood the screen with toasts; the feed and history still show every change.
        now = time.monotonic()
        if now - self._last_ring.get(t.flag_key, -RING_SECONDS) < RING_SECONDS:
            return
        self._last_ring[t.flag_key] = now
        self.bell()
        after = "deleted" if t.after is None else fmt_evaluation(t.after, 30)
        self.notify(
            f"{safe_text(t.flag_key)}: {fmt_evaluation(t.before, 30)} → {after}",
            title="watched flag changed",
            severity="warning",
            markup=False,
        )

    def _on_status(self, status: Status) -> None:
        self.status = status
        notice = self.notice
        if status.state is ConnectionState.STOPPED and status.credentials_rejected:
            self._credentials_notice(status.error or "the server answered 401/403")
        elif status.state is ConnectionState.LIVE:
            notice.hide_notice("credentials")

    def _on_evaluator(self, status: EvaluatorStatus) -> None:
        if status.credentials_rejected:
            self._credentials_notice(
                status.message or "evaluate answered 401/403: values cannot be shown"
            )
        elif status.ok:
            self.notice.hide_notice("credentials")

    def _credentials_notice(self, detail: str) -> None:
        keys = self._key_for("edit_profile"), self._key_for("profiles")
        self.notice.show_notice(
            "credentials",
            f"Credentials rejected for profile {self.profile.name}",
            f"{detail}. Nothing is retried until the profile changes.",
            f"{keys[0]}: edit this profile · {keys[1]}: switch profile",
        )

    def _key_for(self, binding_id: str) -> str:
        from togul_monitor.ui.screens.help import key_label

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
        info = StatusInfo(
            profile=self.profile.name,
            environment=self.profile.environment_key,
            state=self.status.state,
            error=self.status.error,
            switching=self.switching,
            paused=self.store.paused,
            pending=self.store.pending_events,
            filter_text=self.filter.text,
            hidden_types=len(self.predicate.hidden_types),
            time_mode=self.time_mode,
            filtered=self.store.filtered,
            trimmed=self.store.trimmed,
            shown=self.store.shown,
        )
        now = self.clock()
        if monitor is not None:
            snap = monitor.snapshot()
            info.state = snap.status.state
            info.error = snap.status.error
            if snap.status.next_try_at is not None:
                info.retry_in = snap.status.next_try_at - now
            info.rate = snap.events_per_second
            if snap.last_heartbeat_at is not None:
                info.heartbeat_age = now - snap.last_heartbeat_at
            info.lag = snap.last_lag_seconds
            info.malformed = snap.counters.malformed
            info.duplicates = snap.counters.duplicates
            info.dropped = snap.dropped_updates
            names = getattr(snap, "environment_names", None)
            if names and names.items() - self.environment_names.items():
                self.environment_names.update(names)  # in place: predicates share this dict
                self.feed.refresh()
        self._main("#status", StatusBar).show(info)
        self._paint_empty_states(info.state)

    def _paint_empty_states(self, state: ConnectionState) -> None:
        env = self.profile.environment_key or "this target"
        if self.switching:
            feed_message = "Switching profile…"
        elif state is ConnectionState.LIVE:
            if self.store.received and not self.store.view:
                feed_message = "No event matches the filter in force (see the status bar counts)."
            else:
                feed_message = f"Live. No changes in {env} yet: they appear here as they happen."
        elif state is ConnectionState.RETRYING:
            feed_message = "Disconnected: retrying (see the status bar)."
        elif state is ConnectionState.STOPPED:
            feed_message = "The stream stopped."
        else:
            feed_message = "Connecting…"
        if feed_message != self.feed.empty_message:
            self.feed.empty_message = feed_message
            self.feed.refresh()
        empty = self._main("#values-empty", Static)
        has_rows = self.values_table.row_count > 0
        empty.set_class(not has_rows, "-shown")
        if not has_rows:
            empty.update(
                Text(
                    f"No flag values yet for {env}: flags appear here when they change "
                    "or when watched.",
                    style="italic",
                )
            )

    # -- history -----------------------------------------------------------------------------
    def _select_flag(self, flag_key: str | None) -> None:
        if flag_key is not None and flag_key != self.selected_flag:
            self.selected_flag = flag_key
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
    def _history_worker(self, monitor: Any, flag_key: str, request: int) -> None:
        entries: list[object] = []
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
            self.history_pane.show(message.flag_key, message.entries)

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
        for row in reversed(self.store.items):
            event = row_event(row)
            if event is not None and event.flag_key == key:
                self._open_detail(event)
                return
        self.notify("No event of this flag in the view yet.", markup=False)

    # -- actions (every key of design.md §4) --------------------------------------------------
    def action_open_filter(self) -> None:
        bar = self._main("#filter-bar", FilterBar)
        bar.input.value = self.filter.text
        bar.open()

    @on(FilterBar.Applied)
    def _filter_applied(self, message: FilterBar.Applied) -> None:
        self.filter = message.filter
        text_filter = None if message.filter.empty else message.filter
        self._set_predicate(
            FeedPredicate(text_filter, self.predicate.hidden_types, self.environment_names)
        )

    @on(FilterBar.Closed)
    def _filter_closed(self) -> None:
        self.feed.focus()

    def action_toggle_type(self, index: int) -> None:
        self._set_predicate(self.predicate.toggled(index))
        hidden = self.predicate.hides(EVENT_TYPES[index])
        self.notify(f"{EVENT_TYPES[index]} events {'hidden' if hidden else 'shown'}", markup=False)

    def _set_predicate(self, predicate: FeedPredicate) -> None:
        self.predicate = predicate
        if len(self.store.items) <= SYNC_REFILTER_LIMIT:
            self.store.refilter(predicate)
            self._after_refilter()
        else:
            self._refilter_worker(predicate, *self.store.refilter_input())
        self._paint_texts()

    @work(thread=True, exclusive=True, group="refilter", exit_on_error=False, name="refilter")
    def _refilter_worker(
        self, predicate: FeedPredicate, rows: list[Row], upto_seq: int, clears: int
    ) -> None:
        result = FeedStore.compute_refilter(rows, predicate, upto_seq)
        result.clears = clears
        if not get_current_worker().is_cancelled:
            self.post_message(RefilterDone(result))

    @on(RefilterDone)
    @while_mounted
    def _refilter_done(self, message: RefilterDone) -> None:
        if message.result.predicate is self.predicate:
            self.store.apply_refilter(message.result)
            self._after_refilter()

    def _after_refilter(self) -> None:
        self.feed.sync()
        self.feed.follow()
        self._paint_new_count()
        self._paint_texts()

    def action_toggle_pause(self) -> None:
        paused = not self.store.paused
        self.store.set_paused(paused)
        self.main_screen.set_class(paused, "-paused")
        if not paused:
            self.feed.sync()
            self.feed.follow()
        self._paint_new_count()
        self._paint_texts()

    def action_follow(self) -> None:
        if self.store.paused:
            self.store.set_paused(False)
            self.main_screen.set_class(False, "-paused")
        self.feed.sync()
        self.feed.follow()
        self._paint_new_count()
        self._paint_texts()

    def action_detail(self) -> None:
        item = self.feed.cursor_item
        if item is None:
            self.notify("No event selected.", markup=False)
            return
        self._open_detail(item)

    def _open_detail(self, item: Row) -> None:
        if isinstance(item, FeedItem):
            body = Text(safe_text(item.text), style="bold")
            body.append("\n\n")
            body.append(safe_text(repr(item.source)), style="dim")
            self.push_screen(EventDetailScreen(body, title=item.marker))
            return
        event = item
        transition = self.store.transition_for(event)
        if transition is None and self.monitor is not None and event.event_id is not None:
            transition = self.monitor.transition_for(event.event_id)
        body = detail_text(event, transition, self.time_mode, self.environment_names)
        self.push_screen(EventDetailScreen(body, title="event detail"))

    def action_profiles(self) -> None:
        from togul_monitor.ui.screens.profile_switcher import ProfileSwitcherScreen

        self.push_screen(ProfileSwitcherScreen(self.profile.name), self._profile_chosen)

    def _profile_chosen(self, name: str | None) -> None:
        if name:
            self.switch_profile(name)

    def action_edit_profile(self) -> None:
        from togul_monitor.ui.screens.profile_switcher import ProfileFormScreen

        if self.profile.builtin:
            self.notify(
                "The demo profiles are built in and cannot be edited; add one with p then a.",
                markup=False,
            )
            return
        self.push_screen(ProfileFormScreen(self.profile.name), self._profile_saved)

    def _profile_saved(self, name: str | None) -> None:
        if name:
            self.switch_profile(name)

    def action_watch(self) -> None:
        flag = self._focused_flag()
        if flag is None:
            self.notify("Select a flag first (feed or values).", markup=False)
            return
        watched = flag not in self.watched
        self.watched.symmetric_difference_update({flag})
        if self.monitor is not None:
            self.monitor.set_watched(flag, watched)
        self.values_table.set_watched(self.watched)
        verb = "watching" if watched else "stopped watching"
        self.notify(f"{verb} {safe_text(flag)}", markup=False)

    def _focused_flag(self) -> str | None:
        if self.focused is self.values_table:
            return self.values_table.selected_flag
        item = self.feed.cursor_item
        event = row_event(item) if item is not None else None
        if event is not None:
            return event.flag_key
        return self.selected_flag

    def action_time_format(self) -> None:
        self.time_mode = TIME_MODES[(TIME_MODES.index(self.time_mode) + 1) % len(TIME_MODES)]
        self.feed.time_mode = self.time_mode
        self.history_pane.time_mode = self.time_mode
        self.feed.refresh()
        self.history_pane.redraw()
        self._paint_texts()

    def action_clear_view(self) -> None:
        self.store.clear()
        self.feed.sync()
        self.feed.follow()
        self._paint_new_count()
        self._paint_texts()
        self.notify("View cleared (the event log and journal are kept).", markup=False)

    def action_export(self) -> None:
        self._export_worker(self.store.snapshot_items()[0], self.predicate, self._export_path())

    def _export_path(self) -> Path:
        folder = self.export_dir
        if folder is None:
            try:
                from togul_monitor.config.paths import data_dir

                folder = data_dir() / "exports"
            except Exception:  # no usable data dir: the current directory will do
                folder = Path.cwd()
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(self.clock()))
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", self.profile.name)
        return folder / f"{name}-{stamp}.jsonl"

    @work(thread=True, exclusive=False, group="export", exit_on_error=False, name="export")
    def _export_worker(self, items: list[Row], predicate: FeedPredicate, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            count = 0
            with path.open("w", encoding="utf-8") as out:
                for item in items:
                    event = row_event(item)
                    if event is not None and predicate.matches(event):
                        out.write(json.dumps(event.to_json(), ensure_ascii=False) + "\n")
                        count += 1
        except OSError as error:
            self.post_message(ExportDone(None, 0, str(error)))
            return
        self.post_message(ExportDone(path, count))

    @on(ExportDone)
    def _export_done(self, message: ExportDone) -> None:
        if message.error is not None:
            self.notify(f"Export failed: {message.error}", severity="error", markup=False)
        else:
            self.last_export = message.path
            self.notify(f"{message.count} events → {message.path}", title="exported", markup=False)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.keymap))
