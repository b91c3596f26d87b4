"""An outage of one recorder that another recorder of the shared journal watched through.

Several recorders of one profile write one PostgreSQL journal (docs/recorder.md). An outage is
each recorder's own observation: one that restarts (or loses its stream) journals the time it
did not watch, and without event ids nothing it receives can prove that time whole. Yet the
profile was watched all along if another recorder was, and that recorder journalled what came
meanwhile: the journal holds the whole account, and "may have missed events" would be a false
alarm. The profile's one "watched until" mark cannot say it: it is the newest of every
recorder's, this one's own among them once it watches again. So each recorder also keeps a mark
of its own, with when its unbroken watch began (core/watched.py, the journal's `watchers`).

An outage that may have missed changes, journalled by a recorder of a shared journal, is looked
at once another recorder watching through it would have marked past its end (its pace, the
heartbeat and the slack: core/watched.py `live_mark_due`). Another recorder whose watch began
no later than the outage started and whose mark reaches its end watched all of it: the outage
is proved whole, as the first event after it proves it on a stream with ids (an
`OutageProven`: the journal revises its row, the views and the values take back what they
marked as possibly missed). Nothing else proves it: a recorder whose watch began later (it
journals its own outage of the time before), or whose mark stopped short (it lost the stream
or died: the time after was watched by nobody), leaves the outage as it was.

Another recorder marks at its own pace and heartbeat, which it says beside its mark
(`moves_within`, core/watched.py): one whose profile has a longer heartbeat than this one's may
not have marked past the outage's end yet at the first look, though it watches on. So the
outage is looked at again once such a recorder would have (`next_look`), and only then left.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

import msgspec

from togul_monitor.core.watched import live_mark_due
from togul_monitor.domain.events import Outage, OutageProven
from togul_monitor.store.journal import Journal, JournalError
from togul_monitor.store.model import Watcher

log = logging.getLogger("togul_monitor.core.monitor")

#: Seconds between two looks at the clock while an outage waits for its look: the marks are
#: dated by the monitor's clock, and the loop's own stands still while the machine sleeps.
LOOK_STEP = 1.0


def next_look(
    outage: Outage, watchers: Sequence[Watcher], own: str, heartbeat: float, looked: float
) -> float | None:
    """When to look at `outage` again after a look at `looked` found no other recorder that
    watched through it: once the latest of those that began by its start, have not marked past
    its end yet and may still watch (by the pace and heartbeat each said it marks at) would
    have (None: none may still)."""
    later = [
        live_mark_due(outage.ended_at, heartbeat, w.moves_within)
        for w in watchers
        if w.recorder != own
        and w.began <= outage.started_at
        and w.at < outage.ended_at
        and live_mark_due(w.at, heartbeat, w.moves_within) >= outage.ended_at
    ]
    due = max(later, default=looked)
    return due if due > looked else None


def watched_through(outage: Outage, watchers: Sequence[Watcher], own: str) -> bool:
    """Whether a recorder other than `own` watched without a break from no later than the
    outage's start to no earlier than its end."""
    return any(
        w.recorder != own and w.began <= outage.started_at and w.at >= outage.ended_at
        for w in watchers
    )


class CoveredOutages:
    """Looks at each outage `journal()` took that may have missed changes, when it is a shared
    journal, and proves it (`prove`) when another recorder watched through it. On the
    monitor's loop."""

    def __init__(
        self,
        journal: Callable[[], Journal | None],
        clock: Callable[[], float],
        recorder: str,
        prove: Callable[[OutageProven], None],
        reported: Sequence[Outage],
        heartbeat: float,
    ) -> None:
        self._journal = journal
        self._clock = clock
        self._recorder = recorder  # this run's name among the recorders (core/watched.py)
        self._prove = prove
        self._reported = reported  # the outages as the monitor keeps them now
        self.heartbeat = heartbeat
        self._looks: set[asyncio.Task[None]] = set()

    def journalled(self, outage: Outage) -> None:
        journal = self._journal()
        if not outage.may_have_missed or journal is None or not journal.many_recorders:
            return
        task = asyncio.get_running_loop().create_task(self._look(journal, outage))
        self._looks.add(task)
        task.add_done_callback(self._looks.discard)

    async def _look(self, journal: Journal, outage: Outage) -> None:
        due: float | None = live_mark_due(outage.ended_at, self.heartbeat)
        while due is not None:
            while (left := due - self._clock()) > 0:
                await asyncio.sleep(min(left, LOOK_STEP))
            try:
                watchers = await asyncio.to_thread(journal.watchers)
            except JournalError as exc:
                log.info("whether another recorder watched through an outage: %s", exc)
                return  # it cannot tell: the outage stays as it was
            if outage not in self._reported or journal is not self._journal():
                return  # proved meanwhile by the stream, or no longer this monitor's to revise
            if watched_through(outage, watchers, self._recorder):
                now = self._clock()
                proven = msgspec.structs.replace(outage, may_have_missed=False, proven_at=now)
                self._prove(OutageProven(proven))
                return
            due = next_look(outage, watchers, self._recorder, self.heartbeat, due)

    async def aclose(self) -> None:
        looks = list(self._looks)
        for task in looks:
            task.cancel()
        if looks:
            await asyncio.wait(looks)
