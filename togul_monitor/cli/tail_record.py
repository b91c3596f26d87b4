"""A recording `tail` prints nothing its journal does not hold yet.

The journal's writer commits in batches on its own thread (store/writer.py), so an event reaches
`tail`'s stdout some tens of milliseconds before its row is committed. A flight recorder killed
in that window (kill -9, a power cut of the container) would have shown events that its journal
never got: exactly the ones the person reading the output may want to look up later. So, in
record mode, each update is held until everything that had been appended to the journal when it
arrived is committed. The monitor appends to the journal before it publishes (core/intake.py,
core/evaluation.py), so that covers the update's own rows.

The journal is the one the monitor records into when the update arrives, asked anew at every
batch: a tail that started as a reader (another process recorded the profile) takes the
recording over once that process has gone (core/takeover.py), and from then on what it prints
waits for the commits of the journal it now records. Until then there is nothing of its own to
wait for (a journal it only reads commits nothing).

Order is kept for everything `tail` prints or acts on (events, values: a flag's first one, and
the answers that tell whether an event was evaluated on its own (cli/tail_marks.py),
transitions, configuration diffs (journalled before they are published, core/configs.py), the
stream's and the evaluator's status, outages, unusable events, what the monitor dropped for a
tail that fell behind, said where it was lost, the recording taken over): those wait their turn.
Heartbeats, which it ignores, pass at once: holding them would print nothing more safely. What
this costs is latency (up to one writer batch, about 50 ms), not throughput: one commit releases
every update it covers.
What the journal could not write (a full queue, a failed write: counted in `dropped`) is printed
all the same, and a failed write is said on stderr: the output never waits on a journal that
cannot catch up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from types import TracebackType
from typing import TYPE_CHECKING

from togul_monitor.core.drained import DrainedUpdates
from togul_monitor.domain.events import Heartbeat

if TYPE_CHECKING:  # the journal's modules: imported by the monitor that records
    from togul_monitor.store.journal import Journal, Mark

    #: What an update waits for: a journal and its mark (None: no journal, nothing to wait for).
    Pending = tuple[Journal, Mark] | None

#: What `tail` ignores (cli/tail_loop.py `print_updates`) and may pass at once: heartbeats (which
#: the drain does not even carry). Everything else waits its turn: what tail prints must keep its
#: order, and holding an update it ignores costs nothing, so a kind of update added later, or
#: printed later, keeps its order without anyone having to remember a list of what is held.
PASSING = (Heartbeat,)

#: Updates past which `CommittedFirst` stops taking more (it checks after each batch): it
#: only has to cover what a journal commit holds back; the monitor's drain buffer is the
#: bounded store that drops and counts.
MAX_KEPT = 5_000


class CommittedFirst:
    """`updates`, each released once the journal the monitor records into when it arrives
    (`journal()`, asked at every batch) has committed what it recorded before it.

    An async iterator whose `__anext__` may be cancelled (by `asyncio.wait_for`) without losing
    anything; use it as an async context manager, which runs the task that reads `updates`."""

    def __init__(
        self,
        updates: AsyncIterator[object],
        journal: Callable[[], Journal | None],
        *,
        on_write_error: Callable[[str], None] = lambda error: None,
    ) -> None:
        self._updates = updates
        self._journal = journal
        self._listened: list[Journal] = []  # every journal it waited for: their commits wake it
        self._on_write_error = on_write_error
        self._held: deque[tuple[Pending, object]] = deque()
        self._passing: deque[object] = deque()  # the updates that need not wait
        self._arrived = asyncio.Event()
        self._taken = asyncio.Event()  # the reader took updates: room again
        self._committed = asyncio.Event()
        self._ended = False
        self._failure: BaseException | None = None
        self._reported_error: str | None = None
        self._reader: asyncio.Task[None] | None = None
        self._loop = asyncio.get_running_loop()

    async def __aenter__(self) -> CommittedFirst:
        self._current()
        self._reader = asyncio.create_task(self._read(), name="tail-committed-first")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for journal in self._listened:
            journal.remove_listener(self._on_commit)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    def journal(self) -> Journal | None:
        """The journal the monitor records into now (None: none)."""
        return self._journal()

    def _current(self) -> Journal | None:
        """The journal the monitor records into now, listened to from the first time it is."""
        journal = self._journal()
        if journal is not None and journal not in self._listened:
            journal.add_listener(self._on_commit)
            self._listened.append(journal)
        return journal

    def _on_commit(self) -> None:
        # On the writer thread: hand the news to the loop, nothing more.
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
            self._loop.call_soon_threadsafe(self._committed.set)

    async def _batches(self) -> AsyncIterator[Sequence[object]]:
        updates = self._updates
        if isinstance(updates, DrainedUpdates):
            while True:  # the drain never ends: the tail stops on the stream's STOPPED status
                yield await updates.batch()
        async for update in updates:
            yield (update,)

    async def _read(self) -> None:
        try:
            async for batch in self._batches():
                # Taken on the monitor's loop when the updates are handed over (at the commit
                # after they were published, core/drained.py): it covers every row the monitor
                # appended for them (and maybe a few more: they wait a little longer, never
                # less). Of the journal it records into now: one taken over since they were
                # published was given what it lacked first (core/takeover.py `hand_over`).
                journal = self._current()
                pending: Pending = None if journal is None else (journal, journal.appended)
                for update in batch:
                    if isinstance(update, PASSING):
                        self._passing.append(update)
                    else:
                        self._held.append((pending, update))
                self._arrived.set()
                # Bounded as the drain buffer is: a tail held back by its reader (cli/
                # tail_writer.py) leaves the updates there, which drops and counts them.
                while len(self._held) + len(self._passing) >= MAX_KEPT:
                    self._taken.clear()
                    await self._taken.wait()
        except Exception as exc:  # noqa: BLE001 - handed to the reader of this iterator
            self._failure = exc
        finally:
            self._ended = True
            self._arrived.set()

    def __aiter__(self) -> CommittedFirst:
        return self

    async def __anext__(self) -> object:
        while True:
            if self._passing:
                self._taken.set()
                return self._passing.popleft()
            if self._held:
                pending, update = self._held[0]
                if self._released(pending):
                    self._held.popleft()
                    self._taken.set()
                    return update
                self._committed.clear()
                self._arrived.clear()
                if not self._released(pending):  # a commit may have landed since the check
                    # A commit, or an update that need not wait, whichever comes first.
                    await _first(self._committed.wait(), self._arrived.wait())
                continue
            if self._ended:
                if self._failure is not None:
                    raise self._failure
                raise StopAsyncIteration
            self._arrived.clear()
            await self._arrived.wait()

    def waiting(self) -> list[object]:
        """What waits to be released, and what the monitor has not handed over yet."""
        waiting = [update for _, update in self._held]
        waiting.extend(self._passing)
        if isinstance(self._updates, DrainedUpdates):
            waiting.extend(self._updates.waiting())
        return waiting

    async def batch(self, timeout: float | None = None) -> list[object]:
        """The next update (asyncio.TimeoutError when none is released within `timeout`
        seconds) and every one after it that is free to go now, in the order `__anext__` would
        hand them over (cli/tail_loop.py reads them so: a burst costs per commit, not per
        update)."""
        if timeout is None:
            first = await self.__anext__()
        else:
            first = await asyncio.wait_for(self.__anext__(), timeout)
        taken = [first]
        passing, held = self._passing, self._held
        while True:
            if passing:
                taken.extend(passing)
                passing.clear()
            elif held and self._released(held[0][0]):
                taken.append(held.popleft()[1])
            else:
                self._taken.set()
                return taken

    def _released(self, pending: Pending) -> bool:
        if pending is None:
            return True
        journal, mark = pending
        if not journal.written(mark):
            return False
        error = journal.write_error
        if error is not None and error != self._reported_error:
            self._reported_error = error
            self._on_write_error(error)
        return True


def answered_and_committed(
    answered: Callable[[], bool], journal: Callable[[], Journal | None]
) -> Callable[[], bool]:
    """What a recording `tail --count` waits for (cli/tail_loop.py, `settle_mark`): the mark
    made at the count answered (`answered`: re-evaluations, configuration fetches), then
    everything the journal the monitor records into then (`journal()`) had appended by that
    moment committed. The transitions and diffs those answers made were appended before it, so
    they are free to print as soon as the drain hands them over (within the settle's linger).
    Not "nothing held": on a busy stream something always is."""
    asked = False
    pending: Pending = None

    def settled() -> bool:
        nonlocal asked, pending
        if not asked:
            if not answered():
                return False
            asked, current = True, journal()
            pending = None if current is None else (current, current.appended)
        return pending is None or pending[0].written(pending[1])

    return settled


async def _first(*waits: Coroutine[object, object, object]) -> None:
    """Wait until one of `waits` is done; the others are cancelled (cancelling this cancels
    them all)."""
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
