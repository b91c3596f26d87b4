"""Opening a monitor's journal: where it is, and what it remembers of earlier runs.

Where: the profile's journal URL (`journal_url`: None or `sqlite` for the profile's own SQLite
file, `postgresql://…` for a database shared by recorders; store/journal.py `open_journal_at`).
A shared journal is written only by a monitor that is its recorder (`journal_writer`, which
`togul-monitor record` sets); every other monitor reads it (store/reading.py).

A journal that cannot be opened is not an error of the monitor: it runs without recording and
says why (`notice`; `busy` when another process records the profile). A SQLite journal another
process records is read as a shared one is (store/reading.py): the backfill, the history pane
and the last values come from it, and the status still says this monitor is not recording.
A journal whose history cannot be read still records: `problem` says what was not loaded.
What it remembers comes with the outages among its last events (`Opened.rows`): an earlier
run's rows without them would read as complete where the stream was down.
A busy SQLite journal's recorder may go away: `reopen` opens it for recording, which the
monitor tries now and then to take the recording over (core/takeover.py).
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import msgspec

from togul_monitor.client.outages import ResumePoint
from togul_monitor.config.entry import DEFAULT_HEARTBEAT_SECONDS
from togul_monitor.core.watched import promised_within, recorder_live
from togul_monitor.domain.event_log import Row
from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.flag_config import FlagConfig
from togul_monitor.store.journal import (
    CLOSE_TIMEOUT,
    Journal,
    JournalError,
    LastValue,
    RecorderBusy,
    journal_target,
    open_reader_at,
)
from togul_monitor.store.reading import ReadingJournal
from togul_monitor.store.recorded import NO_CHANGES, RecordedChanges, read_recorded_changes

log = logging.getLogger("togul_monitor.core.monitor")


class Opened(msgspec.Struct):
    journal: Journal | None
    notice: str | None  # why it is not recording, or what happened to the file
    busy: bool = False  # not recording because another process records the profile
    events: list[FlagEvent] = msgspec.field(default_factory=list)  # the latest, oldest first
    last_values: dict[str, dict[str, LastValue]] = msgspec.field(default_factory=dict)  # by context
    problem: str | None = None  # the history that could not be loaded
    # The value changes and configuration diffs recorded with `events` (store/recorded.py).
    changes: RecordedChanges = NO_CHANGES
    #: A journal this monitor records, whose recent events include the profile's environment
    #: (or that holds none but a "watched until" mark): the stream resumes after its last event
    #: (with an id, the server replays what came meanwhile) and the time since the last run
    #: stopped watching is an outage (`_resume_point`).
    resumed: ResumePoint | None = None
    #: A SQLite journal another process records: opens it for recording (RecorderBusy while
    #: that process runs), for the takeover (core/takeover.py). None for any other journal.
    reopen: Callable[[], Journal] | None = None
    #: The journal's outages received since the first of `events`, oldest first.
    outages: list[Outage] = msgspec.field(default_factory=list)
    #: Until when the journal's recorders watched the stream (its "watched until" mark,
    #: core/watched.py), as it was when opened: a reader's feed dates the window nobody
    #: watched before this run from it too. For a reader of a journal whose mark shows its
    #: recorder live (core/watched.py `recorder_live`, by `judged_mark`), the time it was
    #: opened: the recorder watches on. None: no mark (an older program's journal).
    watched_until: float | None = None
    #: That recent mark, which the reader cannot judge yet (its recorder may have died just
    #: before): looked at again once a live recorder would have moved it
    #: (core/monitor_journal.py). None: the mark was judged at the opening.
    live_mark: float | None = None
    #: Within how many seconds its recorder promised to move that mark (`judged_mark`).
    live_within: float | None = None
    #: Flag key → its configuration as an earlier run last read it, in the profile's
    #: environment (core/config_memory.py).
    last_configs: dict[str, FlagConfig] = msgspec.field(default_factory=dict)

    @property
    def dated(self) -> bool:
        """A replay may prove the time since the journal's run whole (`FlagValues.seed`): the
        stream resumes after its last event's id, and the journal says until when its run
        watched (an older program's has no such mark)."""
        resumed = self.resumed
        resumable = resumed is not None and resumed.event_id is not None
        return resumable and self.watched_until is not None

    def rows(self, limit: int) -> list[Row]:
        """`events` and `outages` in the order they were received (at one time, an outage
        before the events the server replayed for it, as live): the newest `limit` of them."""
        outages: Iterator[tuple[float, int, Row]] = ((o.received_at, 0, o) for o in self.outages)
        events: Iterator[tuple[float, int, Row]] = ((e.received_at, 1, e) for e in self.events)
        merged = heapq.merge(outages, events, key=lambda entry: (entry[0], entry[1]))
        rows = [row for _, _, row in merged]
        return rows[-limit:] if limit > 0 else []


async def open_journal(
    profile_name: str,
    directory: Path | None,
    clock: Callable[[], float],
    options: Mapping[str, Any],
    load_events: int,
    environment_id: str | None = None,
    environment_key: str | None = None,
    journal_url: str | None = None,
    heartbeat: float = DEFAULT_HEARTBEAT_SECONDS,
    org_wide: bool = False,
) -> Opened:
    """Open the profile's journal and read its last `load_events` events, what they changed
    and the last values (off the loop: the database blocks). `environment_id`: the profile's,
    when known (without event ids, a value change is tied to an event of it), and its key (a
    journal of another environment's stream is not resumed: `_resume_point`). `journal_url`:
    which database (None: the profile's SQLite file under `directory`); `options` may carry
    it too (`Monitor(journal_url=...)` adds it to its journal options). `heartbeat`: the
    profile's heartbeat seconds: how old a live recorder's mark may be where the recorder did
    not say it (`judged_mark`). `org_wide`: the stream is a token's, which carries every
    environment (every journalled event is of it: `_resume_point`)."""
    options = dict(options)
    journal_url = options.pop("journal_url", None) or journal_url
    writer = bool(options.pop("journal_writer", False))
    # The start may be cancelled while a thread opens the journal (Ctrl-C, `tail
    # --give-up-after`): the journal it opens anyway is then closed, not left to its writer
    # thread with nobody to stop it.
    lock, wanted, handed = threading.Lock(), [True], []

    def open_for_start() -> Journal | None:
        journal = _open(
            profile_name,
            journal_url,
            directory,
            writer,
            clock=clock,
            environment_id=environment_id,
            **options,
        )
        with lock:
            if wanted[0]:
                handed.append(journal)
                return journal
        journal.close(CLOSE_TIMEOUT)
        return None

    try:
        journal = await asyncio.to_thread(open_for_start)
    except JournalError as exc:
        notice = f"not recording: {exc}"
        log.warning("%s", notice)
        if not isinstance(exc, RecorderBusy):
            return Opened(None, notice)
        reopen = _reopen(profile_name, journal_url, directory, clock, options)
        return Opened(None, notice, busy=True, reopen=reopen)
    except asyncio.CancelledError:
        with lock:
            wanted[0] = False
        close_aside(*handed)  # opened as the cancellation came
        raise
    assert journal is not None
    # Only read: another process records it (a shared journal's recorder, a busy SQLite one's).
    opened = Opened(journal, journal.notice, busy=isinstance(journal, ReadingJournal))
    if opened.busy:
        opened.reopen = _reopen(profile_name, journal_url, directory, clock, options)
    try:
        opened.events = await asyncio.to_thread(journal.recent_events, load_events)
        opened.outages = await asyncio.to_thread(outages_among, journal, opened.events)
        opened.last_values = of_environment(
            await asyncio.to_thread(journal.last_values), environment_key
        )
        opened.changes = await asyncio.to_thread(
            read_recorded_changes, journal, opened.events, environment_id
        )
        if environment_id is not None:
            opened.last_configs = await asyncio.to_thread(journal.last_configs, environment_id)
        now = clock()
        if opened.busy:
            judged = await asyncio.to_thread(judged_mark, journal, now, heartbeat)
            opened.watched_until = None if judged is None else judged[0]
            if judged is not None and recorder_live(judged[0], now, heartbeat, judged[1]):
                # Its recorder watches still (a shared journal's `record`): nobody missed the
                # time since its mark, which it writes only every so often. Or so it seems: one
                # that died that recently left the same mark, which is looked at again later.
                opened.live_mark, opened.live_within = judged
                opened.watched_until = now
        else:
            opened.watched_until = await asyncio.to_thread(watched_mark, journal, now)
            scope = (None, None) if org_wide else (environment_id, environment_key)
            opened.resumed = await asyncio.to_thread(
                _resume_point, journal, opened.events, *scope, now
            )
            if opened.events and opened.resumed is None:  # another environment's journal:
                opened.last_values = {}  # its values are too, and what they found
                opened.changes = msgspec.structs.replace(opened.changes, found=())
    except JournalError as exc:
        opened.events, opened.last_values, opened.changes = [], {}, NO_CHANGES
        opened.last_configs = {}
        opened.outages, opened.watched_until = [], None
        opened.live_mark, opened.live_within = None, None
        opened.problem = f"journal history not loaded: {exc}"
    except asyncio.CancelledError:
        close_aside(journal)
        raise
    return opened


def of_environment(
    values: dict[str, dict[str, LastValue]], key: str | None
) -> dict[str, dict[str, LastValue]]:
    """The last values `values` holds of the environment `key` (the profile's: what evaluate
    asks for), or of none known (kept before the journal said it), by context. A value another
    environment answered, the profile edited since from `staging` to `production`, is no
    "before" of this one's: the flag's first answer here is its first value, not a change."""
    if not key:
        return values
    kept = {
        context: {
            flag: value for flag, value in by_flag.items() if value.environment_key in (None, key)
        }
        for context, by_flag in values.items()
    }
    return {context: by_flag for context, by_flag in kept.items() if by_flag}


def outages_among(journal: Journal, events: list[FlagEvent]) -> list[Outage]:
    """The outages `journal` recorded from the first of `events` (oldest first) on."""
    if not events:
        return []
    since = min(event.received_at for event in events)
    return [outage for outage in journal.outages(since) if outage.received_at >= since]


#: Seconds a "watched until" mark may lie ahead of this machine's clock and still be believed
#: (read as now): two machines' clocks are seldom exactly alike.
MARK_AHEAD_TOLERATED = 5.0


def watched_mark(journal: Journal, now: float) -> float | None:
    """The journal's "watched until" mark, never later than `now`. A mark further ahead than
    MARK_AHEAD_TOLERATED (a recorder whose clock ran ahead, or a clock stepped back since) is
    not believed: read as now, it would claim everything until now watched, and as it is, the
    outage from it would end before it starts; without it the outage starts at the journal's
    last event (claiming more, never less). On a thread: it reads the journal."""
    mark = journal.watched_until()
    if mark is None or mark > now + MARK_AHEAD_TOLERATED:
        return None
    return min(mark, now)


def judged_mark(journal: Journal, now: float, heartbeat: float) -> tuple[float, float] | None:
    """The journal's mark as `watched_mark` reads it, and within how many seconds a live
    recorder moves it on: as its recorder said it marks (its pace and heartbeat:
    core/watched.py `promised_within`; `heartbeat`, the reader's profile's, where it said
    nothing). None: no mark believed. On a thread: it reads the journal."""
    mark = journal.watched_until_mark()
    if mark is None or mark.at > now + MARK_AHEAD_TOLERATED:
        return None
    return min(mark.at, now), promised_within(mark, journal.watchers(), heartbeat)


def _resume_point(
    journal: Journal,
    events: list[FlagEvent],
    environment_id: str | None,
    key: str | None,
    now: float,
) -> ResumePoint | None:
    """Where the stream resumes: after the journal's last event (`events`, its latest), and
    the outage between the runs from when the last run stopped watching (its "watched until"
    mark, core/watched.py; never before that event). A journal without events but with a mark
    resumes from the mark with no id: the outage may have missed changes. None for a journal
    nobody watched from, or whose recent events are all of other environments than the
    profile's (a profile whose key now names another one); `environment_id` and `key` None:
    every event is the stream's (a token's, org-wide). On a thread: it reads the journal."""
    if not events:
        # A run watched before, though it saw no event: the time since is an outage, from its
        # mark (one not believed, ahead of the clock, from now: still an outage, not none).
        mark = journal.watched_until()
        return None if mark is None else ResumePoint(None, min(mark, now))
    watched_until = watched_mark(journal, now)
    names = journal.environment_names()

    def ours(event: FlagEvent) -> bool:
        if environment_id is not None:
            return event.environment_id == environment_id
        name = names.get(event.environment_id)  # as far as the journal knows
        return name is None or key is None or name == key

    if not any(map(ours, events)):
        return None
    last, since = events[-1], max(e.received_at for e in events)
    if watched_until is not None:
        since = max(since, watched_until)
    return ResumePoint(last.event_id or None, since, last.environment_id, tuple(events))


def _reopen(
    profile_name: str,
    url: str | None,
    directory: Path | None,
    clock: Callable[[], float],
    options: Mapping[str, Any],
) -> Callable[[], Journal] | None:
    """How a busy SQLite journal is opened for recording, once its recorder is gone, with the
    monitor's clock as the first open has (its retention ages rows by it); None for a shared
    journal, which has no recorder lock to take over (its recorder is `record`)."""
    target = journal_target(profile_name, url, directory)
    if not isinstance(target, Path):
        return None
    return partial(Journal.open, target, clock=clock, **options)


def close_aside(*journals: Journal) -> None:
    """Close journals no monitor holds, on a thread of their own (a close waits for the
    writer): the loop goes on with its cancellation meanwhile."""
    for journal in journals:
        threading.Thread(target=journal.close, args=(CLOSE_TIMEOUT,), name="journal-close").start()


def _open(
    profile_name: str, url: str | None, directory: Path | None, writer: bool, **options: Any
) -> Journal:
    """The journal a monitor records into; a shared one (PostgreSQL) only read unless this
    monitor is its `writer` (docs/recorder.md): every TUI, `web` tab and `tail` of a profile
    would otherwise record it too, and its value changes without an event id once each. A
    SQLite journal another process records (`RecorderBusy`) is only read too."""
    target = journal_target(profile_name, url, directory)
    if not isinstance(target, Path) and not writer:
        return ReadingJournal(open_reader_at(profile_name, url, directory))
    try:
        return Journal.open(target, **options)
    except RecorderBusy as busy:
        if not isinstance(target, Path):
            raise
        # One recorder per SQLite file, but any number of readers: read what it records, as
        # `togul-monitor history` does meanwhile, rather than show no history at all.
        try:
            reader = open_reader_at(profile_name, target)
        except JournalError:
            raise busy from None
        notice = f"not recording: {busy}"
        log.warning("%s", notice)
        return ReadingJournal(reader, notice, keep_diffs=True)  # for a takeover


def journal_notice(journal: Journal | None, opened: str | None, stopped: bool) -> str | None:
    """What the status says about the journal now: why it is not recording (its writer
    stopped, or it is a shared journal this monitor only reads), what troubles the writer (the
    database unreachable), else what opening it said (`opened`)."""
    if journal is None or stopped:
        return opened
    if isinstance(journal, ReadingJournal):
        return journal.notice
    if not journal.writing:
        return f"not recording: {journal.write_error or 'the journal writer stopped'}"
    return journal.trouble or opened
