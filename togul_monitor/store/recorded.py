"""What the journal recorded with the events a monitor preloads: their value changes and
configuration diffs, each tied to the event it explains, so a recorded row says what it said live.

The journal ties a transition or a diff to its event by the event's id, and the tie here also
takes the flag (and the environment: a diff's, or the profile's for a transition) to match: a
restarted server numbers its events from 1 again, so an id alone may name another flag's event.
The documented stream sends no ids, and then the journal keeps none, so the tie is rebuilt from
what it does keep:

- a configuration diff names its event's id, when the stream sends them, and its flag and
  environment: the newest event of them received by the time the diff was computed, allowing
  `CLOCKS_APART` for another recorder's clock, as domain/change_owners.py ties a value change
  by its id. A restarted server numbers its events from 1 again (and one whose world starts
  again sends them at the versions the earlier life's had: only the time tells them apart), so
  the earlier life's diff stays with the earlier life's event, and a later event of the id
  without a diff of its own shows none;
- without ids, a diff names its flag, environment and version (the event's): the event of that
  flag, environment and version received last at or before the diff was computed (its `at`), as
  `history` and `export` place it by time. A version repeats when a flag is deleted and created
  again with its key (the new flag's versions start at 1): each diff stays with its own flag's
  event, as live. With none before it (a shared journal keeps an event as the recorder that
  wrote it first stamped it, by its own clock), the first event of that version received at
  most `CLOCKS_APART` after it;
- a value transition names its flag, its context, when it was computed, and its event's id when
  the stream sends them: its event is the one domain/change_owners.py finds among `events` (the
  rule `export` ties by too, store/export_window.py): of the change's environment only (the one
  it recorded, else the profile's), by the id, or without ids by time. A row shows one change
  per context: with an id the newest (as live), without the first after the event (a later one
  tied to the same event is a re-evaluation after it, on no row). One tied to no event that
  names none (a re-evaluation of its own: after an outage, `r`, the next start) is `found`, the
  feed's row of its own (ui/view/found.py) as it was live, and as `export` writes it.

One event changes the values of every context it changes (a profile may evaluate for several
named contexts, domain/values.py), so an event may own one transition per context: the tie is
made per (event, context), with an id or without.

An event whose re-evaluation was merged into its flag's next one (a burst) was never evaluated
on its own: live, its row says "evaluated with the next change" (ui/view/answers.py). The
journal's answers say it of the events of earlier runs by the rule `history` reads them by
(domain/merged.py, `read_merged`), so a recorded row says it too, and nothing where they say
nothing (a journal recorded before they were kept).

Reads are bounded: three queries (`JournalReader.changes_since`, and `merged_answers` of every
flag) from the oldest preloaded event on, at most `2 × events + 1,000` diffs and that many
transitions per context, never one query per event or per flag.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence

import msgspec

from togul_monitor.config.entry import MAX_CONTEXTS
from togul_monitor.domain.change_owners import CLOCKS_APART, ChangeOwners
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_config_model import ConfigDiff
from togul_monitor.domain.merged import merged_events
from togul_monitor.domain.values import ValueTransition
from togul_monitor.store.interface import JournalReader
from togul_monitor.store.model import StoredDiff

# Events in the order they were received, and their receive times (for `bisect`).
_Timeline = tuple[list[float], list[FlagEvent]]
# The events a diff may explain: its flag, environment and id, or (the stream without ids) its
# flag, environment and version; the other of the two is None.
_Key = tuple[str, str, str | None, int | None]


class RecordedChanges(msgspec.Struct, frozen=True):
    """Value changes and configuration diffs of preloaded events, oldest first; each with the
    very event object the monitor's log holds (an event without an id is told apart by it).
    An event appears with as many transitions as contexts whose value it changed. `found`: the
    value changes that name no event and that none of the events explains. `merged`: the
    events evaluated with their flag's next change, with the contexts (domain/merged.py)."""

    transitions: tuple[tuple[FlagEvent, ValueTransition], ...] = ()
    diffs: tuple[tuple[FlagEvent, StoredDiff], ...] = ()
    found: tuple[ValueTransition, ...] = ()
    merged: tuple[tuple[FlagEvent, tuple[str, ...]], ...] = ()


NO_CHANGES = RecordedChanges()


def read_recorded_changes(
    journal: JournalReader,
    events: Sequence[FlagEvent],
    environment_id: str | None = None,
    contexts: int = MAX_CONTEXTS,
) -> RecordedChanges:
    """The changes `journal` recorded with `events` (its latest, oldest first).
    `contexts`: how many the profile evaluates for (the transitions read scale with it)."""
    if not events:
        return NO_CHANGES
    since = min(event.received_at for event in events)
    limit = 2 * len(events) + 1_000
    transitions, diffs = journal.changes_since(since, limit, limit * max(1, contexts))
    # A change that recorded its environment is tied to an event of it (its id by these).
    recorded = any(t.environment_key is not None for t in transitions)
    names = journal.environment_names() if recorded else None
    tied = tie_changes(events, transitions, diffs, environment_id, names)
    merged = tuple(read_merged(journal, events).items())
    return msgspec.structs.replace(tied, merged=merged) if merged else tied


#: Answers read per event at most: one per context (a handful) and recorder (a few) at most.
ANSWERS_PER_EVENT = 64


def read_merged(
    journal: JournalReader, events: Sequence[FlagEvent], flag_key: str | None = None
) -> dict[FlagEvent, tuple[str, ...]]:
    """The events among `events` evaluated with their flag's next change, with the contexts
    (domain/merged.py): one query, for `flag_key`'s answers (None: every flag's, for events of
    many) that came since the oldest of them. `history`, the history pane and the backfill."""
    if not events:
        return {}
    oldest = min(event.received_at for event in events)
    answers = journal.merged_answers(flag_key, oldest, ANSWERS_PER_EVENT * len(events))
    return merged_events(events, answers)


def tie_changes(
    events: Sequence[FlagEvent],
    transitions: Sequence[ValueTransition],
    diffs: Sequence[StoredDiff],
    environment_id: str | None = None,
    environment_names: Mapping[str, str] | None = None,
) -> RecordedChanges:
    """Each transition and diff with the event of `events` it explains (see the module's
    docstring); those that explain none are left out, but the transitions that name no event
    (`found`)."""
    diff_owners = DiffOwners(diffs)
    owners = ChangeOwners(environment_id, environment_names=environment_names)  # transitions
    for event in events:
        owners.add(event)
        diff_owners.add(event)
    # (Event by identity, context) → the event and its transition of that context. With an id
    # the newest wins, as in the live view; without, the first after the event (a later one is
    # a re-evaluation of its own).
    tied: dict[tuple[int, str], tuple[FlagEvent, ValueTransition]] = {}
    unexplained: list[ValueTransition] = []
    for transition in transitions:
        owner = owners.owner(transition)
        if owner is None:
            if transition.event_id is None:  # a re-evaluation of its own
                unexplained.append(transition)
            continue
        key = (id(owner), transition.context)
        if transition.event_id is not None or key not in tied:
            tied[key] = (owner, transition)
    explained: list[tuple[FlagEvent, StoredDiff]] = []
    for stored in diffs:
        if (found := diff_owners.owner(stored)) is not None:
            explained.append((found, stored))
    return RecordedChanges(tuple(tied.values()), tuple(explained), tuple(unexplained))


class DiffOwners:
    """The event each configuration diff explains, by the rule of the module's docstring: the
    backfill's (`tie_changes`) and `export`'s (store/export_window.py), which hands the events
    over as it reads them, in the journal's order, and asks once it has read those received by
    the diff's time and `CLOCKS_APART`. Only the events some diff of `diffs` names are kept."""

    def __init__(self, diffs: Iterable[StoredDiff]) -> None:
        self._named = {key for s in diffs if (key := _diff_key(s.diff)) is not None}
        # Key → its events and their receive times, in the order added (oldest first).
        self._timelines: dict[_Key, _Timeline] = {}

    def names(self, event: FlagEvent) -> bool:
        """Whether some diff names `event`'s key (only those may explain one)."""
        return _event_key(event) in self._named

    def add(self, event: FlagEvent) -> None:
        key = _event_key(event)
        if key in self._named:
            times, owners = self._timelines.setdefault(key, ([], []))
            times.append(event.received_at)
            owners.append(event)

    def owner(self, stored: StoredDiff) -> FlagEvent | None:
        """The event of those added that `stored` explains, or None."""
        key = _diff_key(stored.diff)
        if key is None:  # found by a re-fetch: it explains no event
            return None
        timeline = self._timelines.get(key)
        if key[2] is not None:  # by its id
            return _last_before(timeline, stored.at + CLOCKS_APART)
        return _last_before(timeline, stored.at) or _just_after(timeline, stored.at)


def _event_key(event: FlagEvent) -> _Key:
    version = event.version if event.event_id is None else None
    return (event.flag_key, event.environment_id, event.event_id, version)


def _diff_key(diff: ConfigDiff) -> _Key | None:
    """The event `diff` explains; None for a diff a re-fetch found, which explains none."""
    if diff.event_id is not None:
        return (diff.flag_key, diff.environment_id, diff.event_id, None)
    if diff.version is None:
        return None
    return (diff.flag_key, diff.environment_id, None, diff.version)


def _just_after(timeline: _Timeline | None, at: float) -> FlagEvent | None:
    """None of `timeline` before `at`: its first event if it was received at most
    `CLOCKS_APART` after (another recorder stamped it, by a clock a little ahead: a shared
    journal keeps each event once), else None (a flag created again reused the version)."""
    if timeline is None or timeline[0][0] - at > CLOCKS_APART:
        return None
    return timeline[1][0]


def _last_before(timeline: _Timeline | None, at: float) -> FlagEvent | None:
    """The event of `timeline` received last at or before `at` (what a change computed at `at`
    can explain: it is computed after its event arrives), or None."""
    if timeline is None:
        return None
    times, owners = timeline
    index = bisect_right(times, at) - 1
    return owners[index] if index >= 0 else None
