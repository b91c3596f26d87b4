"""`end` follows the newest row from any pane of the main screen, as the feed's `+N new · end to
follow` promises, and while the feed follows the history pane shows the flag of the row the keys
act on (main_keys.py `select_followed`)."""

from __future__ import annotations

from typing import Any

from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.app import TogulMonitorApp
from togul_monitor.ui.screens.help import help_rows

from .helpers import make_app, make_profile, wait_for, wait_live


async def changes(pilot: Any, app: TogulMonitorApp, emu: EmulatorHandle, *flags: str) -> None:
    """One event of each of `flags`, in this order, shown in the feed."""
    shown = app.main.store.shown
    for flag in flags:
        emu.world.update_flag("production", flag, enabled=False)
    await wait_for(pilot, lambda: app.main.store.shown == shown + len(flags), what="the events")


def newest_selected(app: TogulMonitorApp) -> bool:
    feed = app.main.feed
    return feed.following and feed.cursor == len(app.main.store.view) - 1


async def test_end_follows_from_the_values_and_the_history_panes(emulator: EmulatorHandle) -> None:
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        await changes(pilot, app, emulator, "dark-mode", "checkout-v2")
        main = app.main
        await wait_for(pilot, lambda: main.values_table.row_count > 0, what="the values")
        for pane in (main.values_table, main.history_pane):
            main.feed.focus()
            await pilot.press("up")  # the feed stops following
            assert not main.feed.following
            pane.focus()
            await pilot.pause()
            await pilot.press("end")
            assert newest_selected(app), pane.id
            # The keys act on the newest row: the feed has the focus, its flag is selected.
            assert main.feed.has_focus
            assert main.selected_flag == "checkout-v2" == main.history_pane.flag_key


async def test_a_remapped_follow_key_follows_from_every_pane(emulator: EmulatorHandle) -> None:
    app = make_app(make_profile(emulator), keymap={"follow": "f"})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        await changes(pilot, app, emulator, "dark-mode", "checkout-v2")
        main = app.main
        assert {binding: keys for keys, _, binding in help_rows(app.keymap)}["follow"] == "f"
        for pane in (main.feed, main.values_table, main.history_pane):
            main.feed.focus()
            await pilot.press("up")
            pane.focus()
            await pilot.pause()
            await pilot.press("end")  # no longer the key: the tables' own `end` scrolls sideways
            assert not main.feed.following, pane.id
            await pilot.press("f")
            assert newest_selected(app), pane.id


async def test_the_history_shows_the_newest_row_s_flag_while_the_feed_follows(
    emulator: EmulatorHandle,
) -> None:
    """The pane kept the flag of an earlier selection while `w`, `enter`, `o` acted on the
    newest row."""
    app = make_app(make_profile(emulator))  # new-dashboard, watched, selected at the start
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        main = app.main
        await changes(pilot, app, emulator, "dark-mode")
        await wait_for(pilot, lambda: main.history_pane.flag_key == "dark-mode", what="dark-mode")
        await changes(pilot, app, emulator, "checkout-v2")
        await pilot.press("up")  # the user selects dark-mode's row
        assert main.history_pane.flag_key == "dark-mode"
        await changes(pilot, app, emulator, "maintenance-banner")
        await pilot.press("end")
        assert main.selected_flag == "maintenance-banner" == main.history_pane.flag_key
        # While it follows, each new row's flag, read from the journal.
        await changes(pilot, app, emulator, "new-dashboard")
        await wait_for(
            pilot,
            lambda: main.history_pane.flag_key == "new-dashboard" and main.history_pane.entries,
            what="new-dashboard's history",
        )
        assert main.keys.latest_event("new-dashboard") in main.history_pane.entries
        watched = set(main.watched)
        await pilot.press("w")  # the flag the pane shows
        assert main.watched == watched ^ {"new-dashboard"}


async def test_the_history_pane_keeps_its_flag_while_it_has_the_focus(
    emulator: EmulatorHandle,
) -> None:
    """Read there, the history is not pulled away by new rows; the keys act on its flag."""
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        main = app.main
        await changes(pilot, app, emulator, "dark-mode")
        await wait_for(pilot, lambda: main.history_pane.flag_key == "dark-mode", what="dark-mode")
        main.history_pane.focus()
        await pilot.pause()
        await changes(pilot, app, emulator, "checkout-v2")
        await pilot.pause()
        assert main.feed.following and main.history_pane.flag_key == "dark-mode"
        watched = set(main.watched)
        await pilot.press("w")
        assert main.watched == watched ^ {"dark-mode"}


class _Timers:
    """The screen's `set_timer`, run by hand."""

    def __init__(self) -> None:
        self.pending: list[tuple[float, Any]] = []
        self.app = None
        self.focused = None

    def set_timer(self, delay: float, callback: Any) -> object:
        self.pending.append((delay, callback))
        return object()

    def fire(self) -> None:
        (_, callback), *self.pending = self.pending
        callback()


def test_a_burst_selects_its_newest_flag_once_a_second_and_its_last_one_after_it() -> None:
    """Each selection is a history read (a thread, the monitor's loop, the journal's writer):
    under a burst at most one a second and none while one still reads, and a timer then
    selects the newest row's flag, so the pane never stays on an earlier one."""
    from types import SimpleNamespace

    from togul_monitor.domain.events import FlagEvent
    from togul_monitor.ui.screens.main_keys import FOLLOWED_EVERY, MainKeys
    from togul_monitor.ui.view.history import HistoryReads

    now, selected, reads = [100.0], [], HistoryReads()
    feed = SimpleNamespace(following=True, cursor_item=None)
    painter = SimpleNamespace(
        feed=feed, values=object(), history_pane=object(), history=reads, clock=lambda: now[0]
    )
    screen = _Timers()

    def select(flag: str) -> None:
        selected.append(flag)
        reads.request()  # the read starts; it answers when the test says

    keys = MainKeys(screen, None, painter, set(), select)  # type: ignore[arg-type]

    def row(flag: str) -> None:
        feed.cursor_item = FlagEvent("flag.updated", flag, "e", 1, now[0], None, now[0])

    row("a")
    keys.select_followed(None, None, busy=True)  # the burst's first row: at once
    assert selected == ["a"] and not screen.pending
    for flag in "bcd":  # within the second, the read of `a` still running: none
        row(flag)
        now[0] += FOLLOWED_EVERY / 10
        keys.select_followed(None, "a", busy=True)
    assert selected == ["a"] and len(screen.pending) == 1  # one timer for them all
    now[0] += FOLLOWED_EVERY
    row("e")
    keys.select_followed(None, "a", busy=True)  # a second on, but `a` still reads
    assert selected == ["a"]
    reads.answer(reads.requested)
    keys.select_followed(None, "a", busy=True)  # `a` read: the newest row's
    assert selected == ["a", "e"]
    row("f")  # the burst's last row
    screen.fire()  # its timer, while `e` still reads: it waits for the read
    assert selected == ["a", "e"] and len(screen.pending) == 1
    reads.answer(reads.requested)
    screen.fire()  # `e` read: as a quiet tick would
    assert selected == ["a", "e", "f"]


async def test_a_filter_that_hides_the_newest_row_selects_the_newest_row_it_shows(
    emulator: EmulatorHandle,
) -> None:
    app = make_app(make_profile(emulator))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        await changes(pilot, app, emulator, "dark-mode", "checkout-v2")
        main = app.main
        await wait_for(pilot, lambda: main.history_pane.flag_key == "checkout-v2", what="it")
        await pilot.press("slash", *"!checkout", "enter")
        await wait_for(pilot, lambda: main.filter.text == "!checkout", what="the filter")
        assert newest_selected(app)
        # The keys act on dark-mode's row, the newest shown: the history pane shows its flag.
        await wait_for(pilot, lambda: main.history_pane.flag_key == "dark-mode", what="it")
        assert main.selected_flag == "dark-mode"
        await pilot.press("space", "space")  # paused, and resumed: it follows again
        await changes(pilot, app, emulator, "beta-search")
        await wait_for(pilot, lambda: main.history_pane.flag_key == "beta-search", what="it")
