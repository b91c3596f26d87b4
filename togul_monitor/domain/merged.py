"""Which journalled events were evaluated with the next change of their flag, not on their own.

Under a burst a flag is asked about at most about once a second (core/coalesce.py): the events
that come meanwhile are answered together, by one evaluation of the last of them. The journal
keeps value changes, not answers that found the value unchanged, so an event that was never
evaluated on its own would read as "evaluated, unchanged" in `history`. A recorder journals one
`MergedAnswer` for an answer that may have covered several events of its flag (at most one per
flag and context per answer, core/answered.py): never one per event.

An answer's row names its event (the last one it answered, by version and received time), the
first version it answered (`first_version`: the flag's first event asked since its previous
answer in that context, core/answered.py) and `since`: when that previous answer came in the
same run, or just before that first event was received when that is earlier (an event is
received before it is asked about). The events of the flag and environment from `first_version`
up to the answered event's version were answered with it, when also received after `since` and
before that event. The versions are what every recorder agrees on: in a shared journal an event
keeps the stamp of the recorder that wrote it first, and a row's times are told by its own
recorder's clock, so the times only narrow the range (they tell a restarted server's events,
whose versions may start again, from the earlier ones); an event this recorder evaluated on its
own, stamped later by another, is below `first_version`. The rule claims nothing it cannot
check: a row counts only when its event is among the events read, exactly as the recorder
received it, and an event journalled before such rows were written (or before they held
`first_version`, store/model.py) has none.

One rule for every reader (`merged_stream`): `history` and the TUI's history pane, the feed's
rows of earlier runs (store/recorded.py) and the exports (store/export_window.py), so none of
them says of an event what another does not. It runs over the events as they were received:
an export streams millions and may not hold them, so an event is held back only while an
answer that may cover it has not been checked, until the events read pass that answer's event.
That hold is bounded: an answer claims an event only when its own event came at most
`HOLD_SECONDS` later (a burst's answer comes a second or two after; one delayed longer, by
failing evaluations or a spent quota, claims only its last events), and past `MAX_HELD` events
held (a journal of more events a minute than that) the oldest go on with only what the answers
read by then show.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

import msgspec

from togul_monitor.domain.events import FlagEvent

#: What `tail`, the feed, its detail, the history pane and `history` say of such an event, in
#: one wording: each imports it (cli/tail_marks.py, cli/history_lines.py, ui/view/feed_layout.py,
#: ui/view/contexts.py, ui/widgets/history_pane.py).
WITH_NEXT = "evaluated with the next change"

#: How much later than an event the answer that claims it may have answered its own event
#: (received times), and so how long of the journal a reader holds back at most.
HOLD_SECONDS = 60.0
#: The most events a reader holds back at once (memory): past it the oldest go on, marked only
#: by the answers already shown.
MAX_HELD = 50_000


class MergedAnswer(msgspec.Struct, frozen=True):
    """An evaluation answer of one context that may have answered several events of a flag."""

    flag_key: str
    environment_id: str  # the answered event's: the profile's environment
    context: str
    since: float  # the previous answer in this context (this run), or before its first event
    first_version: int  # the lowest version it may have answered (core/answered.py)
    version: int  # the answered event's version
    received_at: float  # and when it was received
    at: float  # when the answer came


def merged_events(
    events: Iterable[FlagEvent], answers: Iterable[MergedAnswer]
) -> dict[FlagEvent, tuple[str, ...]]:
    """The events among `events` (in any order) that were answered with a later one, each with
    the contexts it was (sorted); events that are not keys were evaluated on their own, or
    nothing says. `merged_stream` over them in the order they were received."""
    received = sorted(events, key=lambda event: (event.received_at, event.version))
    return {event: contexts for event, contexts in merged_stream(received, answers) if contexts}


def merged_stream(
    events: Iterable[FlagEvent], answers: Iterable[MergedAnswer]
) -> Iterator[tuple[FlagEvent, tuple[str, ...]]]:
    """Each of `events` (in the order they were received, as the journal reads them) with the
    contexts it was evaluated with its flag's next change in (sorted; () when none, or nothing
    says), in the same order: the one rule of `history`, `export`, the history pane and the
    feed's rows of earlier runs.

    An answer counts only once its own event has come by (see the module's docstring): an event
    an answer may have covered is held back until the events read have passed that answer's
    event, a second or two under a burst, `HOLD_SECONDS` at most, and `MAX_HELD` events at
    most; the others pass at once. Without answers (a journal
    recorded before they were kept) the events pass as they are, at no cost per event."""
    pending = sorted(answers, key=lambda answer: answer.since)
    if not pending:
        yield from ((event, ()) for event in events)
        return
    # (Flag, environment) → the answers whose range has begun (`since` passed), unexpired.
    started: dict[tuple[str, str], list[MergedAnswer]] = {}
    seen: set[MergedAnswer] = set()  # the answers whose event came by
    held: deque[tuple[FlagEvent, list[MergedAnswer]]] = deque()
    begun = 0
    latest = float("-inf")
    for event in events:
        at = event.received_at
        latest = max(latest, at)
        while begun < len(pending) and pending[begun].since < at:
            answer = pending[begun]
            started.setdefault((answer.flag_key, answer.environment_id), []).append(answer)
            begun += 1
        group = started.get((event.flag_key, event.environment_id))
        covering: list[MergedAnswer] = []
        if group:
            group[:] = [answer for answer in group if answer.received_at >= at]  # not yet past
            for answer in group:
                if _is_answered(event, answer):
                    seen.add(answer)
                elif _before(event, answer):
                    covering.append(answer)
        held.append((event, covering))
        while len(held) > MAX_HELD:  # the oldest go on with what is shown by now: bounded
            first, covered = held.popleft()
            yield first, _contexts(covered, seen)
        while held and not _undecided(held[0][1], seen, latest):
            first, covered = held.popleft()
            yield first, _contexts(covered, seen)
    for event, covered in held:  # the end: an answer whose event never came claims nothing
        yield event, _contexts(covered, seen)


def _undecided(covering: list[MergedAnswer], seen: set[MergedAnswer], latest: float) -> bool:
    """Whether one of `covering` may still see its event come (none received later yet)."""
    return any(answer not in seen and answer.received_at >= latest for answer in covering)


def _contexts(covering: list[MergedAnswer], seen: set[MergedAnswer]) -> tuple[str, ...]:
    if not covering:
        return ()
    return tuple(sorted({answer.context for answer in covering if answer in seen}))


def _is_answered(event: FlagEvent, answer: MergedAnswer) -> bool:
    return event.received_at == answer.received_at and event.version == answer.version


def _before(event: FlagEvent, answer: MergedAnswer) -> bool:
    """Among the versions the answer covered, received before its event (in the same read: an
    earlier version of it), and not so long before that a reader would hold it too long."""
    if not answer.first_version <= event.version < answer.version:
        return False
    if event.received_at == answer.received_at:
        return True
    return answer.received_at - HOLD_SECONDS <= event.received_at < answer.received_at
