"""The recorder's "watched until" mark (core/watched.py) as the intake keeps it: the live
stream's last sign of life, written when watching begins, at the pace and when it ends; never
while an outage is untold, so the next run's outage between the runs starts where watching
stopped. The pace is driven by hand (`_tick`): no waiting on a timer."""

from __future__ import annotations

import time
from collections.abc import Callable

from togul_monitor.client.outages import ResumePoint
from togul_monitor.config.entry import DEFAULT_HEARTBEAT_SECONDS
from togul_monitor.core.intake import Intake
from togul_monitor.core.updates import UpdateHub
from togul_monitor.core.watched import WATCHED_PACE
from togul_monitor.domain.events import (
    ConnectionState,
    FlagEvent,
    Heartbeat,
    Outage,
    Status,
)
from togul_monitor.store.model import Watcher

LIVE, RETRYING = ConnectionState.LIVE, ConnectionState.RETRYING


class MarkedJournal:
    """What the intake writes into its journal: the marks (with whose watch, since when), and
    the outages."""

    many_recorders = False

    def __init__(self) -> None:
        self.marks: list[float] = []
        self.watches: list[Watcher | None] = []
        self.outages: list[Outage] = []
        self.pending = 0
        self.writing = True

    def set_watched_until(self, at: float, by: Watcher | None = None) -> None:
        self.marks.append(at)
        self.watches.append(by)

    def append_outage(self, outage: Outage) -> None:
        self.outages.append(outage)

    def append_events(self, batch: list[FlagEvent]) -> None:
        pass


def bare_intake(
    journal: MarkedJournal | None = None,
    *,
    log_size: int = 100,
    on_blind: Callable[[bool], None] = lambda blind: None,
) -> Intake:
    """An intake whose callbacks do nothing (but `on_blind`), recording into `journal`."""
    intake = Intake(
        UpdateHub(100),
        time.time,
        log_size=log_size,
        on_events=lambda batch: None,
        on_outage=lambda unseen, ask: None,
        on_proven=lambda later: None,
        on_gap=lambda gap: None,
        on_blind=on_blind,
        on_change=lambda: None,
    )
    intake.journal = journal  # type: ignore[assignment]
    return intake


async def test_the_mark_follows_the_live_stream_and_stays_where_it_was_lost() -> None:
    journal = MarkedJournal()
    intake = bare_intake(journal)
    intake._handle(Status(LIVE, 10.0))
    assert journal.marks == [10.0]  # watched from going live
    intake._handle(Heartbeat(12.0))
    intake.watched._tick()
    intake.watched._tick()  # nothing new: not written again
    assert journal.marks == [10.0, 12.0]
    intake._handle(Heartbeat(14.0))
    intake._handle(Status(RETRYING, 60.0))  # noticed after a read timeout of silence
    assert journal.marks[-1] == 14.0  # its last sign of life, not when it was noticed
    intake._handle(Status(LIVE, 70.0))  # back, its outage not told yet
    intake._handle(Heartbeat(71.0))
    assert journal.marks[-1] == 14.0 and not intake.watched.watching  # no pace meanwhile
    intake._handle(Outage(14.0, 70.0, None, True, 71.5))  # journalled: watched from here on
    assert journal.marks[-1] == 71.5
    await intake.stop()
    assert journal.marks[-1] == 71.5 and not intake.watched.watching
    # Each mark says whose unbroken watch, since when: begun again after the outage; and
    # within how long it moves again while watched (the pace and the profile's heartbeat).
    recorder, within = intake.watched.recorder, WATCHED_PACE + DEFAULT_HEARTBEAT_SECONDS
    assert journal.watches[0] == Watcher(recorder, 10.0, 10.0, within)
    assert journal.watches[2] == Watcher(recorder, 10.0, 14.0, within)
    assert journal.watches[-1] == Watcher(recorder, 71.5, 71.5, within)


async def test_a_resumed_run_is_watched_only_once_the_time_between_the_runs_is_told() -> None:
    journal = MarkedJournal()
    intake = bare_intake(journal)
    intake.preload([], resumed=ResumePoint("7", 5.0, "env-1"))
    intake._handle(Status(LIVE, 100.0))
    intake._handle(Heartbeat(101.0))
    assert journal.marks == []  # a stop now leaves the earlier run's mark: 5.0 to now
    await intake.stop()
    assert journal.marks == []
    intake = bare_intake(journal)
    intake.preload([], resumed=ResumePoint("7", 5.0, "env-1"))
    intake._handle(Status(LIVE, 100.0))
    intake._handle(Outage(5.0, 100.0, 0, False, 100.5))
    intake._handle(Heartbeat(102.0))
    await intake.stop()
    assert journal.marks == [100.5, 102.0]


def test_an_outage_that_reaches_a_readers_start_says_nobody_watched_from_its_start() -> None:
    """A mark that moved past a reader's start, yet with an outage journalled that reaches
    that start (a second recorder's between the runs, from the mark it found): nobody watched
    from there (core/watched.py `unwatched_since`)."""
    from togul_monitor.core.watched import unwatched_since

    def outage(started: float, ended: float) -> Outage:
        return Outage(started, ended, None, True, ended)

    mark, start = 10.0, 20.0
    assert unwatched_since(mark, start, []) is None  # moved: watched on
    assert unwatched_since(mark, start, [outage(10.0, 25.0)]) == mark  # the second's
    assert unwatched_since(mark, start, [outage(12.0, 25.0)]) == 12.0  # its stream lost
    assert unwatched_since(mark, start, [outage(2.0, 25.0)]) == mark  # never before the mark
    assert unwatched_since(mark, start, [outage(21.0, 25.0)]) is None  # after the start
    assert unwatched_since(mark, start, [outage(11.0, 15.0)]) is None  # watched again by then
