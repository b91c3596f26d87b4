"""A shared journal a monitor reads but does not write (docs/journal.md, "Who writes a shared
journal"), and a SQLite journal another process records (its one recorder's lock is taken).

With PostgreSQL there is no one-recorder lock: every TUI, every `web` tab and every `tail` of a
profile would record it, and what has no identity the recorders share (a value change of an
event without an id, the documented stream's) would be journalled once per recorder. So one
recorder writes (`togul-monitor record`, or `Monitor(journal_writer=True)`), and every other
monitor of the profile reads the same journal through this adapter: the backfill, a flag's
history and the last values come from it, and what the monitor would record goes nowhere.

It is a `Journal`, so the monitor drives it as any other: its appends do nothing, nothing is
ever pending or dropped, every mark is written at once, and `writing` is False (the status says
`READ_ONLY_NOTICE`). But a SQLite journal another process records is taken over once that
process is gone (core/takeover.py), which journals what this monitor saw that the journal
lacks: its value changes and values are in the core's memory, its configuration diffs nowhere
else, so this journal keeps those (`found_diffs`, the newest MAX_FOUND_DIFFS) when asked to.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.flag_config import ConfigDiff, FlagConfig
from togul_monitor.domain.history import HistoryEntry
from togul_monitor.domain.merged import MergedAnswer
from togul_monitor.domain.values import DEFAULT_CONTEXT, Evaluation, ValueTransition
from togul_monitor.store.interface import CLOSE_TIMEOUT, Journal, JournalReader
from togul_monitor.store.model import LastValue, StoredDiff, WatchedUntil, Watcher

READ_ONLY_NOTICE = "reading the shared journal (togul-monitor record writes it)"
#: The configuration diffs a journal that may be taken over keeps, at most (the newest).
MAX_FOUND_DIFFS = 10_000


class ReadingJournal(Journal):
    """`reader`'s journal, read; appends are dropped silently (another process records).
    `notice`: what the status says of it (a busy SQLite journal's says why it is not
    recording, core/recording.py); `keep_diffs`: keep the configuration diffs appended, for a
    takeover (see the module's docstring)."""

    def __init__(
        self, reader: JournalReader, notice: str = READ_ONLY_NOTICE, *, keep_diffs: bool = False
    ) -> None:
        super().__init__()
        self._reader = reader
        self.location = reader.location
        self.notice = notice
        self.found_diffs: deque[StoredDiff] = deque(maxlen=MAX_FOUND_DIFFS if keep_diffs else 0)

    def __repr__(self) -> str:
        return f"ReadingJournal({self.location!r})"

    @classmethod
    def _create(cls, target: Any, **options: Any) -> Journal:
        raise TypeError("a ReadingJournal wraps an open reader: ReadingJournal(reader)")

    def _open(self) -> None:
        return None  # the reader is open already

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        self._reader.close(timeout)

    # --- reads: the shared journal's ---------------------------------------------------------

    def recent_events(self, limit: int) -> list[FlagEvent]:
        return self._reader.recent_events(limit)

    def last_values(self) -> dict[str, dict[str, LastValue]]:
        return self._reader.last_values()

    def history(
        self, flag_key: str, limit: int = 500, environment_id: str | None = None
    ) -> list[HistoryEntry]:
        return self._reader.history(flag_key, limit, environment_id)

    def transitions_for(
        self,
        event_id: str,
        flag_key: str,
        since: float | None = None,
        until: float | None = None,
    ) -> list[ValueTransition]:
        return self._reader.transitions_for(event_id, flag_key, since, until)

    def config_diffs(
        self, flag_key: str | None, limit: int = 500, since: float | None = None
    ) -> list[StoredDiff]:
        return self._reader.config_diffs(flag_key, limit, since)

    def changes_since(
        self, since: float, limit: int, transition_limit: int | None = None
    ) -> tuple[list[ValueTransition], list[StoredDiff]]:
        return self._reader.changes_since(since, limit, transition_limit)

    def merged_answers(self, flag_key: str | None, since: float, limit: int) -> list[MergedAnswer]:
        return self._reader.merged_answers(flag_key, since, limit)

    def last_configs(self, environment_id: str) -> dict[str, FlagConfig]:
        return self._reader.last_configs(environment_id)

    def environment_names(self) -> dict[str, str]:
        return self._reader.environment_names()

    def iter_events(self, since: float | None = None) -> Iterator[FlagEvent]:
        return self._reader.iter_events(since)

    def iter_transitions(self, since: float | None = None) -> Iterator[ValueTransition]:
        return self._reader.iter_transitions(since)

    def outages(self, since: float | None = None) -> list[Outage]:
        return self._reader.outages(since)

    def count_events(self) -> int:
        return self._reader.count_events()

    def watched_until(self) -> float | None:
        return self._reader.watched_until()

    def watched_until_mark(self) -> WatchedUntil | None:
        return self._reader.watched_until_mark()

    def watchers(self) -> list[Watcher]:
        return self._reader.watchers()

    def check(self) -> None:
        self._reader.check()

    # --- appends: the recorder's job, not this monitor's -------------------------------------

    def append_event(self, event: FlagEvent) -> None:
        return None

    def append_events(self, batch: list[FlagEvent]) -> None:
        return None

    def append_outage(self, outage: Outage) -> None:
        return None

    def revise_outage(self, outage: Outage) -> None:
        return None

    def append_transition(self, transition: ValueTransition) -> None:
        return None

    def append_config_diff(self, diff: ConfigDiff, at: float) -> None:
        self.found_diffs.append(StoredDiff(diff, at))  # kept only with `keep_diffs`

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
        return None

    def append_merged_answer(self, answer: MergedAnswer) -> None:
        return None

    def set_last_config(
        self, environment_id: str, flag_key: str, config: FlagConfig | None, at: float
    ) -> None:
        return None

    def set_environment_names(self, names: dict[str, str]) -> None:
        return None

    def set_watched_until(self, at: float, by: Watcher | None = None) -> None:
        return None
