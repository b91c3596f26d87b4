"""A view that remembers: after a restart or a switch the feed opens on what the journal recorded
(marked, with where this run begins and the window nobody watched), then live rows follow."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from togul_monitor.config.entry import ProfileEntry
from togul_monitor.config.profiles import Profile, ProfileStore
from togul_monitor.config.resolve import resolve_profile
from togul_monitor.core import Monitor
from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.emulator.harness import EmulatorHandle, running_emulator
from togul_monitor.store.journal import open_reader_at

from ..waits import until
from .helpers import feed_lines, make_app, make_profile, wait_for, wait_live


async def record_run(
    emu: EmulatorHandle, profile: Profile, flags: list[str], env: str = "production"
) -> None:
    """An earlier run: a recording monitor sees `flags` change, then stops."""
    monitor = Monitor(profile, record=True)
    await monitor.start()
    try:
        await until(lambda: emu.open_streams == 1, "the stream")
        for flag in flags:
            await asyncio.to_thread(emu.world.update_flag, env, flag, enabled=False)
        await until(lambda: len(monitor.events()) == len(flags), "the events")
        await until(
            lambda: all(
                (v := monitor.values().get(f)) is not None and v.current is not None for f in flags
            ),
            "the values",
        )
    finally:
        await monitor.stop()
    await until(lambda: emu.open_streams == 0, "the stream closed")


def marked(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [line for line in feed_lines(app) if "──" in line]


@pytest.fixture(params=[False, True], ids=["documented", "ids"])
def emulator_any(request: pytest.FixtureRequest) -> Iterator[EmulatorHandle]:
    with running_emulator(seed=0, heartbeat=0.2, replay=1000, ids=request.param) as emu:
        yield emu


async def test_a_restart_opens_on_the_recorded_rows_then_live_ones_follow(
    emulator_any: EmulatorHandle,
) -> None:
    """The time since the last recorded row is an outage of the stream, resumed after that row
    (with event ids, the server replays what came meanwhile): its marker says what the replay
    proved (nothing here: the stream stays quiet, so no first event proves the ids continue)."""
    emulator = emulator_any
    profile = make_profile(emulator, name="remembers")
    await record_run(emulator, profile, ["new-dashboard", "dark-mode"])
    mark = open_reader_at(profile.name, None).watched_until()  # when that run stopped watching

    app = make_app(make_profile(emulator, name="remembers"))
    async with app.run_test(size=(140, 40)) as pilot:
        store = app.main.store
        await wait_for(pilot, lambda: store.recorded == 2, what="the recorded rows")
        await wait_for(pilot, lambda: len(store.view) == 5, what="the outage marker")
        lines = feed_lines(app)
        assert "new-dashboard" in lines[0] and "dark-mode" in lines[1]
        assert "recorded earlier (journal) · live from" in lines[2]
        assert "disconnected" in lines[3] and "changes in this window may be missing" in lines[4]
        outage = getattr(store.view[3], "source", None)
        assert isinstance(outage, Outage) and outage.started_at == mark  # from the mark
        # The journal's values show at once (stale baselines until re-evaluated).
        assert {"new-dashboard", "dark-mode"} <= set(app.main.values_table.values)
        # The history pane shows the latest recorded flag's, from the journal.
        assert app.main.selected_flag == "new-dashboard"  # the watched one comes first
        await wait_for(
            pilot,
            lambda: any(isinstance(e, FlagEvent) for e in app.main.history_pane.entries),
            what="the history from the journal",
        )

        await wait_live(pilot, app)
        emulator.world.update_flag("production", "maintenance-banner", enabled=True)
        await wait_for(pilot, lambda: len(store.view) == 6, what="the live row")
        assert "maintenance-banner" in feed_lines(app)[5]
        assert store.recorded == 2  # the live row is not marked
        assert store.received == 3 and store.shown == 3


async def test_a_switch_opens_the_other_profiles_recorded_rows(emulator: EmulatorHandle) -> None:
    store_file = ProfileStore()
    for name, env in (("prod", "production"), ("stage", "staging")):
        store_file.add(
            ProfileEntry(
                name=name,
                base_url=emulator.base_url,
                environment_key=env,
                api_key=emulator.credentials.keys[env]["sdk"],
                heartbeat_seconds=0.2,
            )
        )
    await record_run(emulator, resolve_profile("stage"), ["dark-mode"], env="staging")

    app = make_app(resolve_profile("prod"))
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_live(pilot, app)
        assert app.main.store.recorded == 0 and not marked(app)  # prod never ran
        app.switch_profile("stage")
        await wait_for(pilot, lambda: app.main.store.recorded == 1, what="stage's journal")
        assert "dark-mode" in feed_lines(app)[0]
        assert any("live from" in line for line in marked(app))
        assert app.main.selected_flag == "dark-mode"  # nothing watched: the latest recorded
        await wait_live(pilot, app)
        emulator.world.update_flag("staging", "new-dashboard", enabled=False)
        await wait_for(pilot, lambda: app.main.store.shown == 2, what="the live staging row")
        assert "new-dashboard" in feed_lines(app)[-1]


class _Log:
    """A monitor's event log as the store reads it: rows from position 0."""

    def __init__(self, rows: list[FlagEvent]) -> None:
        self.rows = rows

    def rows_since(self, position: int) -> tuple[list[FlagEvent], int]:
        return self.rows[position:], len(self.rows)


def _event(flag: str, at: float) -> FlagEvent:
    return FlagEvent("flag.updated", flag, "env", 1, at, None, at)


def test_the_store_keeps_recorded_rows_first_and_marked_through_refilters_and_trims() -> None:
    from togul_monitor.domain.filters import parse_filter
    from togul_monitor.ui.view.feed_predicate import FeedPredicate
    from togul_monitor.ui.view.feed_store import FeedStore
    from togul_monitor.ui.view.rows import boundary_items

    log = _Log([_event("a", 1.0), _event("b", 2.0), _event("a", 3.0)])
    store = FeedStore(view_size=5)
    store.attach(log, 3, lambda rows: boundary_items(rows, live_from=10.0))
    assert store.recorded == 3 and len(store.view) == 5  # 3 rows, the separator, the window
    assert [getattr(row, "marker", None) for row in store.view][3:] == ["info", "outage-missing"]
    live = _event("c", 11.0)
    log.rows.append(live)
    store.add_row(live)  # the view is full: the oldest recorded row goes
    assert store.recorded == 2 and store.view[-1] is live

    store.refilter(
        FeedPredicate(parse_filter("flag:a"))
    )  # the boundary stays between the two parts
    assert [getattr(row, "flag_key", None) for row in store.view] == ["a", "a", None, None]
    assert store.recorded == 2
    store.clear()  # a clear drops the recorded part and its boundary for good
    store.refilter(FeedPredicate())
    assert store.recorded == 0 and list(store.view) == []


def test_the_demo_records_for_this_run_only() -> None:
    # A demo world is new on every run: its journal must not backfill the next one.
    from togul_monitor.config.profiles import Profile
    from togul_monitor.store.files import journal_path
    from togul_monitor.ui.session import default_monitor_factory

    demo = Profile("demo-production", "http://127.0.0.1:9", "production", builtin=True)
    runner = default_monitor_factory(demo, lambda: 0.0)
    folder = runner.monitor._journal_dir  # type: ignore[attr-defined]
    assert folder is not None and folder.is_dir()
    assert journal_path(demo.name, folder) != journal_path(demo.name)
    saved = Profile("prod", "http://127.0.0.1:9", "production")
    assert default_monitor_factory(saved, lambda: 0.0).monitor._journal_dir is None  # type: ignore[attr-defined]


def test_rows_another_process_recorded_mark_no_window_as_unwatched() -> None:
    """Beside a recorder (a busy SQLite journal, a shared one) the rows are its, and it was
    watching the stream meanwhile: the time since its last row is no window nobody watched."""
    from togul_monitor.ui.view.rows import boundary_items

    rows = [FlagEvent("flag.updated", "f", "env", 2, 1, None, 5.0)]
    alone = boundary_items(rows, live_from=10.0, time_mode="utc")
    assert [item.marker for item in alone] == ["info", "outage-missing"]
    beside = boundary_items(rows, live_from=10.0, time_mode="utc", elsewhere=True)
    assert [item.marker for item in beside] == ["info"]
    assert "recorded by another process (journal)" in beside[0].text


def test_only_a_busy_sqlite_journal_proves_another_process_watched_meanwhile() -> None:
    from types import SimpleNamespace

    from togul_monitor.store.reading import READ_ONLY_NOTICE
    from togul_monitor.ui.view.rows import recorded_elsewhere

    def snapshot(busy: bool, notice: str) -> object:
        return SimpleNamespace(recorder_busy=busy, journal_notice=notice)

    assert recorded_elsewhere(snapshot(True, "not recording: another process records it"))  # type: ignore[arg-type]
    # A shared journal's recorder may have stopped overnight: its gaps may be unwatched.
    assert not recorded_elsewhere(snapshot(True, READ_ONLY_NOTICE))  # type: ignore[arg-type]
    assert not recorded_elsewhere(snapshot(False, "not recording: the disk is full"))  # type: ignore[arg-type]


def test_the_value_changes_of_the_monitor_before_a_switch_are_not_shown_on_the_next_ones_rows() -> (
    None
):
    """Event ids are per stream: another profile's event 932 is not this one's."""
    from togul_monitor.domain.values import Evaluation, ValueTransition
    from togul_monitor.ui.view.feed_store import FeedStore

    store = FeedStore(view_size=5)
    store.attach(_Log([]), 0)
    on, off = Evaluation(True, None, None, None), Evaluation(False, None, None, None)
    store.add_transition(ValueTransition("max-upload-mb", on, off, "932", 1.0))
    store.attach(_Log([]), 0)  # the other profile's monitor
    theirs = FlagEvent("flag.updated", "feature-limits", "env", 3, 2.0, "932", 2.0)
    assert store.transitions_for(theirs) == ()


def test_the_window_nobody_watched_starts_when_the_recorder_stopped_watching() -> None:
    """A reader's feed dates the window from the journal's "watched until" mark when its
    recorder stayed live after its last event (core/watched.py), as a recording run's outage
    starts there; from the last event when that is later; none once the mark reaches this run."""
    from togul_monitor.ui.view.rows import Unwatched, boundary_items

    rows = [FlagEvent("flag.updated", "f", "env", 2, 1, None, 5.0)]

    def window(watched_until: float | None) -> Outage | None:
        items = boundary_items(rows, live_from=100.0, time_mode="utc", watched_until=watched_until)
        sources = [item.source for item in items if type(item.source) is Unwatched]
        return sources[0].outage if sources else None

    assert window(None) == Outage(5.0, 100.0, None, True, 100.0)
    assert window(61.0) == Outage(61.0, 100.0, None, True, 100.0)  # watched until 61
    assert window(3.0) == Outage(5.0, 100.0, None, True, 100.0)  # an older program's event
    assert window(100.0) is None  # watched until this run began
    items = boundary_items(rows, live_from=100.0, time_mode="utc", watched_until=61.0)
    assert "not watched 00:01:01Z–00:01:40Z" in items[1].text


async def test_a_shared_journals_reader_dates_the_unwatched_window_from_the_recorders_mark(
    emulator: EmulatorHandle,
) -> None:
    """A TUI that reads a shared journal (PostgreSQL, recorded by `record`) claims no window
    nobody watched while the recorder is live, whose mark is up to its pace old (and `e`
    exports none, as `export` has none); once the recorder has stopped, it shows and exports
    the window from when the recorder stopped watching, not from the journal's last event: the
    recorder stayed live after it. Skipped without PostgreSQL."""
    import dataclasses
    import time

    from tests.journal_backends import postgres_url, scratch_profile
    from togul_monitor.core.watched import LIVE_MARK_SLACK, WATCHED_PACE
    from togul_monitor.domain.events import ConnectionState
    from togul_monitor.ui.view.rows import Unwatched

    url = postgres_url()

    def windows(app: Any) -> list[Outage]:
        return [i.source.outage for i in app.main.store.boundary if type(i.source) is Unwatched]

    with scratch_profile(url) as name:
        profile = dataclasses.replace(make_profile(emulator, name=name), journal_url=url)
        recorder = Monitor(profile, journal_writer=True)
        await recorder.start()
        try:
            await until(lambda: recorder.snapshot().status.state is ConnectionState.LIVE, "live")
            await asyncio.to_thread(emulator.world.update_flag, "production", "dark-mode")
            await until(lambda: len(recorder.events()) == 1, "the recorded event")
            last = recorder.events()[-1].received_at
            # Live well past its event: heartbeats a second and more after it.
            await until(
                lambda: (recorder.snapshot().last_heartbeat_at or 0) > last + 1.2, "a heartbeat"
            )
            # Its mark is the time it went live (the next comes at its pace): it watches on.
            app = make_app(profile)
            async with app.run_test(size=(140, 40)) as pilot:
                store = app.main.store
                await wait_for(pilot, lambda: store.recorded == 1, what="the recorded row")
                assert windows(app) == []
                assert not any("not watched" in line for line in marked(app))
                assert [r for r in store.export_rows() if not isinstance(r, FlagEvent)] == []
        finally:
            await recorder.stop()
        reader = open_reader_at(name, url)
        try:
            mark = reader.watched_until()
        finally:
            reader.close()
        assert mark is not None and mark > last + 1.2

        # Opened a while after the recorder stopped: its mark is older than a live one's.
        later = WATCHED_PACE + emulator.heartbeat + LIVE_MARK_SLACK + 30
        app = make_app(profile, clock=lambda: time.time() + later)
        async with app.run_test(size=(140, 40)) as pilot:
            store = app.main.store
            await wait_for(pilot, lambda: store.recorded == 1, what="the recorded row")
            assert [(w.started_at, w.may_have_missed) for w in windows(app)] == [(mark, True)]
            assert windows(app)[0].ended_at <= time.time() + later
            assert any("not watched" in line for line in marked(app))
            exported = [row for row in store.export_rows() if not isinstance(row, FlagEvent)]
            assert exported == windows(app)  # what `e` writes as the window nobody watched


def test_a_late_window_takes_its_place_under_where_this_run_begins() -> None:
    """A recorder taken as live at the start had stopped (core/updates.py `RecorderStopped`):
    the window from its mark to this run's start joins the boundary, in the view right under
    where this run begins (before the live rows come since, the oldest row trimmed for it), in
    what `e` exports, and through a refilter; once only."""
    from togul_monitor.ui.view.batch import late_window
    from togul_monitor.ui.view.feed_predicate import FeedPredicate
    from togul_monitor.ui.view.feed_store import FeedStore
    from togul_monitor.ui.view.rows import FeedItem, Unwatched, boundary_items

    log = _Log([_event("a", 1.0), _event("b", 2.0), _event("a", 3.0)])
    store = FeedStore(view_size=5)
    # The mark of a recorder taken as live reads as this run's start: no window yet.
    store.attach(log, 3, lambda rows: boundary_items(rows, live_from=10.0, watched_until=10.0))
    live = _event("c", 11.0)
    log.rows.append(live)
    store.add_row(live)
    assert [getattr(row, "marker", None) for row in store.view] == [None] * 3 + ["info", None]

    late_window(store, 4.0)
    late_window(store, 6.0)  # said again (the snapshot had it): nothing more
    window = Outage(4.0, 10.0, None, True, 10.0)
    markers = [getattr(row, "marker", None) for row in store.view]
    assert markers == [None, None, "info", "outage-missing", None]
    assert store.view[-1] is live and store.recorded == 2 and store.trimmed == 1
    item = store.view[3]
    assert isinstance(item, FeedItem) and item.source == Unwatched(window)
    assert store.export_rows() == [*log.rows[:3], window, live]
    store.refilter(FeedPredicate())
    assert [getattr(row, "marker", None) for row in store.view][-3:] == [
        "info",
        "outage-missing",
        None,
    ]


def test_a_window_comes_late_beside_a_recorder_that_turns_out_to_have_stopped() -> None:
    """Beside a busy SQLite file's recorder no window shows at the start (its lock shows it
    running); once it turns out to have stopped watching (taken over, its mark its last
    word: core/updates.py `RecorderStopped`), the window from its mark shows, and `e` exports
    it."""
    from togul_monitor.ui.view.batch import late_window
    from togul_monitor.ui.view.feed_store import FeedStore
    from togul_monitor.ui.view.rows import boundary_items

    log = _Log([_event("a", 1.0), _event("b", 2.0)])
    store = FeedStore(view_size=5)
    store.attach(
        log, 2, lambda rows: boundary_items(rows, live_from=10.0, elsewhere=True, watched_until=4.0)
    )
    assert [getattr(row, "marker", None) for row in store.view] == [None, None, "info"]
    late_window(store, 4.0)
    assert [getattr(row, "marker", None) for row in store.view][-1] == "outage-missing"
    assert store.export_rows() == [*log.rows, Outage(4.0, 10.0, None, True, 10.0)]


def test_a_late_window_gives_way_to_the_takeover_s_first_outage_that_says_it() -> None:
    """A reader showed the window its stopped recorder left (`RecorderStopped`), then took the
    journal over before its own stream was live: that stream's first outage, from the mark to
    when it went live (core/intake.py `unwatched_from`), is what the journal holds of the same
    time. The feed shows it once: the outage's row, the late window gone from the view, from
    what `e` exports and from a refilter."""
    from togul_monitor.core.updates import RecorderStopped
    from togul_monitor.ui.view.batch import take_batch
    from togul_monitor.ui.view.feed_predicate import FeedPredicate
    from togul_monitor.ui.view.feed_store import FeedStore
    from togul_monitor.ui.view.rows import boundary_items

    log = _Log([_event("a", 1.0), _event("b", 2.0)])
    store = FeedStore(view_size=10)
    store.attach(
        log, 2, lambda rows: boundary_items(rows, live_from=10.0, elsewhere=True, watched_until=4.0)
    )

    def take(*updates: object) -> None:
        take_batch(list(updates), store, environment_names={}, selected=None, watched=set())

    take(RecorderStopped(4.0))
    assert [getattr(row, "marker", None) for row in store.view][-1] == "outage-missing"
    outage = Outage(4.0, 12.0, None, True, 13.0)  # the first live connection's
    log.rows.append(outage)  # type: ignore[arg-type]
    take(outage)
    windows = [row for row in store.view if getattr(row, "marker", "").startswith("outage")]
    assert [row.source for row in windows] == [outage]  # type: ignore[attr-defined]
    assert [r for r in store.export_rows() if not isinstance(r, FlagEvent)] == [outage]
    store.refilter(FeedPredicate())
    windows = [row for row in store.view if getattr(row, "marker", "").startswith("outage")]
    assert [row.source for row in windows] == [outage]  # type: ignore[attr-defined]


async def test_a_readers_window_comes_late_when_the_recorders_recent_mark_did_not_move(
    emulator: EmulatorHandle,
) -> None:
    """A TUI that opens a shared journal on a mark 10 s old takes its recorder as live: no
    window nobody watched. Once a live recorder would have moved the mark (by the app's
    clock), it is read again; it did not move, so the recorder had stopped there: the window
    from it to this run's start is shown then, under where this run begins, and `e` exports
    it. Skipped without PostgreSQL."""
    import dataclasses
    import time

    from tests.journal_backends import postgres_url, scratch_profile
    from togul_monitor.core.watched import LIVE_MARK_SLACK, WATCHED_PACE
    from togul_monitor.store.journal import open_journal_at
    from togul_monitor.ui.view.rows import Unwatched

    url = postgres_url()
    shift = [0.0]

    def clock() -> float:
        return time.time() + shift[0]

    def windows(app: Any) -> list[Outage]:
        return [i.source.outage for i in app.main.store.boundary if type(i.source) is Unwatched]

    with scratch_profile(url) as name:
        profile = dataclasses.replace(make_profile(emulator, name=name), journal_url=url)
        environment = emulator.credentials.environment_ids["production"]
        mark = clock() - 10.0
        recorder = open_journal_at(name, url)
        try:
            event = FlagEvent("flag.updated", "dark-mode", environment, 2, mark, None, mark - 2)
            recorder.append_event(event)
            recorder.set_watched_until(mark)
            assert recorder.flush()
        finally:
            recorder.close()  # killed: the mark moves no more

        app = make_app(profile, clock=clock)
        async with app.run_test(size=(140, 40)) as pilot:
            store = app.main.store
            await wait_for(pilot, lambda: store.recorded == 1, what="the recorded row")
            assert windows(app) == []  # taken as live
            assert not any("not watched" in line for line in marked(app))
            shift[0] += WATCHED_PACE + emulator.heartbeat + LIVE_MARK_SLACK
            await wait_for(pilot, lambda: windows(app), what="the late window")
            (window,) = windows(app)
            assert (window.started_at, window.may_have_missed) == (mark, True)
            lines = marked(app)
            assert "recorded earlier" in lines[0] and "not watched" in lines[1]
            exported = [row for row in store.export_rows() if not isinstance(row, FlagEvent)]
            assert exported == [window]
