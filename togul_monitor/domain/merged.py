"""Which journalled events were evaluated with the next change of their flag, not on their own.

Under a burst a flag is asked about at most about once a second (core/coalesce.py): the events
that come meanwhile are answered together, by one evaluation of the last of them. The journal
keeps value changes, not answers that found the value unchanged, so an event that was never
evaluated on its own would read as "evaluated, unchanged" in `history`. A recorder journals one
`MergedAnswer` for an answer that may have covered several events of its flag (at most one per
flag and context per answer, core/answered.py): never one per event.

An answer's row names its event (the last one it answered, by version and received time) and
`since`, when the flag's previous answer in that context came in the same run. The events of
the flag and environment received after `since` and before that event were answered with it.
The rule claims nothing it cannot check: a row counts only when its event is among the events
read, exactly as the recorder received it (a shared journal keeps an event as the recorder that
wrote it first stamped it, and another recorder's answers are told by its own clock), and an
event journalled before such rows were written has none.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from togul_monitor.domain.events import FlagEvent

#: What `tail`, the feed and `history` say of such an event (ui/view/feed_layout.py).
WITH_NEXT = "evaluated with the next change"


class MergedAnswer(msgspec.Struct, frozen=True):
    """An evaluation answer of one context that may have answered several events of a flag."""

    flag_key: str
    environment_id: str  # the answered event's: the profile's environment
    context: str
    since: float  # the flag's previous answer in this context (the same run)
    version: int  # the answered event's version
    received_at: float  # and when it was received
    at: float  # when the answer came


def merged_events(
    events: Iterable[FlagEvent], answers: Iterable[MergedAnswer]
) -> dict[FlagEvent, tuple[str, ...]]:
    """The events among `events` that were answered with a later one, each with the contexts
    it was (sorted); events that are not keys were evaluated on their own, or nothing says."""
    by_flag: dict[tuple[str, str], list[FlagEvent]] = {}
    for event in events:
        by_flag.setdefault((event.flag_key, event.environment_id), []).append(event)
    found: dict[FlagEvent, set[str]] = {}
    for answer in answers:
        group = by_flag.get((answer.flag_key, answer.environment_id), [])
        if not any(_is_answered(event, answer) for event in group):
            continue  # its event is not among those read (or another recorder stamped it)
        for event in group:
            if answer.since < event.received_at and _before(event, answer):
                found.setdefault(event, set()).add(answer.context)
    return {event: tuple(sorted(contexts)) for event, contexts in found.items()}


def _is_answered(event: FlagEvent, answer: MergedAnswer) -> bool:
    return event.received_at == answer.received_at and event.version == answer.version


def _before(event: FlagEvent, answer: MergedAnswer) -> bool:
    """Received before the answered event (in the same read: an earlier version of it)."""
    if event.received_at == answer.received_at:
        return event.version < answer.version
    return event.received_at < answer.received_at
