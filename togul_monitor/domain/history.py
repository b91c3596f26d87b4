"""One flag's history: its events, value transitions, the outages around them and the
configuration changes found by re-fetches, merged.

The journal (past runs) and the monitor's memory (this run) each hold part of it; the views
show one list, newest first, with no row twice.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping

import msgspec

from togul_monitor.domain.change_owners import ChangeOwners
from togul_monitor.domain.events import FlagEvent, Outage, outage_time
from togul_monitor.domain.flag_config_model import ConfigDiff
from togul_monitor.domain.values import ValueTransition


class FoundDiff(msgspec.Struct, frozen=True):
    """A change of the flag's configuration that a re-fetch found (after an outage, an unusable
    event): it explains no event, so it is a row of its own, at the time it was found."""

    diff: ConfigDiff
    at: float


HistoryEntry = FlagEvent | ValueTransition | Outage | FoundDiff


#: A replay comes in the first reads of the resumed connection: an event received later than
#: this after its outage was decided is live, whatever the server's clock says of it.
REPLAY_WINDOW = 5.0
#: Outages a view that receives them as they come keeps (`Replays.add`): a replay is read only
#: right after its outage.
MAX_OUTAGES = 1_000
#: The server stamps events in whole seconds: a stamp says the change happened within the
#: second after it.
SERVER_TIME_STEP = 1.0


class Replays:
    """The events among some history entries that the server re-sent after an outage (the
    stream resumed after Last-Event-ID and the client counted a replay: the outage's
    `replayed`), and when each happened: they are received after the outage, but belong
    inside it.

    One is received right after the outage (within REPLAY_WINDOW of the outage's decision),
    stamped by the server in a second that ended by the time the stream was back: it happened
    while the stream was down. One stamped in the reconnect's second may as well be a live
    change made just after it (the stream client counts it as replayed, but only as an
    informative count: client/outages.py), so it is not said to be replayed. Its time is the
    server's, kept inside the outage: the server's clock may be off ours. Any other event keeps
    its received time: a live one never moves.
    """

    def __init__(self, entries: Iterable[object]) -> None:
        # `replayed`: None without Last-Event-ID, 0 when the client saw no replay come.
        outages = [e for e in entries if isinstance(e, Outage) and e.replayed]
        outages.sort(key=lambda o: o.ended_at)
        self._outages = outages
        self._ends = [o.ended_at for o in outages]

    def add(self, outage: Outage) -> None:
        """One more outage, for a view that receives them as they come (the feed): at most
        MAX_OUTAGES, the latest."""
        if not outage.replayed or outage in self._outages:
            return
        index = bisect_right(self._ends, outage.ended_at)
        self._outages.insert(index, outage)
        self._ends.insert(index, outage.ended_at)
        if len(self._outages) > MAX_OUTAGES:
            del self._outages[0], self._ends[0]

    def outage_of(self, entry: object) -> Outage | None:
        """The outage a replayed event happened in; None for any other entry."""
        if not isinstance(entry, FlagEvent) or not self._outages:
            return None
        index = bisect_right(self._ends, entry.received_at) - 1
        if index < 0:
            return None
        outage = self._outages[index]  # the last one back before the event came
        if entry.received_at > outage.received_at + REPLAY_WINDOW:
            return None
        if entry.timestamp + SERVER_TIME_STEP > outage.ended_at:
            return None
        return outage

    def happened_at(self, entry: object) -> float | None:
        """When a replayed event happened, inside its outage; None for any other entry."""
        outage = self.outage_of(entry)
        if outage is None or not isinstance(entry, FlagEvent):
            return None
        return min(max(entry.timestamp, outage.started_at), outage.ended_at)


def entry_time(entry: HistoryEntry, replays: Replays) -> float:
    """When `entry` happened: a replayed event inside its outage (`replays`), an outage where
    it ended (`outage_time`), the rest when received or found."""
    if isinstance(entry, FlagEvent):
        happened = replays.happened_at(entry)
        return entry.received_at if happened is None else happened
    if isinstance(entry, (ValueTransition, FoundDiff)):
        return entry.at
    return outage_time(entry)


def _entry_key(entry: HistoryEntry, owners: ChangeOwners | None = None) -> tuple[object, ...]:
    # Not the record's hash: an Evaluation may hold an unhashable JSON value.
    if isinstance(entry, FlagEvent):
        return ("e", *_server_fields(entry))
    if isinstance(entry, ValueTransition):
        # The context too: one event changes the values of several contexts at the same time.
        if entry.event_id is not None:  # each process computes its own `at`: see `_same_change`
            # And its event: a restarted server numbers its events from 1 again, and each
            # life's change of one flag and id is a row of its own (None: its event is not
            # among the entries, older than the history read).
            owner = None if owners is None else owners.owner(entry)
            event = None if owner is None else _server_fields(owner)
            return ("t", entry.flag_key, entry.event_id, entry.context, event)
        return ("t", entry.flag_key, None, entry.at, entry.context)
    if isinstance(entry, FoundDiff):
        # Not its time: this monitor's copy and a shared journal's (another recorder found the
        # same change, stamped by its own clock) are one row; see `merge_history`.
        diff = entry.diff
        return ("d", diff.flag_key, diff.environment_id, msgspec.json.encode(diff.changes))
    return ("o", entry.started_at, entry.ended_at, entry.received_at)


def _server_fields(e: FlagEvent) -> tuple[object, ...]:
    """What the server sent, not when this process received it: a journal another process
    records holds the same event with its own `received_at`."""
    return (e.event_id, e.flag_key, e.environment_id, e.type, e.version, e.timestamp)


def history_owners(
    groups: Iterable[Iterable[HistoryEntry]],
    environment_id: str | None = None,
    environment_names: Mapping[str, str] | None = None,
) -> ChangeOwners:
    """The events among `groups`, to tie each value change to its own (domain/change_owners.py):
    of the profile's environment `environment_id` when known, or of the change's own when the
    journal recorded it and `environment_names` names the event's."""
    events = [e for group in groups for e in group if isinstance(e, FlagEvent)]
    events.sort(key=lambda e: e.received_at)
    owners = ChangeOwners(environment_id, environment_names=environment_names)
    for event in events:
        owners.add(event)
    return owners


#: Two copies of one found change are at most this far apart (a re-fetch answers in seconds, and
#: two recorders' clocks are close); the same change found again later (the flag went back and
#: forth between re-fetches, at most one every 10 s) is a row of its own.
SAME_FIND_WITHIN = 5.0
#: Two processes' copies of one value change tied to no event id (a stream without ids): each
#: re-evaluated after the same event, so their answers are seconds apart at most.
SAME_CHANGE_WITHIN = 5.0


class FoundCopies:
    """Copies of one change found by re-fetches: this monitor's and a shared journal's, or two
    recorders' of one journal (a server that does not say the version it answered leaves them
    no identity in common: store/model.py). Within SAME_FIND_WITHIN of each other they are one;
    the same change found again later is a row of its own."""

    def __init__(self) -> None:
        self._times: dict[object, list[float]] = {}  # a found diff's key → the times kept

    def is_copy(self, found: FoundDiff) -> bool:
        """Whether `found` copies one kept already (else it is kept)."""
        times = self._times.setdefault(_entry_key(found), [])
        if any(abs(found.at - at) <= SAME_FIND_WITHIN for at in times):
            return True
        times.append(found.at)
        return False


def _change_key(t: ValueTransition) -> tuple[object, ...]:
    """A value change without an event id, but its time (and its mark, on which two processes
    may differ): see `merge_history`."""
    return (t.flag_key, t.context, msgspec.json.encode(t.before), msgspec.json.encode(t.after))


class _ChangeCopies:
    """Value changes without an event id, paired across sources by their values and times: a
    copy from another source within SAME_CHANGE_WITHIN is the same change (each pairs with one),
    while two of one source are two changes (a flag flipped back and forth)."""

    def __init__(self) -> None:
        self._times: dict[tuple[object, ...], list[float]] = {}  # not yet paired, by change
        self._group: list[tuple[tuple[object, ...], float]] = []  # this source's, kept

    def pair_exact(self, entries: Iterable[HistoryEntry]) -> None:
        for entry in entries:
            if isinstance(entry, ValueTransition) and entry.event_id is None:
                times = self._times.get(_change_key(entry), [])
                if entry.at in times:
                    times.remove(entry.at)

    def is_copy(self, entry: HistoryEntry) -> bool:
        if not isinstance(entry, ValueTransition) or entry.event_id is not None:
            return False
        change = _change_key(entry)
        times = self._times.get(change, [])
        near = [at for at in times if abs(entry.at - at) <= SAME_CHANGE_WITHIN]
        if near:
            times.remove(min(near, key=lambda at: abs(entry.at - at)))
            return True
        self._group.append((change, entry.at))
        return False

    def end_group(self) -> None:
        for change, at in self._group:
            self._times.setdefault(change, []).append(at)
        self._group = []


def merge_history(
    *groups: Iterable[HistoryEntry],
    limit: int,
    environment_id: str | None = None,
    environment_names: Mapping[str, str] | None = None,
) -> list[HistoryEntry]:
    """Entries of several sources, newest first, without repeats, the first `limit`; see
    `merge_tied`."""
    return merge_tied(
        *groups, limit=limit, environment_id=environment_id, environment_names=environment_names
    )[0]


def merge_tied(
    *groups: Iterable[HistoryEntry],
    limit: int,
    environment_id: str | None = None,
    environment_names: Mapping[str, str] | None = None,
) -> tuple[list[HistoryEntry], ChangeOwners]:
    """Entries of several sources, newest first, without repeats, the first `limit`, and the
    events their value changes were tied to (`history_owners`: `owner` gives a change's, as the
    merge took it, for the history pane's `enter`).
    `environment_id`: the profile's, when known: a value change is one of its events' (a
    token's stream carries every environment, whose ids repeat), and two copies of one change
    are one row by the event they belong to; `environment_names` (id → key) finds the
    environment a journalled change recorded.

    At equal times a transition sorts before (newer than) the event that caused it, and an
    outage (at its end: `outage_time`) after both, older: what the values asked again after
    the reconnect found comes above it, newest first; a found diff above all (it explains the
    values found with it). An event the server replayed after an outage is placed when it
    happened, inside the outage (`Replays`), under it.
    """
    rank = {FoundDiff: -1, ValueTransition: 0, FlagEvent: 1, Outage: 2}
    seen: set[object] = set()
    found = FoundCopies()
    copies = _ChangeCopies()
    merged: list[HistoryEntry] = []
    held = [list(group) for group in groups]
    owners = history_owners(held, environment_id, environment_names)
    for group in held:
        rows = [(entry, _entry_key(entry, owners)) for entry in group]
        # Exact copies of rows kept already pair with those first: else one could pair with
        # another change of the same values a few seconds away, and hide it.
        copies.pair_exact(entry for entry, key in rows if key in seen)
        for entry, key in rows:
            if isinstance(entry, FoundDiff):
                if found.is_copy(entry):
                    continue
            elif key in seen or copies.is_copy(entry):  # from the journal and from memory
                continue
            seen.add(key)
            merged.append(entry)
        copies.end_group()
    replays = Replays(merged)

    def order(entry: HistoryEntry) -> tuple[float, int, int]:
        # A replayed event under its outage at an equal time: it happened before the outage ended.
        kind = 3 if replays.happened_at(entry) is not None else rank[type(entry)]
        # Events received together (a replay after an outage) newest first too: by version.
        return (-entry_time(entry, replays), kind, -getattr(entry, "version", 0))

    merged.sort(key=order)
    return merged[:limit], owners
