"""The key actions of design.md §4, as the base class of `TogulMonitorApp`.

Each action changes the view's state (filter, hidden types, pause, time mode, watched flags) and
asks the app to repaint; refiltering a large view and exporting run on thread workers. The
state and the painting live in `app.py`; the names this class relies on are declared below.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from textual import on, work
from textual.actions import SkipAction
from textual.app import App
from textual.screen import Screen
from textual.widgets import Input
from textual.worker import get_current_worker

from togul_monitor.config.profiles import Profile
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.filters import Filter
from togul_monitor.protocol import EVENT_TYPES
from togul_monitor.support.text import safe_text
from togul_monitor.ui.export import export_path, write_jsonl
from togul_monitor.ui.handle import MonitorHandle
from togul_monitor.ui.messages import ExportDone, RefilterDone, TransitionLoaded
from togul_monitor.ui.screens.event_detail import EventDetailScreen, detail_text, marker_detail
from togul_monitor.ui.screens.help import HelpScreen
from togul_monitor.ui.session import while_mounted
from togul_monitor.ui.view.feed_store import (
    FeedItem,
    FeedPredicate,
    FeedStore,
    Row,
    SourceRow,
    row_event,
)
from togul_monitor.ui.view.format import TIME_MODES
from togul_monitor.ui.widgets.event_feed import EventFeed
from togul_monitor.ui.widgets.filter_bar import FilterBar
from togul_monitor.ui.widgets.history_pane import HistoryPane
from togul_monitor.ui.widgets.values_table import ValuesTable

SYNC_REFILTER_LIMIT = 5_000  # larger stores are refiltered on a worker thread


class KeyActions(App[None]):
    """`action_*` for every binding of keymap.py, and the workers they start."""

    # Set by TogulMonitorApp.__init__ / on_mount.
    profile: Profile
    clock: Callable[[], float]
    store: FeedStore
    predicate: FeedPredicate
    filter: Filter
    environment_names: dict[str, str]
    time_mode: str
    watched: set[str]
    selected_flag: str | None
    keymap: dict[str, str]
    export_dir: Path | None
    last_export: Path

    # Provided by TogulMonitorApp (the panes and the repaint of texts).
    monitor: MonitorHandle | None
    main_screen: Screen[Any]
    feed: EventFeed
    values_table: ValuesTable
    history_pane: HistoryPane

    def _main(self, selector: str, kind: Any) -> Any:
        raise NotImplementedError

    def _paint_texts(self) -> None:
        raise NotImplementedError

    def _paint_new_count(self) -> None:
        raise NotImplementedError

    def switch_profile(self, name: str) -> None:
        raise NotImplementedError

    def action_filter_key(self) -> None:
        """`/` is a priority binding, run before the key reaches the focused widget.

        Keys are forwarded to the widget focused when the app reads them; a normal binding runs
        only once the feed has handled `/`, and by then keys typed right after it (a paste,
        `tmux send-keys '/text'`) were already forwarded to the feed and lost. Run first, the
        Input has focus before the next key is read. Where `/` is text (an Input has focus) or
        a modal is open, the key goes on as usual.
        """
        if self.screen is not self.main_screen or isinstance(self.focused, Input):
            raise SkipAction()
        self.action_open_filter()

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
        if self.store.position - self.store.start <= SYNC_REFILTER_LIMIT:
            self.store.refilter(predicate)
            self._after_refilter()
        else:
            self._refilter_worker(predicate, *self.store.refilter_input())
        self._paint_texts()

    @work(thread=True, exclusive=True, group="refilter", exit_on_error=False, name="refilter")
    def _refilter_worker(
        self, predicate: FeedPredicate, rows: Sequence[SourceRow], upto_seq: int, clears: int
    ) -> None:
        result = FeedStore.compute_refilter(rows, predicate, upto_seq, self.store.marker_rows)
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
        self._after_refilter()  # the same repaint: the whole view, following

    def action_detail(self) -> None:
        item = self.feed.cursor_item
        if item is None:
            self.notify("No event selected.", markup=False)
            return
        self._open_detail(item)

    def _open_detail(self, item: Row) -> None:
        if isinstance(item, FeedItem):
            self.push_screen(EventDetailScreen(marker_detail(item), title=item.marker))
            return
        transition = self.store.transition_for(item)
        monitor = self.monitor
        look_up = transition is None and monitor is not None and item.event_id is not None
        body = detail_text(
            item, transition, self.time_mode, self.environment_names, looking_up=look_up
        )
        screen = EventDetailScreen(body, title="event detail")
        self.push_screen(screen)
        if look_up and monitor is not None:
            # Not in memory: the monitor reads the journal (a flush, a SQLite query), which may
            # take seconds under backlog. The screen is open already; the worker fills it in.
            self._transition_worker(monitor, item, screen)

    @work(thread=True, exclusive=True, group="detail", exit_on_error=False, name="transition")
    def _transition_worker(
        self, monitor: MonitorHandle, event: FlagEvent, screen: EventDetailScreen
    ) -> None:
        assert event.event_id is not None
        transition = monitor.transition_for(event.event_id)
        self.post_message(TransitionLoaded(event, transition, screen))

    @on(TransitionLoaded)
    @while_mounted
    def _transition_loaded(self, message: TransitionLoaded) -> None:
        if message.detail_screen.is_attached:
            body = detail_text(
                message.event, message.transition, self.time_mode, self.environment_names
            )
            message.detail_screen.set_body(body)

    def action_profiles(self) -> None:
        from togul_monitor.ui.screens.profile_switcher import ProfileSwitcherScreen

        self.push_screen(ProfileSwitcherScreen(self.profile.name), self._profile_chosen)

    def _profile_chosen(self, name: str | None) -> None:
        if name:
            self.switch_profile(name)

    def action_edit_profile(self) -> None:
        from togul_monitor.ui.screens.profile_switcher import open_profile_form

        if self.profile.builtin:
            self.notify(
                "The demo profiles are built in and cannot be edited; add one with p then a.",
                markup=False,
            )
            return
        open_profile_form(self, self.profile.name, self._profile_chosen)

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
        self._after_refilter()  # the same repaint: an empty view, following
        self.notify("View cleared (the event log and journal are kept).", markup=False)

    def action_export(self) -> None:
        path = export_path(self.export_dir, self.profile.name, self.clock())
        self._export_worker(self.store.snapshot_items()[0], self.predicate, path)

    @work(thread=True, exclusive=False, group="export", exit_on_error=False, name="export")
    def _export_worker(
        self, items: Sequence[SourceRow], predicate: FeedPredicate, path: Path
    ) -> None:
        try:
            count = write_jsonl(items, predicate, path)
        except (OSError, ValueError) as error:  # the folder, the disk; nothing half-written
            self.post_message(ExportDone(None, 0, str(error)))
            return
        self.post_message(ExportDone(path, count))

    @on(ExportDone)
    def _export_done(self, message: ExportDone) -> None:
        if message.error is not None or message.path is None:
            self.notify(f"Export failed: {message.error}", severity="error", markup=False)
            return
        self.last_export = message.path
        # The folder on its own line: a long path wraps there rather than mid-name.
        text = f"{message.count} events → {message.path.name}\nin {message.path.parent}"
        self.notify(text, title="exported", markup=False)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.keymap))
