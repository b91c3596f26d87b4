"""Typed messages from the app's thread workers back to the UI (posted thread-safely).

Workers never touch widgets: they post one of these and the handler on the UI thread paints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.message import Message

from togul_monitor.config.profiles import Profile
from togul_monitor.ui.feed_store import RefilterResult


@dataclass
class MonitorReady(Message):
    """A MonitorThread for `profile` runs; the previous one (if any) has stopped."""

    profile: Profile
    monitor: Any  # MonitorThread (or a test double with the same methods)


@dataclass
class MonitorFailed(Message):
    """The profile could not be opened or its monitor could not start."""

    profile_name: str
    error: str


@dataclass
class HistoryLoaded(Message):
    flag_key: str
    entries: list[object]
    request: int = 0  # which read this answers (the app keeps only the latest)


@dataclass
class RefilterDone(Message):
    result: RefilterResult


@dataclass
class ExportDone(Message):
    path: Path | None
    count: int
    error: str | None = None
