"""Taking over a SQLite journal whose recorder has gone (docs/journal.md, "Who writes a shared
journal").

A monitor that found the profile's SQLite journal recorded by another process only reads it
(core/recording.py). That recorder may exit at any time (a `tail` stopped, a TUI closed), and
then nobody would record what this monitor still shows. So every `interval` seconds it tries
the journal's recorder lock again; while another process holds it, that attempt is all it
does (the lock is taken without waiting, nothing else is opened). Once it has the lock it
records from then on.

Nothing it saw is lost across the hand-over (`hand_over`): the journal's last event is looked
up in the monitor's event log by its identity in the stream (the server's fields and id), and
what this run's log holds after it (events and outage markers) is journalled, with this run's
value changes found since and the values evaluated since. When the log cannot say (the
journal's last event is not in it: trimmed, or of a stream this monitor did not see), the
journal gets an outage from its last event to the hand-over instead, marked as possibly
missing changes: it never claims a continuity nobody watched.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

from togul_monitor.domain.event_log import EventLog, Row
from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.values import FlagValues, ValueTransition
from togul_monitor.store.journal import CLOSE_TIMEOUT, Journal, JournalError, RecorderBusy

log = logging.getLogger("togul_monitor.core.monitor")

#: Seconds between two tries at the recorder lock of a journal another process records.
TAKEOVER_INTERVAL = 3.0


class Taken(NamedTuple):
    """The journal this monitor now records, and its last event when the lock was taken (None:
    it holds none); `read` False when that could not be read."""

    journal: Journal
    last: FlagEvent | None
    read: bool = True


class Takeover:
    """Tries `open_recorder` (the busy journal opened for recording; RecorderBusy while its
    recorder runs) every `interval` seconds until it succeeds, then hands the journal and its
    last event to `taken` on the loop, once."""

    def __init__(
        self,
        open_recorder: Callable[[], Journal],
        taken: Callable[[Taken], None],
        interval: float = TAKEOVER_INTERVAL,
    ) -> None:
        self._open_recorder = open_recorder
        self._taken = taken
        self._interval = interval
        # A journal opened on a thread while the monitor stops is closed, never left with its
        # lock held: `_handed` is where a thread leaves it, `_closed` stops handing.
        self._lock = threading.Lock()
        self._handed: Taken | None = None
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        self._failure: str | None = None  # why the last try could not open it, logged once

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="journal-takeover")

    async def aclose(self) -> None:
        with self._lock:
            self._closed = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait((self._task,))
        with self._lock:
            handed, self._handed = self._handed, None
        if handed is not None:  # opened as the stop came
            await asyncio.to_thread(handed[0].close, CLOSE_TIMEOUT)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await asyncio.to_thread(self._attempt)
            with self._lock:
                handed, self._handed = self._handed, None
            if handed is not None:
                self._taken(handed)
                return

    def _attempt(self) -> None:
        """On a thread: the lock, and when it is free the journal and its last event."""
        try:
            journal = self._open_recorder()
        except RecorderBusy:
            return  # its recorder still runs
        except JournalError as exc:
            if str(exc) != self._failure:  # once, not at every try
                log.warning("the journal's recorder has gone, but it cannot be opened: %s", exc)
            self._failure = str(exc)
            return
        try:
            newest = journal.recent_events(1)
            taken = Taken(journal, newest[-1] if newest else None)
        except JournalError as exc:
            log.warning("the journal's last event could not be read: %s", exc)
            taken = Taken(journal, None, read=False)
        with self._lock:
            if not self._closed:
                self._handed = taken
                return
        journal.close(CLOSE_TIMEOUT)


def hand_over(
    taken: Taken,
    event_log: EventLog,
    live_from: int,
    memory: Iterable[ValueTransition],
    value_sets: Mapping[str, FlagValues],
    now: float,
) -> None:
    """Journal what this run saw after the `taken` journal's last event (this run's rows from
    event-log position `live_from`): its rows, the value changes found since the first of them
    (`memory`) and the values evaluated since; or, when the log cannot tell what the journal
    lacks, an outage from its last event to `now`. On the loop, before the journal takes any
    other append: nothing the monitor does comes between."""
    journal, last = taken.journal, taken.last
    rows, end = event_log.rows_since(0)
    missing = unjournalled(rows, end - len(rows), live_from, last) if taken.read else None
    if missing is None:
        since = last.received_at if last is not None else _oldest(rows, now)
        journal.append_outage(Outage(since, now, None, True, now))
        log.info("took over the journal: what it lacks is unknown, an outage says so")
    elif not missing:
        log.info("took over the journal: it lacked nothing")
        return
    else:
        since = missing[0].received_at
        for row in missing:
            if type(row) is FlagEvent:
                journal.append_event(row)
            else:
                assert isinstance(row, Outage)
                journal.append_outage(row)
        # An event is its id and its flag: a restarted server numbers its events from 1 again.
        owners = {(row.event_id, row.flag_key) for row in missing if type(row) is FlagEvent}
        for transition in memory:
            owner = (transition.event_id, transition.flag_key)
            if transition.at >= since and (owner in owners or not transition.event_id):
                journal.append_transition(transition)
        log.info("took over the journal: %d rows it lacked journalled", len(missing))
    _journal_values(journal, value_sets, since)


def unjournalled(
    rows: Sequence[Row], first: int, live_from: int, last: FlagEvent | None
) -> list[FlagEvent | Outage] | None:
    """This run's events and outages after the journal's `last` event in the log's `rows` (the
    first at position `first`; this run's from position `live_from`): what the journal lacks.
    None when the log cannot tell: `last` is not in it, or (a journal without events) some of
    this run's rows were trimmed."""
    begin = live_from - first
    if last is not None:
        wanted = _identity(last)
        found = next((i for i in range(len(rows) - 1, -1, -1) if _is_event(rows[i], wanted)), None)
        if found is None:
            return None
        begin = max(begin, found + 1)
    elif begin < 0:
        return None
    return [row for row in rows[begin:] if isinstance(row, (FlagEvent, Outage))]


def _identity(event: FlagEvent) -> tuple[object, ...]:
    """What two monitors of one stream agree on for the same event: the server's fields."""
    return (
        event.environment_id,
        event.event_id,
        event.flag_key,
        event.type,
        event.version,
        event.timestamp,
    )


def _is_event(row: Row, identity: tuple[object, ...]) -> bool:
    return type(row) is FlagEvent and _identity(row) == identity


def _oldest(rows: Sequence[Row], now: float) -> float:
    times = (row.received_at for row in rows if isinstance(row, (FlagEvent, Outage)))
    return min(times, default=now)


def _journal_values(journal: Journal, value_sets: Mapping[str, FlagValues], since: float) -> None:
    """Each context's values evaluated since `since`: the journal's last values are what the
    next run compares with, and older ones would make it find these changes again."""
    for context, values in value_sets.items():
        for key, value in values.mapping.items():
            at = value.evaluated_at
            if at is None or at < since:
                continue
            if value.deleted:
                journal.set_last_value(key, value.previous, at, deleted=True, context=context)
            elif value.current is not None:
                journal.set_last_value(key, value.current, at, context=context)
