"""Outages of the stream: when the connection was lost, when it was back, and what may be missing.

Outage rule (documented for the UI and tested):
* An `Outage` is emitted after every reconnect that follows a LIVE period (a restart included),
  with `started_at` = the previous connection's last sign of life (its last byte, or its
  headers: however it ended, the silence before the end is where changes were lost) and
  `ended_at` = when the new one went LIVE. It is emitted before the first event or heartbeat of
  the new connection, or 1 s after LIVE if nothing arrived by then. A run that resumes an
  earlier run's stream (a `ResumePoint`: the journal's last event, whose id, if any, is sent as
  `Last-Event-ID`, and when that run stopped watching) has one at its first connection: the time
  between the runs is an outage too, proved whole or not by the replay as any other, and not
  proved when the first event is of another environment than that last one (another stream:
  the profile's key or server changed since). A token's stream, which numbers every
  environment's events in one sequence, resumes after its last event of any environment (no
  environment to check).
* `may_have_missed` is False only with proof: we sent `Last-Event-ID: L` (a numeric id), the
  first new event after the reconnect has id L + 1, and nothing in its batch contradicts that
  (`_consistent`). Ids are a server sequence, so nothing can lie between L and L + 1, unless
  the server restarted and numbers its events afresh: then the batch may show it, by an id
  that goes back, a possible gap, or an event of a flag whose versions the client knew (from
  before the batch; a resumed run's, from the journal's latest events) that is not its flag's
  next one (`VersionTracker.contradicts`). Anything else (ids with holes, no ids, nothing
  received yet) is True.
* `replayed` is None when no `Last-Event-ID` was sent (the server had nothing to resume from).
  Otherwise it estimates what the server re-sent: the new events of the first received batch
  whose server timestamp is not later than `ended_at` (they happened while we were away) and,
  when the id sent and theirs are numeric, whose id is above the id sent (a server re-sends
  only what follows it: an event numbered up to it is a restarted server's new life, live,
  however it is stamped). Server timestamps are whole seconds on another machine's clock, so a
  live event in the reconnect second counts as replayed; the count is informative,
  `may_have_missed` is the safe signal.
* An outage reported before any event came (a quiet stream: after DECISION_DELAY, or on a
  heartbeat) cannot be proven then. The first event after it decides it again by the same
  rule: proven whole, an `OutageProven` (the same outage, `may_have_missed` False) comes right
  before that event in its batch. Until then the check is once per network read, never per
  event. A connection lost before that event ends the wait: the outage stays as reported (the
  next outage is decided on its own).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import NamedTuple

import msgspec

from togul_monitor.client.gaps import VersionTracker
from togul_monitor.client.sse import Comment
from togul_monitor.client.sse_fast import FastParsed
from togul_monitor.domain.events import (
    FlagEvent,
    Malformed,
    Outage,
    OutageProven,
    PossibleGap,
    StreamItem,
)

DECISION_DELAY = 1.0  # seconds after LIVE to report an outage when nothing arrived yet


class ResumePoint(NamedTuple):
    """Where an earlier stream stopped: its last event's id and environment, and when."""

    event_id: str | None  # None: no id (none sent, or no event journalled): nothing replayed
    # When the earlier stream was last watched: the journal's "watched until" mark (never
    # before its last event's received_at; core/recording.py), or when this run's was lost.
    since: float
    # The stream the replay must be of (None: any). An org-wide (token) stream numbers every
    # environment's events in one sequence, so it resumes with None (core/monitor_stream.py).
    environment_id: str | None = None
    # The journal's latest events, oldest first: each flag's versions as the earlier run knew
    # them, against which the replay is checked (this run's own tracker starts empty).
    known: tuple[FlagEvent, ...] = ()


class _Pending(msgspec.Struct):
    started_at: float
    ended_at: float
    sent_id: str | None  # the Last-Event-ID we sent, if any
    last_numeric: int | None  # the highest numeric id delivered before the outage
    environment_id: str | None = None  # a resumed stream's last event's
    known: tuple[FlagEvent, ...] = ()  # a resumed stream's: `ResumePoint.known`
    timer: asyncio.TimerHandle | None = None


def _numeric(event_id: str | None) -> int | None:
    if event_id is None or not (event_id.isascii() and event_id.isdigit()):
        return None
    return int(event_id)


class OutageTracker:
    """Told when a connection goes live and when it is lost; decides each outage once."""

    def __init__(
        self,
        emit: Callable[[list[StreamItem]], None],
        clock: Callable[[], float],
        *,
        resumed: ResumePoint | None = None,
        versions: VersionTracker | None = None,
    ) -> None:
        self._emit = emit
        self._clock = clock
        # The stream's version tracker (items_run.py), which the batches update.
        self._versions = versions if versions is not None else VersionTracker()
        # Wall time the last LIVE connection was lost (or the earlier run's last event).
        self._down_since = resumed.since if resumed is not None else None
        self._resumed = resumed  # until the first outage is decided
        self._pending: _Pending | None = None
        # Reported after DECISION_DELAY as one that may have missed changes: the first event
        # decides it again (`decide`).
        self._unproven: tuple[_Pending, Outage] | None = None

    def live(self, now: float, sent_id: str | None, last_numeric: int | None) -> None:
        """A connection went LIVE: if one was lost before, its outage is now pending."""
        if self._down_since is None:
            return
        resumed = self._resumed
        if resumed is not None and last_numeric is None:  # nothing delivered yet: its last id
            last_numeric = _numeric(resumed.event_id)
        environment = resumed.environment_id if resumed is not None else None
        known = resumed.known if resumed is not None else ()
        self._pending = _Pending(self._down_since, now, sent_id, last_numeric, environment, known)
        self._pending.timer = asyncio.get_running_loop().call_later(DECISION_DELAY, self._timeout)

    def lost(self, data_stopped_at: float) -> None:
        """The LIVE connection ended; its last byte (or its headers) came at `data_stopped_at`."""
        self._unproven = None  # no event came on its connection: it stays as reported
        if self._pending is not None:
            # Lost again before the outage was even reported: it is still the same outage.
            self._down_since = self._pending.started_at
            self.cancel()
            self._pending = None
        else:
            self._down_since = data_stopped_at

    @property
    def awaiting(self) -> bool:
        """Whether an outage waits for the next batch to decide it (rare: after a reconnect)."""
        return self._pending is not None or self._unproven is not None

    def build_deciding(
        self,
        build: Callable[[list[FastParsed], float], list[StreamItem]],
        parsed: list[FastParsed],
        now: float,
    ) -> list[StreamItem]:
        """`build(parsed, now)`'s items, headed by the outage they decide (when `awaiting`):
        the versions the batch is checked against are taken before `build` updates them."""
        has_event = any(not isinstance(p, Comment) for p in parsed)
        before = self._versions_before() if has_event else None
        out = build(parsed, now)
        if out:
            outage = self.decide(out, now, before)
            if outage is not None:
                out.insert(0, outage)
        return out

    def _versions_before(self) -> VersionTracker:
        """What the client knows of the flags' versions before a batch, for the batch to be
        checked against: a copy of the stream's tracker or, for a resumed run's outage (its
        tracker is still empty then), the journal's latest events."""
        unproven = self._unproven[0] if self._unproven is not None else None
        waiting = self._pending if self._pending is not None else unproven
        if waiting is None or not waiting.known:
            return self._versions.copy()
        seeded = VersionTracker()
        for event in waiting.known:
            seeded.observe(event)
        return seeded

    def decide(
        self, batch: list[StreamItem], now: float, before: VersionTracker | None = None
    ) -> StreamItem | None:
        """The pending outage, judged on the first items of the new connection; or, for an
        outage already reported without proof, an `OutageProven` when they prove it whole.
        `before`: the flags' versions before `batch` (None: unknown, the batch's events are
        checked only against each other); it is updated."""
        pending = self._pending
        if pending is None:
            return None if self._unproven is None else self._decide_again(batch, now, before)
        self.cancel()
        self._pending = self._resumed = None
        first = _first_event(batch, pending.ended_at, _numeric(pending.sent_id))
        replayed = first.replayed if first is not None else 0
        outage = Outage(
            started_at=pending.started_at,
            ended_at=pending.ended_at,
            replayed=replayed if pending.sent_id is not None else None,
            may_have_missed=first is None
            or not _proven(pending, first.event_id, first.env)
            or not _consistent(batch, before),
            received_at=now,
        )
        if first is None:  # heartbeats only: as a timeout, the first event may prove it whole
            self._await_proof(pending, outage)
        return outage

    def _decide_again(
        self, batch: list[StreamItem], now: float, before: VersionTracker | None
    ) -> OutageProven | None:
        """The reported outage decided again on the first event after it (none in `batch`:
        still waiting)."""
        assert self._unproven is not None
        pending, reported = self._unproven
        first = _first_event(batch, pending.ended_at)
        if first is None:
            return None  # heartbeats only: the first event is still to come
        self._unproven = None
        if not _proven(pending, first.event_id, first.env) or not _consistent(batch, before):
            return None
        return OutageProven(msgspec.structs.replace(reported, may_have_missed=False, proven_at=now))

    def _timeout(self) -> None:
        """Nothing arrived within DECISION_DELAY of LIVE: report the outage anyway."""
        pending, self._pending, self._resumed = self._pending, None, None
        if pending is None:
            return
        pending.timer = None
        outage = Outage(
            started_at=pending.started_at,
            ended_at=pending.ended_at,
            replayed=0 if pending.sent_id is not None else None,
            may_have_missed=True,
            received_at=self._clock(),
        )
        self._await_proof(pending, outage)
        self._emit([outage])

    def _await_proof(self, pending: _Pending, outage: Outage) -> None:
        """`outage` was reported before any event came: the first one may prove it whole."""
        if pending.sent_id is not None and pending.last_numeric is not None:
            self._unproven = (pending, outage)

    def cancel(self) -> None:
        if self._pending is not None and self._pending.timer is not None:
            self._pending.timer.cancel()
            self._pending.timer = None


class _First(NamedTuple):
    event_id: str | None
    env: str | None  # a malformed event has none
    replayed: int  # the batch's events the server stamped by the outage's end


def _first_event(
    batch: list[StreamItem], ended_at: float, after: int | None = None
) -> _First | None:
    """The batch's first event (None: it has none), and how many it replayed: stamped by
    `ended_at` and, with `after` (the numeric Last-Event-ID sent), numbered above it."""
    first: _First | None = None
    replayed = 0
    for item in batch:
        if isinstance(item, (FlagEvent, Malformed)):
            if first is None:
                env = item.environment_id if isinstance(item, FlagEvent) else None
                first = _First(item.event_id, env, 0)
            if isinstance(item, FlagEvent) and item.timestamp <= ended_at:
                number = _numeric(item.event_id)
                if after is None or number is None or number > after:
                    replayed += 1
    return first._replace(replayed=replayed) if first is not None else None


def _proven(pending: _Pending, first_id: str | None, first_environment: str | None) -> bool:
    """Nothing was missed: we sent `Last-Event-ID` and the first new event's id is L + 1."""
    first = _numeric(first_id)
    return (
        pending.sent_id is not None
        and pending.last_numeric is not None
        and first is not None
        and first == pending.last_numeric + 1
        # A resumed run's: of the stream it resumes (else another stream's ids).
        and pending.environment_id in (None, first_environment)
    )


def _consistent(batch: list[StreamItem], before: VersionTracker | None) -> bool:
    """Nothing in `batch` shows events missing or numbered afresh: no possible gap, no id that
    goes back (news under it, items_run.py), and, with `before` (the versions known before the
    batch, updated here), no event that is not its flag's next one (`contradicts`)."""
    highest: int | None = None
    for item in batch:
        if isinstance(item, PossibleGap):
            return False
        if not isinstance(item, FlagEvent):
            continue
        number = _numeric(item.event_id)
        if number is not None:
            if highest is not None and number <= highest:
                return False
            highest = number
        if before is not None:
            if before.contradicts(item):
                return False
            before.observe(item)
    return True
