"""What a batch of events asks of the evaluator: each flag's last event, the deletions, and the
events of flags beyond the flag limit.

A burst's batch holds thousands of events of a few flags, so the common case is read in C (no
event deletes a flag, every new flag fits the limit); any other batch is read event by event.
Both give the same answer (tests/unit/test_flag_limit.py compares them on random batches).
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field
from operator import attrgetter

from togul_monitor.domain.events import FlagEvent

_flag_of = attrgetter("flag_key")
_id_of = attrgetter("event_id")
_type_of = attrgetter("type")


@dataclass(slots=True)
class BatchFlags:
    #: flag → the id of its last event after its last deletion, in the order the flags first
    #: appear (after a deletion: where they appear again).
    latest: dict[str, str | None]
    #: (flag, event id) of each deletion of a monitored flag, in order.
    deleted: list[tuple[str, str | None]] = field(default_factory=list)
    unmonitored: int = 0  # events of flags beyond the limit: counted, not evaluated


def flags_of(events: list[FlagEvent], known: Set[str], room: int) -> BatchFlags:
    """`events` read against the flags already monitored (`known`) and the number of new flags
    the limit still allows (`room`)."""
    return _in_c(events, known, room) or _event_by_event(events, known, room)


def _in_c(events: list[FlagEvent], known: Set[str], room: int) -> BatchFlags | None:
    """The common case, without a Python step per event; None for any other batch."""
    if "flag.deleted" in set(map(_type_of, events)):
        return None
    latest = dict(zip(map(_flag_of, events), map(_id_of, events), strict=True))
    return None if len(latest.keys() - known) > room else BatchFlags(latest)


def _event_by_event(events: list[FlagEvent], known: Set[str], room: int) -> BatchFlags:
    batch = BatchFlags({})
    latest = batch.latest
    deleted: set[str] = set()  # a deleted flag is monitored from then on (its value says so)
    for event in events:
        key = event.flag_key
        if key not in known and key not in latest and key not in deleted:
            if room <= 0:
                batch.unmonitored += 1
                continue
            room -= 1
        if event.type == "flag.deleted":
            latest.pop(key, None)
            batch.deleted.append((key, event.event_id))
            deleted.add(key)
        else:
            latest[key] = event.event_id
    return batch
