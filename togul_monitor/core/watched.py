"""The journal's "watched until" mark: until when this recorder watched its live stream.

The next run of the profile dates the outage between the runs from it (core/recording.py), not
from the journal's last event alone: a run that stayed live an hour after its last event watched
that hour, and a run that saw no event at all watched too (docs/journal.md, "Watched until").

Watched means LIVE with no outage left untold: once a stream is lost, the time until its outage
is decided (the first connection of a resumed run included) is an outage the journal does not
hold yet, and a mark inside it would hide it from the next run should this one stop first.
While watched, the mark is written every `pace` seconds (when it moved), and once more when that
ends: the stream lost, or no longer read (a stop). It is always the stream's last sign of life
(`alive`: going LIVE, its last heartbeat, its last row), never merely "now": a stream that died
silently is taken for LIVE until its read timeout, and its outage starts at that last sign
(client/stream.py). A timer writes it, never an event: nothing on the per-event path.

A recorder killed while watched leaves a mark at most `pace` seconds old: the next run's outage
then begins up to that long before this run really stopped watching (it claims a little more
than it should, never less).

A reader judges whether the recorder still watches by the mark's age, and a live recorder's
mark may be as old as its pace and its stream's heartbeat: the recorder's, which its profile
sets, not the reader's. So each mark says it (`moves_within`, beside the mark in the journal),
and a reader judges it by that (`promised_within`); a mark that does not say it (an older
program's) is judged by the reader's own heartbeat, as before.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable

from togul_monitor.config.entry import DEFAULT_HEARTBEAT_SECONDS
from togul_monitor.domain.events import Outage
from togul_monitor.store.journal import Journal
from togul_monitor.store.model import WatchedUntil, Watcher

#: Seconds between two writes of the mark while the stream is watched.
WATCHED_PACE = 15.0

#: Seconds a reader allows a live recorder's mark beyond its pace and the stream's heartbeat:
#: its writer's commit, and two machines' clocks a little apart.
LIVE_MARK_SLACK = 5.0


def live_mark_due(mark: float, heartbeat: float, promised: float | None = None) -> float:
    """When a live recorder will have moved its mark `mark` at the latest. It writes its
    stream's last sign of life every WATCHED_PACE seconds (when it moved), and on a quiet stream
    that sign is its last heartbeat, `heartbeat` seconds apart: a mark older than both (and the
    slack) is one no live recorder leaves, so it stopped watching there (killed, its stream
    lost). `promised`: the pace and heartbeat the recorder said it marks at (its profile's
    heartbeat, not the reader's), which then count instead (None: not said)."""
    return mark + _within(promised, heartbeat) + LIVE_MARK_SLACK


def _within(promised: float | None, heartbeat: float) -> float:
    """The seconds a recorder moves its mark within: as it `promised`, else the pace and the
    reader's `heartbeat` (a mark that did not say it)."""
    return WATCHED_PACE + heartbeat if promised is None else promised


def recorder_live(
    mark: float | None, now: float, heartbeat: float, promised: float | None = None
) -> bool:
    """Whether a journal's mark, read at `now`, shows a recorder that watches the stream still
    (`live_mark_due`). A reader that opens the journal within that time of the recorder's
    death takes it as live at first: it cannot tell the two apart yet, so it looks at the mark
    again once it is due (core/monitor_journal.py)."""
    return mark is not None and now <= live_mark_due(mark, heartbeat, promised)


def promised_within(mark: WatchedUntil, watchers: Iterable[Watcher], heartbeat: float) -> float:
    """Within how many seconds of the journal's `mark` a recorder that watches moves it on: as
    its writer promised (`heartbeat`, the reader's, with the pace, where it said nothing: an
    older program's mark). A shared journal's mark is the newest of its recorders' (`watchers`,
    each with its promise): one whose own mark, older, may still be a live one's (within its
    promise of `mark`) moves the profile's past `mark` only once its stream's sign of life
    does, so the longest such promise counts. The writer of a mark that stays still has
    stopped watching, but another may watch on: it is not taken as stopped before they all
    could have moved it (a `not watched` window told late, never one told falsely)."""
    longest = _within(mark.moves_within, heartbeat)
    for w in watchers:
        if w.at <= mark.at <= live_mark_due(w.at, heartbeat, w.moves_within):
            longest = max(longest, _within(w.moves_within, heartbeat))
    return longest


def unwatched_since(mark: float, start: float, outages: Iterable[Outage]) -> float | None:
    """When nobody watched from, up to `start` (a reader's), though the journal's mark moved
    past `mark` since: a recorder that did not watch journals the time as an outage, a lost
    stream's from when it was lost, a resumed run's between the runs from the mark it found
    (core/recording.py `_resume_point`). The mark alone cannot tell: another recorder that
    starts later moves it past `start` as well. So an outage that reaches `start` from before
    it (`outages`: the journal's that ended at or after `start`) says the stream was not
    watched from its start (from `mark`, when earlier) up to `start`; None: none did, the mark
    moved because the stream was watched. Several recorders of a shared journal: one's outage
    may be time another watched, and the window is claimed anyway, as that recorder's journal
    claims it (more than was missed, never less)."""
    starts = [o.started_at for o in outages if o.started_at < start <= o.ended_at]
    return max(mark, min(starts)) if starts else None


class WatchedMark:
    """Keeps the mark of `journal()` (read at each write: a takeover changes it) from `alive()`,
    the stream's last sign of life. On the monitor's loop."""

    def __init__(
        self,
        journal: Callable[[], Journal | None],
        alive: Callable[[], float],
        pace: float = WATCHED_PACE,
        heartbeat: float = DEFAULT_HEARTBEAT_SECONDS,
    ) -> None:
        self._journal = journal
        self._alive = alive
        self._pace = pace
        # Said beside each mark: its readers judge its age by this recorder's heartbeat.
        self.moves_within = pace + heartbeat
        self._timer: asyncio.TimerHandle | None = None
        self._written: float | None = None  # the last mark written into the journal
        self.began: float | None = None  # when this run first watched (None: not yet)
        # This run among a shared journal's recorders, and when its watch that goes on began
        # (each mark says both: core/covered.py reads whether another watched through).
        self.recorder = uuid.uuid4().hex
        self.since: float | None = None

    @property
    def watching(self) -> bool:
        return self._timer is not None

    def begin(self) -> None:
        """The stream is live and no outage of it is untold: marked now, then at the pace."""
        if self._timer is None:
            self.since = self._alive()
            if self.began is None:
                self.began = self.since
            self.write()
            self._schedule()

    def end(self) -> None:
        """No longer watched (the stream lost, or no longer read): marked one last time."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self.write()

    def journal_changed(self) -> None:
        """Another journal records from now on (a takeover): marked in it now, if watched."""
        self._written = None
        if self._timer is not None:
            self.write()

    def write(self) -> None:
        journal, at = self._journal(), self._alive()
        if journal is not None and (self._written is None or at > self._written):
            since = at if self.since is None else min(self.since, at)
            journal.set_watched_until(at, Watcher(self.recorder, since, at, self.moves_within))
            self._written = at

    def _schedule(self) -> None:
        self._timer = asyncio.get_running_loop().call_later(self._pace, self._tick)

    def _tick(self) -> None:
        self.write()
        self._schedule()
