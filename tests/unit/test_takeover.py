"""What a monitor journals when it takes over a journal whose recorder has gone
(core/takeover.py `hand_over`): the rows after the journal's last event, or an outage when its
event log cannot tell what the journal lacks. A real SQLite journal, no server."""

from __future__ import annotations

import asyncio
import math
import sqlite3
import time
from pathlib import Path

from togul_monitor.core.recording import open_journal
from togul_monitor.core.takeover import (
    Taken,
    Takeover,
    hand_over,
    placed_by_time,
    read_taken,
    stream_identity,
    unheld_changes,
    unjournalled,
)
from togul_monitor.domain.event_log import EventLog
from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.flag_config import Change, ConfigDiff
from togul_monitor.domain.flag_values import FlagValues
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.store.journal import (
    Journal,
    RecorderBusy,
    SqliteJournal,
    journal_path,
    open_reader_at,
)
from togul_monitor.store.model import StoredDiff
from togul_monitor.store.reader import iter_journal_events, read_config_diffs, read_last_values
from togul_monitor.store.reading import ReadingJournal
from togul_monitor.support.files import FileLock

from ..waits import until

T = time.time() - 60  # within the journal's retention
ON, OFF = Evaluation(True, "boolean", "default", True), Evaluation(False, "boolean", "off", False)


def event(version: int, at: float, event_id: str | None = None) -> FlagEvent:
    """Flag f's event of `version`, received `at` seconds after T."""
    return FlagEvent("flag.updated", "f", "env-1", version, T - 100 + version, event_id, T + at)


def outage(started: float, ended: float) -> Outage:
    return Outage(T + started, T + ended, None, True, T + ended)


def outages(path: Path) -> list[Outage]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT started_at, ended_at, replayed, may_have_missed, received_at FROM outages"
        ).fetchall()
    return [Outage(a, b, c, bool(d), e) for a, b, c, d, e in rows]


def transitions(path: Path) -> list[ValueTransition]:
    """Every transition the journal holds, as written (read_history merges repeats)."""
    reader = open_reader_at("p", path)
    try:
        return list(reader.iter_transitions())
    finally:
        reader.close()


def test_the_rows_after_the_journals_last_event_are_what_it_lacks() -> None:
    # Earlier runs' rows (0, 1), then this run's from position 2.
    rows = [event(1, 1.0), event(2, 2.0), event(3, 3.0), event(4, 4.0)]
    assert unjournalled(rows, 0, 2, event(3, 3.5)) == [event(4, 4.0)]  # received at other times
    assert unjournalled(rows, 0, 2, event(1, 1.0)) == rows[2:]  # nothing of this run journalled
    assert unjournalled(rows, 0, 2, None) == rows[2:]  # a journal with no event at all
    assert unjournalled(rows, 0, 2, event(9, 9.0)) is None  # not in the log: cannot tell
    assert unjournalled(rows[1:], 3, 2, None) is None  # this run's first row was trimmed
    with_ids = [event(1, 1.0, "7"), event(1, 2.0, "8")]  # same version, other ids
    assert unjournalled(with_ids, 0, 0, event(1, 1.0, "7")) == with_ids[1:]


def test_the_hand_over_journals_what_the_journal_lacks(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite3"
    log = EventLog(100)
    log.extend([event(1, 1.0)])  # preloaded: the journal's
    live_from = log.end
    log.extend([event(2, 2.0), outage(2.5, 3.0), event(3, 3.5)])
    values = FlagValues()
    values.seed("f", ON, T + 1.0)
    values.record("f", OFF, event_id=None, at=T + 3.6)
    before = ValueTransition("f", None, ON, None, T + 1.5)  # the old recorder's, journalled
    after = ValueTransition("f", ON, OFF, None, T + 3.6)
    first = Journal.open(path)
    first.append_events([event(1, 1.0)])
    first.append_transition(before)
    first.close()
    journal = Journal.open(path)
    hand_over(read_taken(journal), log, live_from, [before, after], {"default": values}, T + 4)
    journal.close()
    assert [e.version for e in iter_journal_events(path)] == [1, 2, 3]
    assert outages(path) == [outage(2.5, 3.0)]  # this monitor's own
    assert transitions(path) == [before, after]  # this one's own, not the old recorder's again
    assert read_last_values(path)["default"]["f"].evaluation == OFF


def test_when_the_log_cannot_tell_what_it_saw_since_is_journalled_within_an_outage(
    tmp_path: Path,
) -> None:
    # A burst trimmed the journal's last event (3) from this run's log: events 4 and 5 are
    # placed by time, and an outage says the order and completeness are not proven.
    path = tmp_path / "p.sqlite3"
    first = Journal.open(path)
    first.append_events([event(2, 2.0), event(3, 3.0)])
    first.close()
    log = EventLog(2)
    log.extend([event(2, 2.1), event(3, 3.1), event(4, 4.1), event(5, 5.1)])
    change = ValueTransition("f", ON, OFF, None, T + 4.3)
    journal = Journal.open(path)
    hand_over(read_taken(journal), log, 0, [change], {}, T + 9.0)
    journal.close()
    assert [e.version for e in iter_journal_events(path)] == [2, 3, 4, 5]
    assert outages(path) == [outage(3.0, 9.0)]
    assert transitions(path) == [change]


def test_the_time_a_gone_recorder_left_unwatched_is_journalled_once(tmp_path: Path) -> None:
    """Its mark (read with the lock: its last word) before this run began to watch: the time
    between is an outage, as a resumed run's between the runs (core/monitor_journal.py
    `unwatched_window`); journalled unless the hand-over's own outage covers it already."""
    from togul_monitor.core.monitor_journal import unwatched_window

    path = tmp_path / "p.sqlite3"
    first = Journal.open(path)
    first.append_events([event(1, 1.0)])
    first.set_watched_until(T + 5.0)  # live after its event, then gone
    first.close()
    log = EventLog(100)
    log.extend([event(1, 1.0)])
    live_from = log.end
    log.extend([event(2, 20.0)])
    journal = Journal.open(path)
    taken = read_taken(journal)
    assert taken.mark == T + 5.0
    window = unwatched_window(taken, T + 30.0, T + 15.0)  # this run watched from T + 15
    assert window == outage(5.0, 15.0)
    assert unwatched_window(taken, T + 30.0, None) == outage(5.0, 30.0)  # not live yet
    assert unwatched_window(taken, T + 30.0, T + 4.0) is None  # it watched past this run's start
    assert unwatched_window(taken._replace(mark=None), T + 30.0, T + 15.0) is None
    assert unwatched_window(taken._replace(mark=T + 99), T + 30.0, T + 15.0) is None  # ahead
    hand_over(taken, log, live_from, [], {}, T + 30.0, (), window)
    journal.close()
    assert outages(path) == [outage(5.0, 15.0)]
    assert [e.version for e in iter_journal_events(path)] == [1, 2]

    # Its last event trimmed from this run's log: the hand-over's outage from it covers the
    # window, which is not journalled a second time.
    other = tmp_path / "q.sqlite3"
    first = Journal.open(other)
    first.append_events([event(3, 3.0)])
    first.set_watched_until(T + 5.0)
    first.close()
    journal = Journal.open(other)
    taken = read_taken(journal)
    hand_over(taken, log, 0, [], {}, T + 30.0, (), unwatched_window(taken, T + 30.0, T + 15.0))
    journal.close()
    assert outages(other) == [outage(3.0, 30.0)]


def test_a_run_not_live_yet_journals_no_window_that_ends_at_the_takeover(tmp_path: Path) -> None:
    """Its stream never live, this run has not started watching: nobody watches past the
    takeover either. The hand-over journals no outage ending then, and says from when nobody
    watched (the mark, or its own outage's start when earlier): this run's first live
    connection's outage starts there (core/intake.py `unwatched_from`)."""
    from togul_monitor.core.monitor_journal import unwatched_window

    path = tmp_path / "p.sqlite3"
    first = Journal.open(path)
    first.append_events([event(1, 1.0)])
    first.set_watched_until(T + 5.0)
    first.close()
    log = EventLog(100)
    log.extend([event(1, 1.0)])  # the journal's, preloaded; none of this run's own
    journal = Journal.open(path)
    taken = read_taken(journal)
    window = unwatched_window(taken, T + 30.0, None)
    assert hand_over(taken, log, log.end, [], {}, T + 30.0, (), window, live=False) == T + 5.0
    journal.close()
    assert outages(path) == []

    # Its last event not in this run's log: the hand-over's own outage (from it) starts first.
    other = tmp_path / "q.sqlite3"
    first = Journal.open(other)
    first.append_events([event(3, 3.0)])
    first.set_watched_until(T + 5.0)
    first.close()
    journal = Journal.open(other)
    taken = read_taken(journal)
    window = unwatched_window(taken, T + 30.0, None)
    assert hand_over(taken, log, log.end, [], {}, T + 30.0, (), window, live=False) == T + 3.0
    journal.close()
    assert outages(other) == []


def test_an_event_the_journal_holds_is_not_placed_again() -> None:
    rows = [event(4, 4.1), outage(4.2, 4.5), event(5, 5.1)]
    assert placed_by_time(rows, T + 4.15, frozenset()) == rows[1:]
    held = frozenset({stream_identity(event(5, 4.9))})  # the old recorder's: received at its time
    assert placed_by_time(rows, T + 4.0, held) == rows[:2]


async def test_the_lock_is_tried_again_until_it_is_free(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite3"
    Journal.open(path).close()
    held = FileLock.acquire(path, wait=False)  # another process's recorder lock
    tries: list[str] = []
    taken: list[Taken] = []

    def open_recorder() -> Journal:
        try:
            return SqliteJournal.open(path)
        except RecorderBusy:
            tries.append("busy")
            raise

    takeover = Takeover(open_recorder, taken.append, interval=0.01)
    takeover.start()
    try:
        await until(lambda: len(tries) >= 3, "three tries")
        assert not taken
        held.release()
        await until(lambda: taken, "the takeover")
        assert taken[0].last is None and taken[0].read
    finally:
        await takeover.aclose()
        for journal, *_ in taken:
            await asyncio.to_thread(journal.close)


async def test_the_taken_over_journal_ages_its_rows_by_the_monitors_clock(tmp_path: Path) -> None:
    path = journal_path("p", tmp_path)
    first = Journal.open(path)
    first.append_events([event(1, 1.0)])
    first.close()
    held = FileLock.acquire(path, wait=False)  # another process records the profile
    a_year_on = T + 365 * 86400.0  # past the default retention of the event received at T
    opened = await open_journal("p", tmp_path, lambda: a_year_on, {}, 10)
    if opened.journal is not None:
        await asyncio.to_thread(opened.journal.close)
    held.release()
    assert opened.busy and opened.reopen is not None
    journal = opened.reopen()
    try:
        assert journal.count_events() == 0  # aged out at open, as the first open would have
    finally:
        journal.close()


def test_a_value_change_is_tied_to_its_event_by_id_and_flag(tmp_path: Path) -> None:
    # The server restarted and numbers its events from 1 again: g's "1" is not f's "1".
    path = tmp_path / "p.sqlite3"
    f1 = event(1, 1.0, "1")
    g1 = FlagEvent("flag.updated", "g", "env-1", 1, T, "1", T + 2.0)
    f_change = ValueTransition("f", ON, OFF, "1", T + 2.5)  # f's, late: journalled already
    first = Journal.open(path)
    first.append_events([f1])
    first.append_transition(f_change)
    first.close()
    log = EventLog(100)
    log.extend([f1, g1])
    journal = Journal.open(path)
    hand_over(read_taken(journal), log, 0, [f_change], {}, T + 3.0)
    journal.close()
    assert transitions(path) == [f_change]


def test_the_value_change_of_the_journals_last_event_is_journalled_once(tmp_path: Path) -> None:
    # The old recorder journalled e2 and stopped before e2's answer came: this monitor has the
    # change and the new value in memory, and the log says the journal lacks no row.
    e1, e2 = event(1, 1.0), event(2, 2.0)
    change = ValueTransition("f", ON, OFF, None, T + 2.3)
    values = FlagValues()
    values.seed("f", ON, T + 1.1)
    values.record("f", OFF, event_id=None, at=T + 2.3)
    log = EventLog(100)
    log.extend([e1, e2])
    for recorded_it in (False, True):
        path = tmp_path / f"{recorded_it}.sqlite3"
        first = Journal.open(path)
        first.append_events([e1, e2])
        first.set_last_value("f", ON, T + 1.1)
        if recorded_it:  # its own answer came first after all: the same change, a bit earlier
            first.append_transition(ValueTransition("f", ON, OFF, None, T + 2.2))
            first.set_last_value("f", OFF, T + 2.2)
        first.close()
        journal = Journal.open(path)
        hand_over(read_taken(journal), log, 0, [change], {"default": values}, T + 5)
        journal.close()
        assert len(transitions(path)) == 1
        assert read_last_values(path)["default"]["f"].evaluation == OFF


def test_a_change_the_journal_holds_is_paired_with_this_runs_in_time_order() -> None:
    since = T + 10.0  # the journal's last event
    flipped_off = ValueTransition("f", ON, OFF, None, since - 30.0)
    flipped_on = ValueTransition("f", OFF, ON, None, since - 20.0)
    flipped_off_again = ValueTransition("f", ON, OFF, None, since + 1.0)
    held = [ValueTransition("f", ON, OFF, None, since - 30.2), flipped_on]  # the old recorder's
    memory = [flipped_off, flipped_on, flipped_off_again]
    assert unheld_changes(memory, since, held) == [flipped_off_again]
    by_id = ValueTransition("f", OFF, ON, "9", since + 2.0)
    assert unheld_changes([by_id], since, [by_id]) == []


def test_a_change_answered_before_the_recorder_read_its_event_is_journalled(
    tmp_path: Path,
) -> None:
    # This monitor read e2 (and had its answer) before the old recorder did: both are stamped
    # by this monitor's clock, earlier than the journal's copy of e2.
    path = tmp_path / "p.sqlite3"
    first = Journal.open(path)
    first.append_events([event(1, 1.0, "1"), event(2, 2.10, "2")])
    first.set_last_value("f", ON, T + 1.1)
    first.close()
    log = EventLog(100)
    log.extend([event(1, 0.99, "1"), event(2, 2.00, "2")])
    change = ValueTransition("f", ON, OFF, "2", T + 2.05)
    values = FlagValues()
    values.seed("f", ON, T + 1.1)
    values.record("f", OFF, event_id="2", at=T + 2.05)
    journal = Journal.open(path)
    hand_over(read_taken(journal), log, 0, [change], {"default": values}, T + 5)
    journal.close()
    assert transitions(path) == [change]
    assert read_last_values(path)["default"]["f"].evaluation == OFF


def test_a_journal_without_events_pairs_a_change_only_with_one_of_its_time() -> None:
    # Found at a start an hour ago, then flipped back: not the change this run found now.
    held = [
        ValueTransition("f", OFF, ON, None, T - 3600),
        ValueTransition("f", ON, OFF, None, T - 3000),
    ]
    mine = ValueTransition("f", OFF, ON, None, T)
    assert unheld_changes([mine], -math.inf, held) == [mine]
    assert unheld_changes([mine], -math.inf, [*held, ValueTransition("f", OFF, ON, None, T)]) == []


def test_the_configuration_diffs_found_while_reading_are_journalled_once(
    tmp_path: Path,
) -> None:
    # The old recorder journalled e1, e2 and e1's diff, then stopped before e2's answer came;
    # this monitor found both diffs while it only read, and one on a re-fetch since.
    path = tmp_path / "p.sqlite3"
    e1, e2 = event(1, 1.0), event(2, 2.0)
    switched = (Change("enabled", "changed", True, False),)
    recorders = StoredDiff(ConfigDiff("f", "env-1", None, 1, switched, flag_id="id-1"), T + 1.2)
    first = Journal.open(path)
    first.append_events([e1, e2])
    first.append_config_diff(recorders.diff, recorders.at)
    first.close()
    mine = [
        StoredDiff(recorders.diff, T + 1.3),  # the same change, by this monitor's clock
        StoredDiff(ConfigDiff("f", "env-1", None, 2, switched[::-1], flag_id="id-1"), T + 2.3),
        StoredDiff(ConfigDiff("f", "env-1", None, None, switched, flag_id="id-1"), T + 4.0),
    ]
    log = EventLog(100)
    log.extend([e1, e2])
    journal = Journal.open(path)
    hand_over(read_taken(journal), log, 0, [], {}, T + 5, mine)
    journal.close()
    assert read_config_diffs(path, "f")[::-1] == [recorders, *mine[1:]]


def test_only_a_journal_that_may_be_taken_over_keeps_the_diffs_appended(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite3"
    Journal.open(path).close()
    diff = ConfigDiff("f", "env-1", None, 1, (Change("enabled", "changed", True, False),))
    shared = ReadingJournal(open_reader_at("p", path))
    busy = ReadingJournal(open_reader_at("p", path), "not recording", keep_diffs=True)
    for reading in (shared, busy):
        reading.append_config_diff(diff, T)
        reading.close()
    assert list(shared.found_diffs) == [] and list(busy.found_diffs) == [StoredDiff(diff, T)]
