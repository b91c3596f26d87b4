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
value changes found since that event (its own among them: a recorder journals an event before
its answer comes, and may have stopped between), the configuration diffs found since it (kept
by the journal it only read, store/reading.py) and the values evaluated since, each unless the
journal holds it already (read with the lock: `Held`). When the log cannot say (the
journal's last event is not in it: trimmed, or of a stream this monitor did not see), what
this run received after that event's time is placed by time, within an outage from it to the
hand-over marked as possibly missing changes: it never claims a continuity nobody watched,
nor drops what this monitor did see.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple, Protocol, TypeVar

import msgspec

from togul_monitor.core.doubt import journal_values
from togul_monitor.domain.event_log import EventLog, Row
from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.flag_values import FlagValues
from togul_monitor.domain.values import ValueTransition
from togul_monitor.store.journal import (
    CLOSE_TIMEOUT,
    Journal,
    JournalError,
    RecorderBusy,
    StoredDiff,
)
from togul_monitor.store.reading import MAX_FOUND_DIFFS

log = logging.getLogger("togul_monitor.core.monitor")

#: Seconds between two tries at the recorder lock of a journal another process records.
TAKEOVER_INTERVAL = 3.0


#: How long before the journal's last event its value changes are compared with this run's:
#: each monitor computes a change when its own answer comes, which may be seconds apart.
HELD_MARGIN = 60.0
#: The journal's newest configuration diffs read to pair with this run's, at most: as many as
#: a monitor that only read keeps (store/reading.py), and as many again.
HELD_DIFFS = 2 * MAX_FOUND_DIFFS


class Held(NamedTuple):
    """What the journal holds at its end, read with its lock (nobody writes it meanwhile): what
    the hand-over must not journal again."""

    transitions: tuple[ValueTransition, ...] = ()  # from HELD_MARGIN before its last event on
    events: frozenset[tuple[object, ...]] = frozenset()  # their `stream_identity`, from then on too
    last_values: Mapping[tuple[str, str], float] = {}  # (context, flag) → when it was recorded
    doubted: frozenset[tuple[str, str]] = frozenset()  # (context, flag): kept in doubt
    diffs: tuple[StoredDiff, ...] = ()  # from HELD_MARGIN before its last event on


class Taken(NamedTuple):
    """The journal this monitor now records, its last event and its mark when the lock was
    taken (None: it holds none); `read` False when that could not be read."""

    journal: Journal
    last: FlagEvent | None
    read: bool = True
    held: Held = Held()
    mark: float | None = None  # its "watched until" mark: its gone recorder's last (watched.py)


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
        taken = read_taken(journal)
        with self._lock:
            if not self._closed:
                self._handed = taken
                return
        journal.close(CLOSE_TIMEOUT)


def read_taken(journal: Journal) -> Taken:
    """On a thread: the journal just taken, with its last event and what it holds at its end."""
    try:
        newest = journal.recent_events(1)
        last = newest[-1] if newest else None
        since = None if last is None else last.received_at - HELD_MARGIN
        values, mark = journal.last_values(), journal.watched_until()
        events = () if since is None else journal.iter_events(since)
        held = Held(
            transitions=tuple(journal.iter_transitions(since)),
            events=frozenset(map(stream_identity, events)),
            last_values={
                (c, key): value.at for c, by_key in values.items() for key, value in by_key.items()
            },
            doubted=frozenset(
                (c, key) for c, by_key in values.items() for key, v in by_key.items() if v.in_doubt
            ),
            diffs=tuple(journal.config_diffs(None, HELD_DIFFS, since)),
        )
    except JournalError as exc:
        log.warning("the end of the journal taken over could not be read: %s", exc)
        return Taken(journal, None, read=False)
    return Taken(journal, last, held=held, mark=mark)


def hand_over(
    taken: Taken,
    event_log: EventLog,
    live_from: int,
    memory: Iterable[ValueTransition],
    value_sets: Mapping[str, FlagValues],
    now: float,
    diffs: Iterable[StoredDiff] = (),
    unwatched: Outage | None = None,
    *,
    live: bool = True,
) -> float | None:
    """Journal what this run saw after the `taken` journal's last event (this run's rows from
    event-log position `live_from`): its rows, the value changes found since that event
    (`memory`; its own among them: a recorder journals an event before its answer comes), the
    configuration diffs (`diffs`, alike) and the values evaluated since, each unless the
    journal holds it already (`taken.held`). When the log cannot tell what the journal lacks,
    the rows this run received since are placed by time, within an outage from the journal's
    last event to `now` that says neither their order nor completeness is proven. `unwatched`:
    the time nobody watched between the gone recorder's mark and this run's start
    (core/monitor_journal.py `unwatched_window`), journalled first, as a resumed run's outage
    between the runs is, unless that outage covers it. `live` False (this run has not watched
    yet: nobody watches past `now`): neither is journalled, the earlier start is returned, where
    this run's first connection's outage starts (core/intake.py `unwatched_from`). On the loop,
    before the journal takes any other append: nothing the monitor does comes between."""
    journal, last, held = taken.journal, taken.last, taken.held
    rows, end = event_log.rows_since(0)
    if not taken.read:  # nothing to compare with: nothing placed, the outage says so
        since = _oldest(rows, now)
        start = _journal_unwatched(journal, unwatched, Outage(since, now, None, True, now), live)
        log.info("took over the journal: its end is unknown, an outage says so")
        journal_values(journal, value_sets, since, held.last_values)
        return start
    first = end - len(rows)
    missing = unjournalled(rows, first, live_from, last)
    # From the last event on, by this monitor's clock too: its changes and values are stamped
    # by it, and it may have read that event (and had its answer) before the recorder did.
    since = -math.inf if last is None else min(last.received_at, _received(rows, last))
    if missing is None:  # its last event trimmed from the log, or missed by this stream
        since = _oldest(rows, now) if last is None else since
        start = _journal_unwatched(journal, unwatched, Outage(since, now, None, True, now), live)
        missing = placed_by_time(rows[max(0, live_from - first) :], since, held.events)
    else:
        start = _journal_unwatched(journal, unwatched, None, live)
    _journal_rows(journal, missing)
    changes = unheld_changes(memory, since, held.transitions)
    for transition in changes:
        journal.append_transition(transition)
    found = unheld(diffs, since, held.diffs, _diff_key)
    for stored in found:
        journal.append_config_diff(stored.diff, stored.at)
    log.info(
        "took over the journal: %d rows, %d value changes and %d configuration diffs it lacked"
        " journalled",
        len(missing),
        len(changes),
        len(found),
    )
    journal_values(journal, value_sets, since, held.last_values)
    return start


def _journal_unwatched(
    journal: Journal, unwatched: Outage | None, own: Outage | None, live: bool
) -> float | None:
    """`unwatched` into the journal, unless the hand-over's `own` outage covers it (from its
    start on), then `own`; when not `live`, neither: the earliest start (None: no outage)."""
    covered = own is not None and unwatched is not None and unwatched.started_at >= own.started_at
    outages = [o for o in (None if covered else unwatched, own) if o is not None]
    if not live:
        return min((o.started_at for o in outages), default=None)
    for outage in outages:
        journal.append_outage(outage)
    return None


def _received(rows: Sequence[Row], event: FlagEvent) -> float:
    """When this monitor received its copy of `event` (the recorder's time when it has none)."""
    found = _position(rows, event)
    return event.received_at if found is None else rows[found].received_at


def _position(rows: Sequence[Row], event: FlagEvent) -> int | None:
    """Where this monitor's copy of `event` is in `rows` (the last, if twice), or None."""
    wanted = stream_identity(event)
    return next((i for i in range(len(rows) - 1, -1, -1) if _is_event(rows[i], wanted)), None)


def _journal_rows(journal: Journal, rows: Iterable[FlagEvent | Outage]) -> None:
    for row in rows:
        if type(row) is FlagEvent:
            journal.append_event(row)
        else:
            assert isinstance(row, Outage)
            journal.append_outage(row)


def placed_by_time(
    rows: Iterable[Row], since: float, held: frozenset[tuple[object, ...]]
) -> list[FlagEvent | Outage]:
    """This run's events and outages received at or after `since`, but the events the journal
    holds (`held`: their `stream_identity`)."""
    return [
        row
        for row in rows
        if isinstance(row, (FlagEvent, Outage))
        and row.received_at >= since
        and not (type(row) is FlagEvent and stream_identity(row) in held)
    ]


def unjournalled(
    rows: Sequence[Row], first: int, live_from: int, last: FlagEvent | None
) -> list[FlagEvent | Outage] | None:
    """This run's events and outages after the journal's `last` event in the log's `rows` (the
    first at position `first`; this run's from position `live_from`): what the journal lacks.
    None when the log cannot tell: `last` is not in it, or (a journal without events) some of
    this run's rows were trimmed."""
    begin = live_from - first
    if last is not None:
        found = _position(rows, last)
        if found is None:
            return None
        begin = max(begin, found + 1)
    elif begin < 0:
        return None
    return [row for row in rows[begin:] if isinstance(row, (FlagEvent, Outage))]


def unheld_changes(
    memory: Iterable[ValueTransition], since: float, held: Sequence[ValueTransition]
) -> list[ValueTransition]:
    """This run's value changes at or after `since` that the journal does not hold (`held`)."""
    return unheld(memory, since, held, _change_key)


class _Found(Protocol):
    @property
    def at(self) -> float: ...  # when a monitor found it, by its own clock


_T = TypeVar("_T", bound=_Found)


def unheld(
    mine: Iterable[_T], since: float, held: Sequence[_T], key: Callable[[_T], object]
) -> list[_T]:
    """What this run found at or after `since` that the journal does not hold (`held`: its own
    from HELD_MARGIN before `since` on), two alike by `key`. Both are compared from that margin
    on, in time order: one this run found before `since` that the journal holds is paired with
    it first, so a later one alike (a flag flipped back and forth) is still journalled."""
    found = sorted(mine, key=lambda item: item.at)
    # Paired only with what the journal got about when this run found them: a journal without
    # events hands everything it ever held, and an old one alike is another change.
    start = (found[0].at if found else since) - HELD_MARGIN
    unpaired = Counter(key(item) for item in held if item.at >= start)
    lacking: list[_T] = []
    for item in found:
        if item.at < since - HELD_MARGIN:
            continue
        identity = key(item)
        if unpaired[identity] > 0:
            unpaired[identity] -= 1
        elif item.at >= since:
            lacking.append(item)
    return lacking


def _change_key(transition: ValueTransition) -> tuple[object, ...]:
    """What two monitors agree on for one value change: its event (id and flag: a restarted
    server numbers its events from 1 again) and context; without an id, what changed."""
    t = transition
    if t.event_id:
        return (t.event_id, t.flag_key, t.context)
    return (None, t.flag_key, t.context, msgspec.json.encode((t.before, t.after)))


def _diff_key(stored: StoredDiff) -> tuple[object, ...]:
    """What two monitors agree on for one configuration diff, as the shared journal's identity
    (docs/journal.md): its event's id; without one, the flag's id and the version (its event's,
    or the configuration's a re-fetch read); without either, what changed."""
    d = stored.diff
    if d.event_id:
        return (d.environment_id, d.flag_key, d.event_id)
    version = d.version if d.version is not None else d.fetched_version
    if version is not None:
        return (d.environment_id, d.flag_key, None, d.flag_id, version)
    return (d.environment_id, d.flag_key, None, d.flag_id, None, msgspec.json.encode(d.changes))


def stream_identity(event: FlagEvent) -> tuple[object, ...]:
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
    return type(row) is FlagEvent and stream_identity(row) == identity


def _oldest(rows: Sequence[Row], now: float) -> float:
    times = (row.received_at for row in rows if isinstance(row, (FlagEvent, Outage)))
    return min(times, default=now)
