"""Flag configurations and their diffs: what each event changed in a flag's rules and switches.

With a Bearer token the management API gives each flag with its rules (docs/management-api.md).
At start every flag of the profile's environment is fetched (at most `concurrency` at once;
progress in the snapshot). Then each event of the environment re-fetches its flag (coalesced by
core/config_fetch.py) and the answer is compared with the last snapshot (domain/flag_config.py):
a `ConfigChanged` update, journalled, tied to the event it explains.

Tying an answer to its event: the answer reflects the flag at some moment after the event that
asked for it. When the server says the flag's version (the emulator does), the answer belongs to
the event of that version; otherwise to the last event of the burst the fetch answered, as the
values do (core/evaluation.py). An answer superseded by newer events, and not tied to one of them
by its version, is dropped: the next fetch diffs from the same snapshot, so nothing is lost.
An answer ahead of the stream (its version's event not come yet) waits for that event
(core/config_ahead.py), so the final change of a burst is on the row of the event that made it.

- `flag.deleted`: the snapshot goes (a diff saying so); no fetch.
- A flag whose id is unknown (`flag.created`, a key never listed) or that answers 404 without a
  deletion: the environment's flags are listed again (one listing at a time) to learn its id.
- After an outage everything is listed and fetched again, so the snapshots converge whatever the
  server replayed; a change found that way has no event (`ConfigChanged.event` None).
- A flag's first read is compared with what the journal remembers of it (core/config_memory.py):
  a change made while nobody watched is a diff, not a first snapshot.
- Without a token (or an unknown environment id) nothing is fetched, and `state` says why.

Everything here runs on the monitor's loop and owns its state; the monitor publishes copies.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping

from togul_monitor.client.management import FlagReader, ManagementError
from togul_monitor.config.entry import DEFAULT_MAX_FLAGS
from togul_monitor.core.config_ahead import AheadAnswers, Held
from togul_monitor.core.config_fetch import Fetched, FetchQueue, Trigger
from togul_monitor.core.config_ids import IdLookup, Waiting, answered_mark
from togul_monitor.core.config_memory import RememberedConfigs, keep
from togul_monitor.core.config_reads import ConfigReads
from togul_monitor.core.config_refusal import Refusal
from togul_monitor.core.updates import ConfigChanged, MonitorUpdate
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_config import Change, FlagConfig, diff_configs, diff_explaining
from togul_monitor.domain.unseen import UnseenMarks
from togul_monitor.store.journal import Journal

log = logging.getLogger("togul_monitor.core.monitor")

NEEDS_TOKEN = "needs a token profile"
# Module attributes, read when used: tests shorten them.
MIN_INTERVAL = 0.5  # seconds between two event-driven fetches of one flag
RETRY_DELAY = 5.0  # a failed fetch is tried again after this
REFETCH_EVERY = 10.0  # seconds between two re-fetches of everything (outages, unusable events)
_PENDING_PER_FLAG = 64  # events remembered per flag until an answer covers them


class FlagConfigs:
    def __init__(self, publish: Callable[[MonitorUpdate], None], clock: Callable[[], float]):
        self._publish = publish
        self._clock = clock
        self.reads = ConfigReads()  # the snapshots, when each was read, their copies
        self.configs = self.reads.configs  # key → the last snapshot (changed by `reads` only)
        self.ids: dict[str, str] = {}  # key → flag id, in the profile's environment
        self.state = NEEDS_TOKEN
        self.max_flags = DEFAULT_MAX_FLAGS
        self.journal: Journal | None = None
        self._reader: FlagReader | None = None
        self._queue: FetchQueue | None = None
        self._environment_id = ""
        self._loading: set[str] = set()  # asked for at start, not answered yet
        self._complete = False  # the first load is done: a flag found later was created
        self._pending: dict[str, deque[FlagEvent]] = {}  # events not yet covered by an answer
        self._held = AheadAnswers(self._apply_held)  # answers waiting for their event
        self.unseen = UnseenMarks()  # snapshots from before the stream may have missed some
        self.remembered = RememberedConfigs()  # the journal's, from an earlier run (`seed`)
        self.blind = False  # the stream is down or not proved whole: every diff may hold some
        # Flags waiting for their id (core/config_ids.py).
        self._ids = IdLookup(self._list_flags, self._listed, self._list_failed, lambda: RETRY_DELAY)
        self._retry: dict[str, asyncio.TimerHandle] = {}
        self.refusal = Refusal(publish, clock)  # a refused token: fetches halt, and why
        self._closed = False
        self._refetched_at: float | None = None  # loop time of the last re-fetch of everything
        self._refetch_timer: asyncio.TimerHandle | None = None

    # --- lifecycle --------------------------------------------------------------------------

    def configure(
        self,
        reader: FlagReader,
        environment_id: str,
        flag_ids: dict[str, str],
        *,
        concurrency: int = 8,
        settle: float = 0.01,
        max_flags: int = DEFAULT_MAX_FLAGS,
        hint: Callable[[], str] = lambda: "",  # how to fix a refused token
    ) -> None:
        self._reader, self.refusal.hint = reader, hint
        self._environment_id = environment_id
        # Flag keys come from the server: at most `max_flags` flags are fetched and followed,
        # like the values (core/evaluation.py); their events still show.
        self.max_flags = max_flags
        self.ids = dict(itertools.islice(flag_ids.items(), max_flags))
        self._queue = FetchQueue(
            self._fetch,
            self._on_answer,
            concurrency=concurrency,
            settle=settle,
            min_interval=MIN_INTERVAL,
        )
        self.state = "loading"

    def start(self) -> None:  # fetch every listed flag (on the running loop)
        if self._queue is None:
            return
        self._loading = set(self.ids)
        for key in self.ids:
            self._queue.request(key, None)
        self._check_complete()

    async def aclose(self) -> None:
        self._closed = True
        if self._refetch_timer is not None:
            self._refetch_timer.cancel()
        for timer in self._retry.values():
            timer.cancel()
        self._held.clear()
        await self._ids.aclose()
        for closer in (self._queue, self._reader):
            if closer is not None:
                try:
                    await closer.aclose()
                except Exception:
                    log.warning("closing %s failed", type(closer).__name__, exc_info=True)

    @property
    def loaded(self) -> int:
        return len(self.configs)

    @property
    def total(self) -> int:  # every snapshot's flag has its id in `ids` (`_apply`)
        return len(self.ids)

    def copy(self) -> Mapping[str, FlagConfig]:
        """A read-only copy for other threads, made again only after a change."""
        return self.reads.copies()[0]

    @property
    def requests(self) -> int:
        return self._reader.requests if self._reader is not None else 0

    def idle(self) -> bool:
        """No fetch an event asked for waits or runs (the first load may go on)."""
        queue = self._queue
        if queue is None or self.refusal.halted:
            return True
        return not self._ids.learning() and not queue.events_waiting() and not self._held

    def answered_mark(self) -> Callable[[], bool]:
        """The fetches events asked for so far answered (core/coalesce.py `mark`, hurried, for
        `tail --count`), those of flags whose id is being learned (just created) once listed."""
        if self._queue is None or self.refusal.halted:
            return lambda: True
        self._held.hurry()  # what a read ahead of the stream waits for will not be read now
        return answered_mark(self._queue, self._ids)

    # --- what the stream asks for ----------------------------------------------------------

    def on_events(self, events: list[FlagEvent]) -> None:
        """Events of the profile's environment, in order."""
        if self._queue is None or self.refusal.halted:
            return
        latest: dict[str, FlagEvent] = {}
        for event in events:
            key = event.flag_key
            if event.type == "flag.deleted":
                latest.pop(key, None)
                self._deleted(key, event)
                continue
            pending = self._pending.get(key)
            if pending is None:
                if key not in self.ids and not self._room():
                    continue
                pending = self._pending[key] = deque(maxlen=_PENDING_PER_FLAG)
            pending.append(event)
            latest[key] = event
        for key, event in latest.items():
            held = self._held.arrived(key, event)
            if held is not None:  # the event of a read ahead of the stream came
                self._apply_held(key, held)
            if event.type == "flag.created" or key not in self.ids:
                self._ids.request(key, event, None)  # a new flag, or one that came back: a new id
            else:
                self._queue.request(key, event)

    def refetch_all(self) -> None:
        """After an outage (or an unusable event): list the flags again and fetch every one, so
        the snapshots converge; at most once per REFETCH_EVERY seconds (the last call within
        them is followed by one at their end), since it costs a request per flag."""
        if self._queue is None or self._refetch_timer is not None:
            return
        loop, last = asyncio.get_running_loop(), self._refetched_at
        if last is not None and loop.time() - last < REFETCH_EVERY:
            self._refetch_timer = loop.call_at(last + REFETCH_EVERY, self._refetch_due)
            return
        self._refetch_now()

    def mark_unseen(self, keys: Iterable[str] | None = None) -> None:
        """The stream may have missed changes (of `keys`; None: of every flag): the next diff
        of each flag with a snapshot to diff from may hold some."""
        self.unseen.mark(self.configs, keys)

    def _refetch_due(self) -> None:
        self._refetch_timer = None
        if not self._closed:
            self._refetch_now()

    def _refetch_now(self) -> None:
        self._refetched_at = asyncio.get_running_loop().time()
        self.refusal.halted = False  # the token may have been fixed meanwhile: try again, once
        self._ids.discover_all()
        for key in set(self.ids) | set(self.configs):
            self._ids.request(key, None, None)

    # --- answers ---------------------------------------------------------------------------

    async def _fetch(self, key: str) -> Fetched:
        reader, flag_id, asked_at = self._reader, self.ids.get(key), self._clock()
        if reader is None or flag_id is None:
            return Fetched(None, asked=False)
        try:
            return Fetched(await reader.fetch_flag(flag_id), asked_at=asked_at)
        except ManagementError as exc:
            return Fetched(None, error=str(exc), status=exc.status)

    def _on_answer(self, key: str, trigger: Trigger, answer: Fetched, superseded: bool) -> None:
        if self._closed:
            return
        if answer.error is None and answer.asked:  # the server took the token
            self._served()
        if answer.error is not None:
            self._failed(key, trigger, answer)
        elif answer.config is None:
            # 404 without a deletion event: the flag may have a new id (deleted and created
            # again), or be gone; a listing tells.
            self._ids.request(key, trigger, self.ids.get(key))
        elif answer.config.flag_key != key or answer.config.environment_id != self._environment_id:
            self._loading.discard(key)  # not this flag (an id reused?): not a snapshot of it
        else:
            keep, event = self._tie(key, trigger, answer, superseded)
            if keep:
                self._apply(key, answer.config, event, answer.asked_at)
        self._check_complete()

    def _tie(
        self, key: str, trigger: Trigger, answer: Fetched, superseded: bool, hold: bool = True
    ) -> tuple[bool, FlagEvent | None]:
        pending = self._pending.get(key)
        keep, event = self._held.tie(key, pending, trigger, answer, superseded, hold, MIN_INTERVAL)
        if pending is not None and not pending:
            del self._pending[key]
        return keep, event

    def _apply_held(self, key: str, held: Held) -> None:  # its event came, or the wait is over
        if not self._closed and not self.refusal.halted:
            newest = self._pending[key][-1] if self._pending.get(key) else held.trigger
            _, event = self._tie(key, newest, Fetched(held.config), False, hold=False)
            self._apply(key, held.config, event, held.asked_at)
            self._check_complete()

    def _apply(self, key: str, config: FlagConfig, event: FlagEvent | None, at: float) -> None:
        before = self.reads.read(key, config, at) or self.remembered.take(key, config)
        self.ids[key] = config.flag_id
        loading = key in self._loading
        self._loading.discard(key)
        first_seen = False
        if before is None:
            keep(self.journal, config.environment_id, key, config, self._clock())
            if event is None and (loading or not self._complete):
                return  # the first load: nothing to compare with, no event to explain
            # Without an event, a flag the complete first load did not list was created since.
            first_seen = event is not None and event.type != "flag.created"
        changes = () if first_seen else diff_configs(before, config)
        if changes and before is not None:
            keep(self.journal, config.environment_id, key, config, self._clock())
        if changes or first_seen:
            self._emit(config, changes, event, first_seen=first_seen, fetched=config.version)
        self.unseen.discard(key)  # the snapshot is current: what follows is seen

    def _deleted(self, key: str, event: FlagEvent | None) -> None:
        assert self._queue is not None
        self._queue.cancel(key)
        self._ids.forget(key)
        self._pending.pop(key, None)
        self._held.take(key)
        self._loading.discard(key)
        self.ids.pop(key, None)
        self.remembered.forget(key)
        keep(self.journal, self._environment_id, key, None, self._clock())
        before = self.reads.forget(key)
        if before is not None:
            self._emit(before, diff_configs(before, None), event)
        self.unseen.discard(key)

    def _emit(
        self,
        flag: FlagConfig,
        changes: tuple[Change, ...],
        event: FlagEvent | None,
        *,
        first_seen: bool = False,
        fetched: int | None = None,
    ) -> None:
        """`changes` of `flag` (its snapshot after them; before, for a deletion)."""
        unseen = event is not None and (self.blind or flag.flag_key in self.unseen)
        diff = diff_explaining(event, flag, changes, first_seen, unseen, fetched)
        at = self._clock()
        if self.journal is not None:
            self.journal.append_config_diff(diff, at)  # before it is published: tail_record
        self._publish(ConfigChanged(diff, event, at))

    def _failed(self, key: str, trigger: Trigger, answer: Fetched) -> None:
        if answer.status in (401, 403):
            self._halt(str(answer.error))
            return
        log.info("fetching %s failed: %s", key, answer.error)
        if key in self._retry or RETRY_DELAY <= 0:
            return

        def again() -> None:
            # Without its trigger: newer events of the flag may have been asked for meanwhile,
            # and an answer must never be tied to an older event than theirs.
            self._retry.pop(key, None)
            if not self._closed and not self.refusal.halted and self._queue is not None:
                self._queue.request(key, None)

        self._retry[key] = asyncio.get_running_loop().call_later(RETRY_DELAY, again)

    def _halt(self, error: str) -> None:
        """The token is refused: asking again would only be refused, so what waits is dropped
        (no request storm); a re-fetch of everything (after an outage) tries once more."""
        self.refusal.halt(error)  # said once, until the server answers again
        self.state = f"failed: {error}"
        if self._queue is not None:
            self._queue.clear()
        for timer in self._retry.values():
            timer.cancel()
        self._retry.clear()
        self._ids.waiting.clear()
        self._held.clear()

    # --- learning ids (core/config_ids.py) ---------------------------------------------------

    async def _list_flags(self) -> dict[str, str]:
        assert self._reader is not None
        return await self._reader.list_flags(self._environment_id)

    def _list_failed(self, exc: ManagementError) -> bool:
        log.info("listing the flags failed: %s", exc)
        if exc.status in (401, 403):
            self._halt(str(exc))
            return False
        return True

    def _listed(self, listed: dict[str, str], answered: Waiting, discover: bool) -> None:
        self._served()
        if discover:  # a re-fetch of everything: flags created meanwhile too
            for key in listed.keys() - self.ids.keys() - answered.keys():
                if len(self.ids) + len(answered) >= self.max_flags:
                    break
                answered[key] = (None, None)
        for key, (trigger, failed_id) in answered.items():
            flag_id = listed.get(key)
            if flag_id is None or flag_id == failed_id:
                # Gone: its flag.deleted event (if the stream brings it) finds no snapshot, so
                # the diff is the listing's, tied to no event.
                self._deleted(key, None)
                continue
            self.ids[key] = flag_id
            assert self._queue is not None
            self._queue.request(key, trigger)
        self._check_complete()

    def _served(self) -> None:  # the server took the token: after a refusal, diffs resume
        if self.refusal.served():
            self.state = "complete" if self._complete else "loading"

    def _room(self) -> bool:
        return len(self.ids) + len(self._ids) < self.max_flags

    def _check_complete(self) -> None:
        if self.refusal.halted or self._complete or self._queue is None:
            return
        if not self._loading:
            self._complete = True
            self.state = "complete"
