"""What an export writes, in time order: the events, and what the monitor knew about the window
they cover: the outages (changes made in them may be missing from the events), the value changes
and the configuration diffs. Events alone would make a window full of gaps look complete.

Each item has a time: an event the time it was received, an outage where it ended (the
reconnect: domain/events.py `outage_time`, not when it was decided, up to a second later), a
value change and a diff the time they were computed (after their event). The four streams are
merged by it; at one time, an outage comes before the events the server replayed for it and
the changes the values asked again after it found, an event before what it changed. A shared
journal keeps an event as the recorder that wrote it first stamped it, by its clock, which may
be up to `CLOCKS_APART` ahead of the clock that computed the event's change or diff: an export
reads the events that far ahead of such a change (`_Ahead`: only those seconds' events are held),
ties it as the backfill does, and holds it until its event is written, right after it.

A filtered export writes the events its filter keeps, every outage (an outage is of the whole
stream: whatever the filter, changes in it may be missing), and the value changes and diffs of
the events it wrote. A diff is tied to its event by the very rule the backfill ties it by
(store/recorded.py `DiffOwners`, handed the events as they are read): by the event's id within
its flag and environment, the newest received by `CLOCKS_APART` after the diff (a restarted
server's event of the id is another life's: the earlier life's diff stays with its own event),
or without ids by its flag, environment and version, to the last such event before it (a flag
created again reuses the versions), or with none before it the first received up to
`CLOCKS_APART` after it. A value change is tied to its event by the rule the backfill of a
monitor's rows ties it by too (domain/change_owners.py): an event of the change's environment
(the one it recorded, where `environment_names` names the event's, else the profile's,
`environment_id`: a token's stream carries every environment, and the values are the one
evaluate asked for), by the event's id within its flag (the newest received by `CLOCKS_APART`
after the change), or without ids the last event of its flag (sent without an id) received
shortly before it. One that names no event and is tied to none was found by a re-evaluation of
its own (after an outage whose events were lost, `r`, a start): it is written as `found`
(`Exported.found`), with the environment the journal recorded for it
(`ValueTransition.environment_key`: the one evaluate asked for then), never the profile's now: a
profile edited from `staging` to `production`, or two profiles sharing one journal file, would
have a staging change written as production's. A row written before the journal kept it has none
known, and is written without one. A filter keeps it as the TUI's feed keeps its row
(ui/view/found.py): as an event of its flag in that environment (its id where
`environment_names` names one, else its key, which `env:` matches as a key) with no type, so
that `flag:`, `env:`, a bare word and `/regex/` apply, and a `type:` term (or, its environment
not known, an `env:` term) leaves it out. One that names an event the window does not hold
(`--since` cut it, or it is of no event of its environment) is a `transition`, in an unfiltered
export. A caller that knows which event each value change belongs to (the TUI's view, which tied
them as they came) passes them `tied`, and they are written with it (its diffs too); and those
of no event it shows, `found`, each with its environment.

An event evaluated with its flag's next change, not on its own (a burst), is written with the
contexts it was (`Exported.with_next`): by the journal's `answers` and the rule `history` reads
them by (domain/merged.py `merged_stream`, the events streamed past them), or as the caller's
`with_next` says (the TUI's feed rows). Without either, nothing is claimed.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping

import msgspec

from togul_monitor.domain.change_owners import CLOCKS_APART, ChangeOwners
from togul_monitor.domain.events import FlagEvent, Outage, outage_time
from togul_monitor.domain.merged import MergedAnswer, merged_stream
from togul_monitor.domain.values import ValueTransition
from togul_monitor.store.model import StoredDiff
from togul_monitor.store.recorded import DiffOwners

#: Events of one flag remembered (at least) to tie its value changes to: an answer comes within
#: seconds of its event, a few of the flag's events later at most under a burst.
RECENT_PER_FLAG = 64

# Which comes first at one time.
_OUTAGE, _EVENT, _DIFF, _TRANSITION, _FOUND = range(5)

Item = FlagEvent | Outage | StoredDiff | ValueTransition
#: A value change or a configuration diff with the event it belongs to.
Tied = tuple[FlagEvent, ValueTransition | StoredDiff]


#: A value change no event explains, with its environment's id (None: the one it recorded).
Found = tuple[str | None, ValueTransition]


class Exported(msgspec.Struct, frozen=True):
    """One item to write; `environment_id` a value change's, taken from its event, or for one
    `found` the caller's (None: the one the change recorded, `ValueTransition.environment_key`);
    `found`: a value change no event explains;
    `with_next`: the contexts an event was evaluated with its flag's next change in
    (domain/merged.py)."""

    item: Item
    environment_id: str | None = None
    found: bool = False
    with_next: tuple[str, ...] = ()


def window_items(
    events: Iterable[FlagEvent],
    *,
    outages: Iterable[Outage] = (),
    diffs: Iterable[StoredDiff] = (),
    transitions: Iterable[ValueTransition] = (),
    tied: Iterable[Tied] = (),
    found: Iterable[Found] = (),
    keep: Callable[[FlagEvent], bool] | None = None,
    filtered: bool = False,
    environment_id: str | None = None,
    answers: Iterable[MergedAnswer] = (),
    with_next: Callable[[FlagEvent], tuple[str, ...]] | None = None,
    environment_names: Mapping[str, str] | None = None,
) -> Iterator[Exported]:
    """Everything to write, oldest first. `keep`: the events a filter keeps (the others are left
    out, with their changes); `filtered` without `keep`: `events` are a filter's already, and
    only their changes go with them. `tied`: value changes and diffs of written events, each
    with its event (not tied again: each is written, after its event); `found`: value changes of
    no event the caller's filter kept, each with its environment's id; `environment_id`: the
    profile's, whose events alone explain a change of `transitions` that recorded no environment
    (None: not known, any event may); `environment_names` (id → key): the events of the one a
    change recorded, which alone explain it, and the id a change no event explains is kept by
    for `keep` (see the module's docstring). `answers`: the journal's, which say which of
    `events` were evaluated with their flag's next change (domain/merged.py, as `history` reads
    them: all of `events`, kept or not, are what they are checked against); `with_next`: a
    caller's own say of it (the TUI's feed rows, as they said it live)."""
    filtered = filtered or keep is not None
    ids = _ids_by_key(environment_names or {})
    answers = list(answers)  # few: one per answer that may have covered several events
    marks: dict[int, tuple[str, ...]] = {}  # id(event) → its contexts, until it is written
    if answers:
        events = _marked(merged_stream(events, answers), marks)
    recent = ChangeOwners(environment_id, RECENT_PER_FLAG, environment_names)
    diffs = list(diffs)  # few (one per change of a flag's rules): read at once by the callers
    written = _DiffsWritten(diffs)
    ahead = _Ahead(events, recent, written.owners)
    # Changes and diffs whose event comes later in the merge (another recorder's clock stamped
    # it a little ahead), by that event's identity: written right after it.
    held: dict[int, list[Exported]] = {}
    for _, rank, item in _merged(ahead, outages, diffs, transitions, tied, found):
        if isinstance(item, Exported):  # a caller's found change
            yield item
        elif rank == _EVENT:
            assert isinstance(item, FlagEvent)
            kept = keep is None or keep(item)
            ahead.passed(item)
            written.saw(item, kept)
            said = marks.pop(id(item), ()) if answers else ()
            if kept:
                yield Exported(item, with_next=with_next(item) if with_next else said)
                yield from held.pop(id(item), ())
            else:
                held.pop(id(item), None)
        elif isinstance(item, tuple):
            yield Exported(item[1], item[0].environment_id)
        elif rank == _TRANSITION:
            assert isinstance(item, ValueTransition)
            if item.event_id is not None:  # its event may be stamped up to CLOCKS_APART later
                ahead.read_until(item.at + CLOCKS_APART)
            owner = recent.owner(item)
            if owner is None:
                if item.event_id is None:
                    if _keeps_found(item, keep, filtered, ids):
                        yield Exported(item, found=True)
                elif not filtered:  # its event is not in the window (`--since`, retention)
                    yield Exported(item)
            elif ahead.waits(owner):
                held.setdefault(id(owner), []).append(Exported(item, owner.environment_id))
            elif keep is None or keep(owner):  # its event is written
                yield Exported(item, owner.environment_id)
        elif rank == _DIFF:
            assert isinstance(item, StoredDiff)
            ahead.read_until(item.at + CLOCKS_APART)  # its event may be stamped that much later
            owner = written.owners.owner(item)
            if owner is not None and ahead.waits(owner):
                held.setdefault(id(owner), []).append(Exported(item))
            elif not filtered or (owner is not None and written.written(owner)):
                yield Exported(item)
        else:
            yield Exported(item)


class _Ahead:
    """The events, as the merge takes them, and read ahead of it up to a time a change or a
    diff asks for (its own and `CLOCKS_APART`): each is handed to `recent` and `diffs` as it is
    read, in the journal's order, so that a change or a diff finds an event another recorder
    stamped a little after it.
    Only what the journal holds for that many seconds is read ahead: an export streams millions
    of events."""

    def __init__(
        self, events: Iterable[FlagEvent], recent: ChangeOwners, diffs: DiffOwners
    ) -> None:
        self._source = iter(events)
        self._recent = recent
        self._diffs = diffs
        self._ahead: deque[FlagEvent] = deque()  # read, not taken by the merge yet
        # Read, not through the merge yet (the merge takes one before it yields it), by identity.
        self._waiting: dict[int, FlagEvent] = {}
        self._last = -math.inf  # when the last one read was received

    def __iter__(self) -> Iterator[tuple[float, int, FlagEvent]]:
        while self._ahead or self._read():
            event = self._ahead.popleft()
            yield event.received_at, _EVENT, event

    def read_until(self, at: float) -> None:
        """Reads the events received by `at` (and the next one)."""
        while self._last <= at and self._read():
            pass

    def waits(self, event: FlagEvent) -> bool:
        """Whether `event` is read and not through the merge yet."""
        return id(event) in self._waiting

    def passed(self, event: FlagEvent) -> None:
        self._waiting.pop(id(event), None)

    def _read(self) -> bool:
        event = next(self._source, None)
        if event is None:
            self._last = math.inf
            return False
        self._ahead.append(event)
        self._waiting[id(event)] = event
        self._last = event.received_at
        self._recent.add(event)
        self._diffs.add(event)
        return True


def _marked(
    stream: Iterator[tuple[FlagEvent, tuple[str, ...]]], marks: dict[int, tuple[str, ...]]
) -> Iterator[FlagEvent]:
    """The events of `stream`, each one's contexts kept in `marks` until it is written."""
    for event, contexts in stream:
        if contexts:
            marks[id(event)] = contexts
        yield event


class _DiffsWritten:
    """Whether the event each diff explains is written: the event found by the rule the
    backfill ties a diff by (store/recorded.py `DiffOwners`, given the events as `_Ahead` reads
    them), and whether the filter kept it, said when it went through the merge. Only the events
    some diff names are remembered."""

    def __init__(self, diffs: Iterable[StoredDiff]) -> None:
        self.owners = DiffOwners(diffs)
        self._kept: dict[int, bool] = {}  # id(event) → kept, once through the merge

    def saw(self, event: FlagEvent, kept: bool) -> None:
        if self.owners.names(event):
            self._kept[id(event)] = kept

    def written(self, event: FlagEvent) -> bool:
        return self._kept.get(id(event), False)


def _ids_by_key(names: Mapping[str, str]) -> dict[str, str]:
    """Environment key → its id, for the keys one id alone is named by."""
    ids: dict[str, list[str]] = {}
    for env_id, key in names.items():
        ids.setdefault(key, []).append(env_id)
    return {key: found[0] for key, found in ids.items() if len(found) == 1}


def _keeps_found(
    transition: ValueTransition,
    keep: Callable[[FlagEvent], bool] | None,
    filtered: bool,
    ids: Mapping[str, str],
) -> bool:
    """Whether a filtered export keeps a change of no event: as an event of its flag in the
    environment it recorded (its id by `ids`, key → id, else its key; none when not known)
    with no type (see the module's docstring)."""
    if not filtered:
        return True
    if keep is None:
        return False  # `events` are a filter's, and no event of them explains it
    at, key = transition.at, transition.environment_key or ""
    return keep(FlagEvent("", transition.flag_key, ids.get(key, key), 0, at, None, at))


def _merged(
    events: _Ahead,
    outages: Iterable[Outage],
    diffs: Iterable[StoredDiff],
    transitions: Iterable[ValueTransition],
    tied: Iterable[Tied],
    found: Iterable[Found],
) -> Iterator[tuple[float, int, Item | Tied | Exported]]:
    # A tied change goes after its event, even when another recorder's clock stamped the one
    # or the other (a shared journal keeps an event as the recorder that wrote it first saw it).
    owned = sorted(((max(c.at, e.received_at), _TRANSITION, (e, c)) for e, c in tied), key=_time)
    streams: list[Iterator[tuple[float, int, Item | Tied | Exported]]] = [
        iter(sorted(((outage_time(o), _OUTAGE, o) for o in outages), key=_time)),
        iter(events),
        ((d.at, _DIFF, d) for d in diffs),
        ((t.at, _TRANSITION, t) for t in transitions),
        iter(owned),
        iter(sorted(((t.at, _FOUND, Exported(t, e, found=True)) for e, t in found), key=_time)),
    ]
    return heapq.merge(*streams, key=lambda entry: (entry[0], entry[1]))


def _time(entry: tuple[float, int, object]) -> float:
    return entry[0]


def outage_words(outages: int, missed: int) -> tuple[str, str]:
    """How an export's summary counts its window's outages: (`6 outages`, `4 may have missed
    changes` or `nothing missed`)."""
    counted = f"{outages} outage{'s' if outages > 1 else ''}"
    return counted, f"{missed} may have missed changes" if missed else "nothing missed"
