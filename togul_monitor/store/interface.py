"""The journal's one interface, whatever the database: what core/, cli/ and ui/ call.

Two backends implement it (docs/journal.md):
- `store/sqlite/`: one SQLite file per profile, one recorder at a time (a file lock);
- `store/postgres/`: one PostgreSQL database shared by recorders on any machine, rows scoped by
  profile, each event journalled once however many recorders saw it.

`JournalReader` is the reading half (what `history`, `export` and the TUI's backfill need, with
no writer: a reader never creates nor changes a journal); `Journal` adds the writer thread
(`store/writer.py`, shared by both), whose appends never block on the database. A monitor that
only reads a shared journal drives a `Journal` whose appends do nothing (`store/reading.py`).

`Journal.open(target)` on this class picks the backend by the target (a path: SQLite; a
`postgresql://` URL: PostgreSQL); `store/journal.py` imports both backends, so the class
imported from there can open either. Its subclasses open their own kind only.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.flag_config import ConfigDiff, FlagConfig
from togul_monitor.domain.history import HistoryEntry
from togul_monitor.domain.merged import MergedAnswer
from togul_monitor.domain.values import DEFAULT_CONTEXT, Evaluation, ValueTransition
from togul_monitor.store.model import (
    JournalError,
    LastConfig,
    LastValue,
    Retention,
    StoredDiff,
    WatchedUntil,
    Watcher,
)
from togul_monitor.store.writer import (
    AppendAnswer,
    AppendConfigDiff,
    AppendOutage,
    AppendTransition,
    Mark,
    ReviseOutage,
    SetEnvironmentNames,
    SetLastConfig,
    SetLastValue,
    SetWatchedUntil,
    Writer,
)

DEFAULT_MAX_EVENTS = 1_000_000
DEFAULT_MAX_AGE_DAYS = 90.0
DEFAULT_MAX_QUEUE = 200_000
CLOSE_TIMEOUT = 10.0  # how long close() waits for the writer to commit what is queued

#: At most this many transitions of one event id are read: one per context is what a monitor
#: records (config/entry.py MAX_CONTEXTS), and a replayed event may have caused a few more.
MAX_TRANSITIONS_PER_EVENT = 100


class JournalReader(ABC):
    """Reads of one profile's journal; any thread may call them (each read takes its own
    connection). Every database error is a `JournalError`."""

    #: Whether several recorders may write it at once (PostgreSQL's), each its own outages.
    many_recorders = False

    #: Where the journal is, fit to show: a path, or a URL with its password masked.
    location: str

    @abstractmethod
    def recent_events(self, limit: int) -> list[FlagEvent]:
        """The newest `limit` events, oldest first (the TUI's backfill)."""

    @abstractmethod
    def last_values(self) -> dict[str, dict[str, LastValue]]:
        """Context name → flag key → the last value recorded for it."""

    @abstractmethod
    def history(
        self, flag_key: str, limit: int = 500, environment_id: str | None = None
    ) -> list[HistoryEntry]:
        """Events, value transitions and outages around them for one flag, newest first; each
        change tied to its event among those of `environment_id` (the profile's, when known:
        domain/change_owners.py)."""

    @abstractmethod
    def transitions_for(
        self,
        event_id: str,
        flag_key: str,
        since: float | None = None,
        until: float | None = None,
    ) -> list[ValueTransition]:
        """The value changes the event (its id and flag: a restarted server numbers its events
        from 1 again) caused, one per context, in the order recorded; computed at or after
        `since` and before `until` when given (which of the flag's events of the id owns them,
        domain/change_owners.py `owned_span`)."""

    @abstractmethod
    def config_diffs(
        self, flag_key: str | None, limit: int = 500, since: float | None = None
    ) -> list[StoredDiff]:
        """Configuration diffs (of one flag, or all), newest first; at or after `since`."""

    @abstractmethod
    def changes_since(
        self, since: float, limit: int, transition_limit: int | None = None
    ) -> tuple[list[ValueTransition], list[StoredDiff]]:
        """Transitions and diffs computed at or after `since`, oldest first: at most the newest
        `limit` of each (`transition_limit` transitions when given); `store/recorded.py`."""

    @abstractmethod
    def last_configs(self, environment_id: str) -> dict[str, FlagConfig]:
        """Flag key → the configuration a recorder last read of the flag in `environment_id`
        (`Journal.set_last_config`); none in a journal recorded before they were kept."""

    @abstractmethod
    def merged_answers(self, flag_key: str | None, since: float, limit: int) -> list[MergedAnswer]:
        """The newest `limit` answers of `flag_key` (None: of every flag, in one query) that
        may have answered several of its events (domain/merged.py), that came at or after
        `since`, oldest first; none in a journal recorded before they were kept."""

    @abstractmethod
    def environment_names(self) -> dict[str, str]:
        """Environment id → key."""

    @abstractmethod
    def iter_events(self, since: float | None = None) -> Iterator[FlagEvent]:
        """Every event (received at or after `since`), oldest first, read in chunks."""

    @abstractmethod
    def iter_transitions(self, since: float | None = None) -> Iterator[ValueTransition]:
        """Every value transition (computed at or after `since`), oldest first, in chunks."""

    @abstractmethod
    def outages(self, since: float | None = None) -> list[Outage]:
        """The outages that ended at or after `since` (all of them: few), oldest first."""

    @abstractmethod
    def count_events(self) -> int:
        """How many events are committed (a full count: for checks, not the hot path)."""

    @abstractmethod
    def watched_until(self) -> float | None:
        """Until when a recorder last watched its live stream (the newest of the profile's
        marks); None when none said so (a journal older than the mark, or never live)."""

    def watched_until_mark(self) -> WatchedUntil | None:
        """`watched_until`, with the seconds within which its recorder promised to move it
        again while it watches (None: not said, an older program's mark)."""
        at = self.watched_until()
        return None if at is None else WatchedUntil(at)

    def watchers(self) -> list[Watcher]:
        """Each recorder's own mark of a shared journal, with when its watch began: whether
        another recorder watched through a time this one did not (core/covered.py). Empty
        in a journal of one recorder (SQLite), or one no recorder of this version wrote."""
        return []

    def check(self) -> None:
        """JournalError when the journal cannot be read whole (SQLite: damaged pages)."""
        return None  # a backend with nothing to check

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Release what the reader holds (a pool of connections)."""
        return None  # a backend that holds nothing between reads


class Journal(JournalReader):
    """A journal open for writing: append from the event loop; `close()` flushes.

    A backend opens its database in `_open` and hands the writer its `Sink`; everything about
    the writer's queues is shared here.
    """

    def __init__(
        self,
        *,
        max_events: int = DEFAULT_MAX_EVENTS,
        max_age_days: float = DEFAULT_MAX_AGE_DAYS,
        max_queue: int = DEFAULT_MAX_QUEUE,
        clock: Callable[[], float] = time.time,
        batch_pause: float = 0.05,
        environment_id: str | None = None,
    ) -> None:
        self.notice: str | None = None  # set when the backend had something to say at open
        # The profile's environment, when known: only its events own a value change
        # (domain/change_owners.py); PostgreSQL keys a change by its event's row with it.
        self.environment_id = environment_id
        self.moved_to: Path | None = None  # SQLite: where an unreadable file was moved
        self._retention = Retention(max_events, max_age_days, clock)
        self._writer = Writer(max_queue=max_queue, batch_pause=batch_pause)

    # --- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, target: Any, **options: Any) -> Journal:
        """Open (or create) the journal at `target` and start its writer; `options` are those
        of the constructor. JournalError if it cannot be used."""
        if cls is Journal:
            for backend in _backends():
                if backend.accepts(target):
                    return backend.open(target, **options)
            raise JournalError(f"no journal backend opens {type(target).__name__} targets")
        journal = cls._create(target, **options)
        journal._open()
        return journal

    @classmethod
    def accepts(cls, target: object) -> bool:
        """This backend opens `target` (a path, a URL)."""
        return False

    @classmethod
    @abstractmethod
    def _create(cls, target: Any, **options: Any) -> Journal: ...

    @abstractmethod
    def _open(self) -> None:
        """Open the database, apply retention, start the writer with the backend's sink."""

    @abstractmethod
    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Commit what is queued, stop the writer thread, close the database."""

    # --- appending (any thread; never blocks on the database) -------------------------------

    def append_event(self, event: FlagEvent) -> None:
        self._writer.append_event(event)

    def append_events(self, batch: list[FlagEvent]) -> None:
        """Many events at once (one deque.extend: atomic, and C-speed)."""
        self._writer.append_events(batch)

    def append_outage(self, outage: Outage) -> None:
        self._writer.put(AppendOutage(outage))

    def revise_outage(self, outage: Outage) -> None:
        """The outage appended before (the same window and `received_at`) is now `outage`:
        its row is updated, not a second one appended."""
        self._writer.put(ReviseOutage(outage))

    def append_transition(self, transition: ValueTransition) -> None:
        self._writer.put(AppendTransition(transition))

    def append_config_diff(self, diff: ConfigDiff, at: float) -> None:
        self._writer.put(AppendConfigDiff(StoredDiff(diff, at)))

    def append_merged_answer(self, answer: MergedAnswer) -> None:
        """An answer that may have answered several events of its flag: at most one per flag
        and context a second under a burst (core/answered.py), never one per event."""
        self._writer.put(AppendAnswer(answer))

    def set_last_value(
        self,
        flag_key: str,
        evaluation: Evaluation | None,
        at: float,
        *,
        deleted: bool = False,
        context: str = DEFAULT_CONTEXT,
        environment: str | None = None,
        in_doubt: bool = False,
    ) -> None:
        """Remember `flag_key`'s last value for the named `context` (one row per both), of
        the `environment` evaluate asked for (its key; None: not known), and whether it may
        hide changes the stream did not show (`LastValue.in_doubt`)."""
        value = LastValue(flag_key, evaluation, at, deleted, context, environment, in_doubt)
        self._writer.put(SetLastValue(value))

    def set_last_config(
        self, environment_id: str, flag_key: str, config: FlagConfig | None, at: float
    ) -> None:
        """Remember the flag's configuration as last read (None: it is gone), one row per flag:
        written when it differs from the one remembered (a diff, a first read), never per event,
        so the next run compares its first read with it (core/configs.py)."""
        self._writer.put(SetLastConfig(LastConfig(environment_id, flag_key, config, at)))

    def set_environment_names(self, names: dict[str, str]) -> None:
        """Remember environment id → key, so `env:production` works in `export --filter`."""
        self._writer.put(SetEnvironmentNames(tuple(names.items())))

    def set_watched_until(self, at: float, by: Watcher | None = None) -> None:
        """The live stream was watched until `at`: where the next run's outage begins (a rare
        write, at the recorder's pace: core/watched.py); `by`: which recorder, watching since
        when (kept by a shared journal only: `watchers`), and within how many seconds it moves
        the mark again while it watches (kept by both: `watched_until_mark`)."""
        self._writer.put(SetWatchedUntil(at, by))

    # --- the writer's state ----------------------------------------------------------------

    @property
    def dropped(self) -> int:
        """Appends refused because the writer fell `max_queue` behind, or lost to a failed
        write."""
        return self._writer.dropped

    @property
    def write_error(self) -> str | None:
        """The last write failure (or why the writer thread stopped); None if none."""
        return self._writer.write_error

    @property
    def trouble(self) -> str | None:
        """What the writer struggles with right now while it goes on (PostgreSQL: the database
        is unreachable and the batch is retried), None when nothing: for the status."""
        return None

    @property
    def pending(self) -> int:
        """Appended, not yet committed."""
        return self._writer.pending

    @property
    def writing(self) -> bool:
        """The writer thread runs: what is appended will be committed."""
        return self._writer.running

    @property
    def appended(self) -> Mark:
        """What has been appended so far: `written(mark)` says when it is all committed. Read
        it on the thread that appends (the monitor's loop)."""
        return self._writer.appended

    def written(self, mark: Mark) -> bool:
        """Everything appended up to `mark` is committed (or lost and counted in `dropped`, or
        the writer has ended)."""
        return self._writer.written(mark)

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call `listener` on the writer thread after every commit (it must be quick)."""
        self._writer.add_listener(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        self._writer.remove_listener(listener)

    def wait_pending_below(self, limit: int, timeout: float) -> bool:
        """Block until at most `limit` items are pending, or the writer has ended (then
        nothing will drain: waiting longer would stall the caller for good). False on timeout."""
        return self._writer.wait_pending_below(limit, timeout)

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until everything appended so far is committed; False on timeout."""
        return self._writer.flush(timeout)


def _backends() -> list[type[Journal]]:
    """Every backend imported so far (`store/journal.py` imports them all), depth first."""
    found: list[type[Journal]] = []
    stack = list(Journal.__subclasses__())
    while stack:
        sub = stack.pop()
        found.append(sub)
        stack.extend(sub.__subclasses__())
    return found
