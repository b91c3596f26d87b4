"""Opening a monitor's journal: where it is, and what it remembers of earlier runs.

Where: the profile's journal URL (`journal_url`: None or `sqlite` for the profile's own SQLite
file, `postgresql://…` for a database shared by recorders; store/journal.py `open_journal_at`).

A journal that cannot be opened is not an error of the monitor: it runs without recording and
says why (`notice`; `busy` when another process records the profile). A journal whose history
cannot be read still records: `problem` says what was not loaded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from togul_monitor.domain.events import FlagEvent
from togul_monitor.store.journal import (
    Journal,
    JournalError,
    LastValue,
    RecorderBusy,
    open_journal_at,
)
from togul_monitor.store.recorded import NO_CHANGES, RecordedChanges, read_recorded_changes

log = logging.getLogger("togul_monitor.core.monitor")


@dataclass
class Opened:
    journal: Journal | None
    notice: str | None  # why it is not recording, or what happened to the file
    busy: bool = False  # not recording because another process records the profile
    events: list[FlagEvent] = field(default_factory=list)  # the latest, oldest first
    last_values: dict[str, dict[str, LastValue]] = field(default_factory=dict)  # by context
    problem: str | None = None  # the history that could not be loaded
    # The value changes and configuration diffs recorded with `events` (store/recorded.py).
    changes: RecordedChanges = NO_CHANGES


async def open_journal(
    profile_name: str,
    directory: Path | None,
    clock: Callable[[], float],
    options: Mapping[str, Any],
    load_events: int,
    environment_id: str | None = None,
    journal_url: str | None = None,
) -> Opened:
    """Open the profile's journal and read its last `load_events` events, what they changed
    and the last values (off the loop: the database blocks). `environment_id`: the profile's,
    when known (without event ids, a value change is tied to an event of it). `journal_url`:
    which database (None: the profile's SQLite file under `directory`); `options` may carry
    it too (`Monitor(journal_url=...)` adds it to its journal options)."""
    options = dict(options)
    journal_url = options.pop("journal_url", None) or journal_url
    try:
        journal = await asyncio.to_thread(
            open_journal_at, profile_name, journal_url, directory, clock=clock, **options
        )
    except JournalError as exc:
        notice = f"not recording: {exc}"
        log.warning("%s", notice)
        return Opened(None, notice, busy=isinstance(exc, RecorderBusy))
    opened = Opened(journal, journal.notice)
    try:
        opened.events = await asyncio.to_thread(journal.recent_events, load_events)
        opened.last_values = await asyncio.to_thread(journal.last_values)
        opened.changes = await asyncio.to_thread(
            read_recorded_changes, journal, opened.events, environment_id
        )
    except JournalError as exc:
        opened.events, opened.last_values, opened.changes = [], {}, NO_CHANGES
        opened.problem = f"journal history not loaded: {exc}"
    return opened
