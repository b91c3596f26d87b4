"""The main screen's paint loop: from the monitor's updates to the panes.

`MainScreen` (main.py) holds the view's state (the store, the modes, the watched flags) and
runs the timers; `MainPainter` finds the widgets once and does the painting. Every tick (when
the monitor woke the screen, at most once a frame: main_pace.py) it drains the monitor, sorts
the batch (`view/batch.py`: rows into the store first) and paints it (rows, values, flashes,
bells, the credentials notice); a few times a second (and once a second) it repaints the
status bar and the empty-pane hints from the monitor's snapshot (`view/status.py`) and keeps
the selected flag's history current (`view/history.py`: one journal read per selection, on a
thread worker, and the rows that arrive since merged in memory).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Label, Static

from togul_monitor.config.profiles import Profile
from togul_monitor.domain.events import ConnectionState, Heartbeat, Status
from togul_monitor.domain.history import HistoryEntry
from togul_monitor.domain.values import FlagValue
from togul_monitor.ui.handle import MonitorHandle, ViewHost
from togul_monitor.ui.messages import HistoryLoaded
from togul_monitor.ui.screens import main_jobs
from togul_monitor.ui.screens.main_support import diffs_stopped, evaluates, input_waiting, where_of
from togul_monitor.ui.view.batch import credentials_signal, drop_forgotten, take_batch
from togul_monitor.ui.view.doubt import doubt_of
from togul_monitor.ui.view.empty_panes import feed_empty_message, values_hint
from togul_monitor.ui.view.feed_store import FeedStore
from togul_monitor.ui.view.found import row_flag
from togul_monitor.ui.view.history import HistoryReads
from togul_monitor.ui.view.rings import TITLE, WatchRings
from togul_monitor.ui.view.status import contexts_of, snapshot_values, status_info, values_titles
from togul_monitor.ui.widgets.event_feed import EventFeed
from togul_monitor.ui.widgets.history_pane import MAX_ROWS, HistoryPane, Marks
from togul_monitor.ui.widgets.notice_panel import NoticePanel
from togul_monitor.ui.widgets.status_bar import StatusBar
from togul_monitor.ui.widgets.values_table import ValuesTable

if TYPE_CHECKING:  # the monitor's modules load after the first frame (ui/app.py)
    from togul_monitor.core import MonitorSnapshot, MonitorUpdate

STATUS_EVERY = 5  # status bar and history refresh every N paints (4 Hz at 20 Hz)
# Rows one paint takes into the view at most: the newest; older ones of a larger batch are
# counted as not shown (view/batch.py). A few screens' worth, and about 5 ms of work.
FRAME_ROWS = 400
MAX_DEFERRED = 3  # ticks in a row a paint may wait for input to be handled first
QUIET = (Heartbeat, Status)  # updates that keep no drain busy (the status bar has their news)
# Seconds between two updates of the values table under a burst (the first after a quiet spell
# is at once): its redraw costs every visible cell, about as much as the feed's.
VALUES_EVERY = 0.2
HISTORY_EVERY = 1.0  # seconds between two merges of new rows into the history pane
BORDER_TEXT_MARGIN = 6  # a border title's cells the corners, a `─` and a space each side take


class MainPainter:
    def __init__(
        self,
        screen: Screen[None],
        host: ViewHost,
        *,
        store: FeedStore,
        environment_names: dict[str, str],
        watched: set[str],
        history: HistoryReads,
        clock: Callable[[], float],
        frame_rows: int = FRAME_ROWS,
    ) -> None:
        """The collections are the screen's own, shared: they change in place."""
        self.screen, self.app, self.host = screen, screen.app, host
        self.store, self.environment_names, self.watched = store, environment_names, watched
        self.history, self.clock, self.frame_rows = history, clock, frame_rows
        self._deferred = 0  # ticks in a row that let input go first
        self._values: dict[tuple[str, str], FlagValue] = {}  # drained, not yet in the table
        self._flash: set[str] = set()
        self._history_at = -HISTORY_EVERY  # time.monotonic(), as `_values_at`
        self._values_at = -VALUES_EVERY  # time.monotonic(): the view's clock may stand still
        self.rings = WatchRings(where_of(host.profile))
        self.status = Status(ConnectionState.CONNECTING, at=clock())  # the latest signalled
        self.paints = 0
        self._values_known: object = None  # the snapshot values last handed to the answers
        self._values_hint: Text | None = None  # what the values pane's top line shows
        self.feed = screen.query_one("#feed", EventFeed)
        self.values = screen.query_one("#values", ValuesTable)
        self.history_pane = screen.query_one("#history", HistoryPane)
        self.history_pane.diff_lines = store.diffs.lines_for  # an event's diff, under it
        self.history_pane.live_with_next = store.answers.with_next  # as the feed's row says
        self.notice = screen.query_one("#notice", NoticePanel)
        self.status_bar = screen.query_one("#status", StatusBar)
        self.new_count = screen.query_one("#new-count", Label)
        self.values_empty = screen.query_one("#values-empty", Static)
        self.values_pane = screen.query_one("#values-pane", Widget)
        self.footer = screen.query_one(Footer)

    # -- every tick ---------------------------------------------------------------------------
    def tick(self, selected: str | None, *, idle: bool = False) -> int:
        """Drain and paint; the status texts 4 times a second while busy (at once when `idle`:
        the first tick after a quiet spell). How many updates it drained; -1 when a key or a
        click was waiting, which goes first (a few ticks at most: a held key never freezes the
        feed)."""
        monitor = self.host.monitor
        drained = 0
        if monitor is not None:
            if self._deferred < MAX_DEFERRED and input_waiting(self.app):
                self._deferred += 1
                return -1
            self._deferred = 0
            updates = monitor.drain()
            drained = len(updates)
            if drained < 8:  # heartbeats and statuses alone are a quiet stream: it may slow
                drained = sum(1 for update in updates if type(update) not in QUIET)
            if updates:
                with self.app.batch_update():
                    self._paint_batch(monitor, updates, selected)
        self.paints += 1
        if (self._values or self._flash) and time.monotonic() - self._values_at >= VALUES_EVERY:
            self._apply_values()
        if idle or self.paints % STATUS_EVERY == 0:
            self.slow_duties(selected, idle=idle)
        else:
            self._ring()
        return drained

    @property
    def held(self) -> bool:
        """Values or flashes wait for a later tick (the table takes them every few ticks)."""
        return bool(self._values or self._flash)

    def slow_duties(self, selected: str | None, *, idle: bool) -> None:
        """Rings, the status texts and the history: a few times a second while updates come,
        once a second anyway (`every_second`: no tick runs while idle)."""
        self._ring()
        self.texts()
        if self.history.dirty:
            self.load_history(selected)
        elif self.history.new and self.history.current and self._history_due(idle):
            self.show_history(None, selected)

    def _ring(self) -> None:
        for ring in self.rings.due():
            self.app.bell()
            timeout = self.rings.window  # about one toast per flag on screen at a time
            self.app.notify(
                ring.message, title=TITLE, severity="warning", markup=False, timeout=timeout
            )

    def _apply_values(self) -> None:
        """The values (and flashes) held since the table last took them: under a burst the
        whole table repaints a few times a second, not at every paint."""
        values, flash = list(self._values.values()), self._flash
        self._values, self._flash, self._values_at = {}, set(), time.monotonic()
        with self.app.batch_update():
            if values:
                self.values.apply(values, flash=flash)
            for key in flash.difference(value.flag_key for value in values):
                self.values.flash(key)

    def _history_due(self, idle: bool) -> bool:
        """The selected flag's new rows join its pane at most once a second while the stream
        runs (a redraw costs the pane's rows), at once when it is quiet."""
        now = time.monotonic()  # not paints: the screen paints only when woken
        if idle or now - self._history_at >= HISTORY_EVERY:
            self._history_at = now
            return True
        return False

    def _paint_batch(
        self, monitor: MonitorHandle, updates: list[MonitorUpdate], selected: str | None
    ) -> None:
        snapshot = monitor.snapshot()
        # Read after the drain, so never older than the updates drained (core/updates.py): the
        # limit is known by the first event it leaves out. Its values copy may be older (it is
        # throttled): flags taken on since are known from their published values (answers.py).
        if snapshot.unmonitored_events:
            self.store.answers.limit_values = snapshot.values
        batch = take_batch(
            updates,
            self.store,
            environment_names=self.environment_names,
            selected=selected,
            watched=self.watched,
            row_budget=self.frame_rows,
        )
        self.history.new.extend(batch.history)
        diffs_stopped(self.app, self.host, batch.configs_stopped)  # once, when they stop
        if batch.diff_selected:
            self.history_pane.redraw()  # the diff goes under its event
        if batch.unknown_environment:
            self.learn_environment_names(snapshot.environment_names)
        for signal in batch.signals:
            if isinstance(signal, Status):
                self.status = signal
            rejected, detail, cleared = credentials_signal(signal)
            if rejected:
                edit, switch = self.host.key_for("edit_profile"), self.host.key_for("profiles")
                retry = self.host.key_for("reconnect")
                self.notice.show_credentials(self.host.profile.name, detail, edit, switch, retry)
            elif cleared:
                self.notice.hide_notice("credentials")
        self.feed.sync()
        if batch.repaint_rows:
            self.feed.relayout()  # rows say what the value did: their columns may change
        self.values.forget(batch.forgotten)  # at once, and the values held from before it
        drop_forgotten(self._values, batch.forgotten)
        for value in batch.values:  # the table takes them VALUES_EVERY s apart
            self._values[value.flag_key, value.context] = value
        self._flash |= batch.flash
        for transition in batch.rings:
            self.rings.add(transition)
        self.new_rows()

    def every_second(self, time_mode: str, selected: str | None, *, idle: bool) -> None:
        """Ages move and flashes expire; relative times move too. Never drains."""
        with self.app.batch_update():
            self.slow_duties(selected, idle=idle)
            self.values.tick()
            if time_mode == "relative":
                self.feed.refresh()
                self.history_pane.redraw()

    # -- the texts ----------------------------------------------------------------------------
    def texts(self) -> None:
        """Status bar, empty-state texts: a few times a second, from the snapshot."""
        monitor, profile, switching = self.host.monitor, self.host.profile, self.host.switching
        snapshot, now = (monitor.snapshot() if monitor is not None else None), self.clock()
        info = status_info(
            profile=profile,
            status=self.status,
            switching=switching,
            store=self.store,
            snapshot=snapshot,
            now=now,
            before=self.status_bar.info,  # what it keeps: the environment's check, an error
        )
        if snapshot is not None:
            self.learn_environment_names(snapshot.environment_names)
            answers = self.store.answers
            if snapshot.values is not self._values_known:  # a new copy: something changed
                self._values_known = snapshot.values
                answers.know(snapshot_values(snapshot))  # the journal's values are known ones
            if snapshot.environment_id != answers.environment_id and snapshot.environment_id:
                answers.environment_id = snapshot.environment_id
                self.feed.relayout()
        self.status_bar.info = info
        environment = profile.environment_key or "this target"
        feed_message = feed_empty_message(
            switching, info, self.store, environment, snapshot, self.feed.time_mode, now
        )
        if feed_message != self.feed.empty_message:
            self.feed.empty_message = feed_message
            self.feed.refresh()
        self.show_values_hint(profile, snapshot, environment)
        values = self.values
        room = self.values_pane.outer_size.width - BORDER_TEXT_MARGIN  # the border's text
        # No monitor after a profile that could not be opened: the values are the one before's.
        stopped = monitor is None and self.status.state is ConnectionState.STOPPED
        values.doubt = doubt_of(snapshot, info.silent, stopped and values.row_count > 0)
        title, subtitle = values_titles(
            values.contexts, snapshot, values.shown_contexts, room, doubt=values.doubt
        )
        if title != self.values_pane.border_title:
            self.values_pane.border_title = title
        if subtitle != self.values_pane.border_subtitle:
            self.values_pane.border_subtitle = subtitle

    def show_values_hint(
        self, profile: Profile, snapshot: MonitorSnapshot | None, environment: str
    ) -> None:
        """The values pane's top line: why values never come (with the fix), or, while the
        table is empty, what will fill it."""
        keys = (self.host.key_for("edit_profile"), self.host.key_for("profiles"))
        evaluates, empty = self.store.answers.evaluates, self.values.row_count == 0
        hint = values_hint(evaluates, empty, profile, snapshot, environment, *keys)
        self.values_empty.set_class(hint is not None, "-shown")
        if hint is not None and hint != self._values_hint:
            self.values_empty.update(hint)
        self._values_hint = hint

    def learn_environment_names(self, names: dict[str, str]) -> None:
        """Environment id → key, as the monitor knows them (the one place that names them)."""
        if names and names.items() - self.environment_names.items():
            self.environment_names.update(names)  # in place: predicates share this dict
            self.feed.relayout()

    def new_rows(self) -> None:
        """`+N new`: events that came while paused (the store's `pending` holds the newest of
        them, not the view), or rows appended while not following."""
        store = self.store
        count = store.paused_new if store.paused else self.feed.unseen
        self.new_count.set_class(count > 0, "-shown")
        if count:
            follow = self.host.key_for("follow")
            self.new_count.update(Text(f" +{count:,} new · {follow} to follow "))

    def follow(self) -> None:
        """The whole view again, following the newest row (a refilter, a clear, a resume)."""
        self.feed.sync()
        self.feed.follow()
        self.new_rows()
        self.texts()

    # -- the monitor and the profile ----------------------------------------------------------
    def started(
        self,
        profile: Profile,
        *,
        first: bool,
        selected: str | None,
        snapshot: MonitorSnapshot | None = None,
    ) -> None:
        """A monitor runs for `profile`: a new profile's view starts with what `snapshot` holds
        (the values its journal remembered, stale until re-evaluated), the rest empty."""
        self._values, self._flash = {}, set()  # the monitor before's, never shown now
        if not first:  # its environment names and answers: taken before the store attached it
            self.watched.clear()
            self.watched.update(profile.watch)
            self.values.set_watched(self.watched)
            self.feed.sync()
            self.feed.follow()
            self.values.reset()
            self.history.select()
            self.history_pane.show(selected, [], reading=True)
        self.history.dirty = True  # read from the new monitor
        contexts = contexts_of(profile, snapshot)
        self.values.set_contexts(contexts)
        self.history_pane.contexts = tuple(contexts)
        # At most as many flags' last changes as the monitor follows flags (`max_flags`).
        limit = snapshot.max_flags if snapshot is not None and snapshot.max_flags else None
        self.store.last_changes_anew(limit or profile.max_flags)
        if snapshot is not None:  # the recorded rows say what they changed, as they did live
            self.store.add_recorded(snapshot.recorded)
        self.rings.reset(where_of(profile))
        self.values.set_evaluates(evaluates(profile))
        if snapshot is not None and (snapshot.values or snapshot.context_values):
            # Only updates from now on are drained: the values the monitor started with (the
            # journal's) are shown from its snapshot, and newer updates overwrite them.
            self.values.apply(snapshot_values(snapshot))
        self.status = Status(ConnectionState.CONNECTING, at=self.clock())
        self.notice.hide_notice()
        self.texts()

    def failed(self, profile_name: str, error: str) -> None:
        """No monitor runs (the one before was stopped): the bar says stopped, the panel why."""
        keys = (self.host.key_for(k) for k in ("profiles", "edit_profile", "quit"))
        self.notice.show_failed(profile_name, error, *keys)
        why = f"profile {profile_name} could not be opened"
        self.status = Status(ConnectionState.STOPPED, self.clock(), error=why)
        self.values.mark_all_stale()  # the monitor before's values: nothing follows them now
        self.texts()

    # -- the selected flag's history ----------------------------------------------------------
    def select(self, flag_key: str | None) -> None:
        self.history.select()
        self.history_pane.show(flag_key, [], reading=True)  # until the read answers
        self.load_history(flag_key)

    def load_history(self, flag_key: str | None) -> None:
        monitor = self.host.monitor
        if monitor is None or flag_key is None:
            self.history.dirty = False
            self.history_pane.show(flag_key, [])
            return
        read, post = main_jobs.read_history, self.screen.post_message
        request = self.history.request()
        main_jobs.start(self.screen, "history", read, post, monitor, flag_key, request)

    def history_loaded(self, message: HistoryLoaded, selected: str | None) -> None:
        if not self.history.answer(message.request):
            return  # an older read answered late: the newer one is what the pane shows
        if message.flag_key == selected:
            self.show_history(message.entries, selected, message.with_next)

    def show_history(
        self, read: Sequence[HistoryEntry] | None, selected: str | None, with_next: Marks = None
    ) -> None:
        pane = self.history_pane
        pane.show(selected, *self.history.merged(read, pane.entries, MAX_ROWS), with_next=with_next)

    def latest_flag(self) -> str | None:
        """The flag of the newest row of one in the view (to select when nothing is)."""
        flags = (row_flag(row) for row in reversed(self.store.view))
        return next((flag for flag in flags if flag is not None), None)

    def focused_flag(self, focused: Widget | None, selected: str | None) -> str | None:
        """The flag `w` acts on: the values table's row, the history pane's flag, the feed's
        row, or the selected one."""
        if focused is self.values:
            return self.values.selected_flag
        if focused is self.history_pane:
            return self.history_pane.flag_key or selected
        item = self.feed.cursor_item
        flag = row_flag(item) if item is not None else None  # an event's, or a found change's
        return flag if flag is not None else selected
