"""The main screen's keys that reach past the panes: `w` (watch, saved to the profile), `t`
(time mode, saved), `y` (copy out), `g` / `:` (jump to a flag) and `o` (the flag's rollout
coverage, `screens/coverage.py`); and the flag they act on while the feed follows.

`MainKeys` holds what they act on (the screen's own collections, shared, and the widgets the
painter found); the screen's actions call it. Saving and the fallback copy of `y` touch files,
so they run on thread workers (`settings.py` says what is written where); a save that fails
says why in a notification and changes nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

from textual.actions import SkipAction
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input

from togul_monitor.config.errors import ConfigError
from togul_monitor.config.profiles import Profile
from togul_monitor.domain.events import FlagEvent
from togul_monitor.support.text import safe_text
from togul_monitor.ui import settings
from togul_monitor.ui.handle import ViewHost
from togul_monitor.ui.screens import main_jobs
from togul_monitor.ui.screens.jump import JumpScreen
from togul_monitor.ui.screens.main_paint import MainPainter
from togul_monitor.ui.view.clip import entry_clip, preview, row_clip, values_clip
from togul_monitor.ui.view.found import row_flag
from togul_monitor.ui.view.rows import row_event


def _save(app: Any, what: str, save: Callable[..., None], *args: object) -> None:
    """Run `save(*args)` (on a worker); a file that cannot take it is said, not raised."""
    try:
        save(*args)
    except (ConfigError, OSError) as error:
        app.call_from_thread(
            app.notify, f"{what} not saved: {error}", severity="warning", markup=False
        )


def _write_clip(app: Any, what: str, text: str) -> None:
    """The fallback copy of `y` (on a worker), and the notification that names both."""
    try:
        path = settings.write_clip(text)
    except OSError as error:
        where = f"(not written to a file: {error.strerror or error})"
    else:
        where = f"also in {path} (for terminals that ignore OSC 52)"
    message = f"copied {safe_text(what)}: {preview(text)}\n{where}"
    app.call_from_thread(app.notify, message, title="copied", markup=False)


SAVE_TIME_MODE_AFTER = 0.5  # seconds after the last `t` press


FOLLOWED_EVERY = 1.0  # s: under a burst, the newest row's flag is selected (its history read)


class MainKeys:
    def __init__(
        self,
        screen: Screen[None],
        host: ViewHost,
        painter: MainPainter,
        watched: set[str],
        select: Callable[[str], None],
    ) -> None:
        self.screen, self.app, self.host, self.painter = screen, screen.app, host, painter
        self._time_mode_timer: Timer | None = None
        self.watched = watched  # the screen's own set, shared
        self.select = select  # sets the screen's selected flag
        self._followed_at = -math.inf  # when the followed row's flag was last selected
        self._follow_later: Timer | None = None

    # -- w and t ------------------------------------------------------------------------------
    def toggle_watch(self, focused: Widget | None, selected: str | None) -> None:
        flag = self.painter.focused_flag(focused, selected)
        if flag is None:
            self.app.notify("Select a flag first (feed or values).", markup=False)
            return
        watched = flag not in self.watched
        self.watched.symmetric_difference_update({flag})
        monitor = self.host.monitor
        if monitor is not None:
            monitor.set_watched(flag, watched)
        self.painter.values.set_watched(self.watched)
        verb = "watching" if watched else "stopped watching"
        self.app.notify(f"{verb} {safe_text(flag)}", markup=False)
        profile = self.host.profile
        if settings.saves_watch(profile):  # the demo's and ad hoc profiles: this run only
            now = partial(self._watched_now, profile, flag, watched)
            job = partial(_save, self.app, "watch list", settings.save_watch)
            main_jobs.start(self.screen, "save-watch", job, profile, flag, now, exclusive=False)

    def _watched_now(self, profile: Profile, flag: str, pressed: bool) -> bool:
        """Whether `flag` is watched as the save runs (as pressed, if the profile changed)."""
        return flag in self.watched if self.host.profile.name == profile.name else pressed

    def save_time_mode(self, current: Callable[[], str]) -> None:
        """Saved once a burst of presses is over: writing the file parses it again, which
        holds up the next frames for a moment, and only the last mode matters."""
        if self._time_mode_timer is not None:
            self._time_mode_timer.stop()
        job = partial(_save, self.app, "time mode", settings.save_time_mode)
        self._time_mode_timer = self.screen.set_timer(
            SAVE_TIME_MODE_AFTER,
            partial(main_jobs.start, self.screen, "save-time-mode", job, current, exclusive=False),
        )

    # -- while the feed follows ----------------------------------------------------------------
    def follow(self, focused: Widget | None, selected: str | None) -> None:
        """The whole view again, following: the keys act on its newest row (a filter may have
        hidden the one they acted on), and the history pane shows its flag."""
        self.painter.follow()
        self.select_followed(focused, selected)

    def select_followed(
        self, focused: Widget | None, selected: str | None, *, busy: bool = False
    ) -> None:
        """As the feed follows, select its newest row's flag (once a paint): the keys act on
        that row (`MainPainter.focused_flag`), so the history pane shows its flag (a marker's
        row keeps the selection). Not while the values or the history have the focus: the keys
        act on their own flag there, and the history is not pulled from under a user reading
        it. `busy` (a burst): each selection is a history read (the journal's, on a thread,
        after the monitor's loop and the journal's writer), so at most one a `FOLLOWED_EVERY`,
        none while the last is still reading; a timer then selects the newest row's flag."""
        painter = self.painter
        if not painter.feed.following or focused in (painter.values, painter.history_pane):
            return
        now = painter.clock()
        wait = self._followed_at + FOLLOWED_EVERY - now
        if busy and (wait > 0 or not painter.history.current):
            if self._follow_later is None:  # the burst's last row too, once it is due
                self._follow_later = self.screen.set_timer(
                    max(wait, FOLLOWED_EVERY / 4), self._followed_later
                )
            return
        item = painter.feed.cursor_item
        flag = row_flag(item) if item is not None else None
        if flag is not None and flag != selected:
            self._followed_at = now
            self.select(flag)

    def _followed_later(self) -> None:
        self._follow_later = None
        if not self.painter.history.current:  # the last read still runs: after it, not beside
            self._follow_later = self.screen.set_timer(FOLLOWED_EVERY / 4, self._followed_later)
            return
        # As a quiet tick would; the burst may still run: its next selection waits again.
        self.select_followed(self.screen.focused, None)  # an unchanged flag is not read again

    # -- o ------------------------------------------------------------------------------------
    def open_coverage(self, focused: Widget | None, selected: str | None) -> None:
        """The flag `w` would act on, sampled for every context of the profile; its rules
        read by the run (a token profile; the monitor's copy when that read fails)."""
        flag = self.painter.focused_flag(focused, selected)
        if flag is None:
            self.app.notify("Select a flag first (feed or values).", markup=False)
            return
        # Imported here: the first frame paints before the monitor's modules load (ui/app.py).
        from togul_monitor.core.coverage import coverage_problem
        from togul_monitor.ui.screens.coverage import CoverageScreen

        profile = self.host.profile
        problem = coverage_problem(profile)
        if problem is not None:
            self.app.notify(f"No coverage: {problem}", severity="warning", markup=False)
            return
        monitor = self.host.monitor
        configs = getattr(monitor.snapshot(), "flag_configs", None) if monitor else None
        config = (configs or {}).get(flag)
        self.app.push_screen(CoverageScreen(profile, flag, config))

    # -- y ------------------------------------------------------------------------------------
    def copy(self, focused: Widget | None) -> None:
        """The focused pane's selection: a value as `key = value` (every context's, named, when
        the profile has several), a history entry's JSON, or (the feed) the selected row's
        event JSON."""
        painter = self.painter
        found: tuple[str, str] | None = None
        if focused is painter.values:
            table = painter.values
            key = table.selected_flag
            if key is not None:
                each = [(name, table.by_context[name].get(key)) for name in table.contexts]
                found = values_clip(key, each)
        elif focused is painter.history_pane:
            entry = painter.history_pane.selected_entry
            found = entry_clip(entry) if entry is not None else None
        else:
            item = painter.feed.cursor_item
            found = row_clip(item) if item is not None else None
        if found is None:
            self.app.notify("Nothing to copy: select a row first.", markup=False)
            return
        text, what = found
        self.app.copy_to_clipboard(text)  # OSC 52: many terminals ignore it, hence the file
        main_jobs.start(self.screen, "copy", _write_clip, self.app, what, text)

    # -- /, g and : ---------------------------------------------------------------------------
    def filter_key(self, focused: Widget | None, open_filter: Callable[[], None]) -> None:
        """`/` is a priority binding, run before the key reaches the focused widget.

        Keys are forwarded to the widget focused when the app reads them; a normal binding runs
        only once the feed has handled `/`, and by then keys typed right after it (a paste,
        `tmux send-keys '/text'`) were already forwarded to the feed and lost. Run first, the
        Input has focus before the next key is read. Where `/` is text (an Input has focus) or
        a modal is open, the key goes on as usual.
        """
        if self.app.screen is not self.screen or isinstance(focused, Input):
            raise SkipAction()
        open_filter()

    def flag_keys(self) -> set[str]:
        """Every flag key known: the values pane, the monitor's values and its inventory of
        flag configurations (a token profile's), the feed's rows."""
        keys = set(self.painter.values.values)
        monitor = self.host.monitor
        if monitor is not None:
            snapshot = monitor.snapshot()
            keys.update(snapshot.values)
            keys.update(getattr(snapshot, "flag_configs", None) or ())  # keyed by flag key
        store = self.painter.store
        for row in (*store.view, *store.pending):
            event = row_event(row)
            if event is not None:
                keys.add(event.flag_key)
        return keys

    def jump_key(self, focused: Widget | None) -> None:
        """`g` / `:` run before the key reaches the focused widget (as `/` does, `filter_key`):
        a normal binding runs only once the feed has handled the key, and by then the keys typed
        right after it (a paste, fast typing) were handed to the feed and lost, while enter,
        typed last, acted on the finder's empty box. Where the key is text (an Input has
        focus) or a modal is open, it goes on as usual."""
        if self.app.screen is not self.screen or isinstance(focused, Input):
            raise SkipAction()
        self.open_jump()

    def open_jump(self) -> None:
        keys = self.flag_keys()
        if not keys:
            self.app.notify("No flags known yet.", markup=False)
            return
        self.app.push_screen(JumpScreen(keys), self.jump_to)

    def jump_to(self, flag: str | None) -> None:
        """Select `flag` in every pane: the history, the values row, and the feed's cursor on
        its latest row (the filter stays as it is: a hidden flag is said, not shown).

        `w`, `o`, `y`, `enter` act on the focused pane's selection, so the focus goes where
        the flag's row is selected: the feed (the values keep it when focused with the flag's
        row selected). A flag with no row in the feed's view leaves the feed's cursor on
        another flag's row: its values row takes the focus, or, without one, the feed selects
        nothing (`w` and `o` then act on the selected flag)."""
        if flag is None:
            return
        self.select(flag)
        values = self.painter.values
        in_values = flag in values.values
        if in_values:
            values.move_cursor(row=values.get_row_index(flag))
        index = self._latest_index(flag)
        if index is not None:
            feed = self.painter.feed
            feed.move_to(index)
            if not (in_values and values.has_focus):  # the keys act on the flag's row there
                feed.focus()
            return
        if in_values:
            values.focus()
        else:
            self.painter.feed.select_nothing()
        where = "its values row is selected" if in_values else "the feed selects no row"
        self.app.notify(f"{safe_text(flag)}: {self._why_no_row(flag)}; {where}", markup=False)

    def _why_no_row(self, flag: str) -> str:
        """Why the feed's view has no row of `flag`: held while paused, hidden, or none came."""
        store = self.painter.store
        if any((event := row_event(row)) and event.flag_key == flag for row in store.pending):
            return "its events wait while the feed is paused"
        predicate = store.predicate
        if predicate.text_filter is not None or predicate.hidden_types:
            return "no event in the feed's view (the filter or hidden types may hide them)"
        return "no event in the feed's view"

    def _latest_index(self, flag: str | None) -> int | None:
        """The index of the flag's newest row in the feed's view."""
        view = self.painter.store.view
        for index in range(len(view) - 1, -1, -1):
            event = row_event(view[index])
            if event is not None and event.flag_key == flag:
                return index
        return None

    def latest_event(self, flag: str | None) -> FlagEvent | None:
        """The flag's newest event the view holds (held while paused, or shown)."""
        for row in reversed(self.painter.store.pending):
            event = row_event(row)
            if event is not None and event.flag_key == flag:
                return event
        index = self._latest_index(flag)
        return row_event(self.painter.store.view[index]) if index is not None else None
