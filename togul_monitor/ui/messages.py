"""Typed messages from the thread workers back to the UI (posted thread-safely).

Workers never touch widgets: they post one of these and the handler on the UI thread paints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rich.text import Text
from textual.message import Message

from togul_monitor.config.profiles import Profile
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.history import HistoryEntry
from togul_monitor.domain.values import ValueTransition
from togul_monitor.ui.export import ExportedCounts
from togul_monitor.ui.handle import MonitorRunner
from togul_monitor.ui.view.refilter import RefilterResult


@dataclass
class MonitorReady(Message):
    """A monitor for `profile` runs; the previous one (if any) has stopped."""

    profile: Profile
    monitor: MonitorRunner
    generation: int = 0  # which `MonitorSession.start` this answers (older ones are stale)


@dataclass
class MonitorFailed(Message):
    """The profile could not be opened or its monitor could not start."""

    profile_name: str
    error: str
    generation: int = 0  # the `MonitorSession.start` it belongs to
    builtin: bool = False  # a demo profile (no form edits it)


@dataclass
class HistoryLoaded(Message):
    flag_key: str
    entries: list[HistoryEntry]
    request: int = 0  # which read this answers (the screen keeps only the latest)
    # The events among them evaluated with their flag's next change, with the contexts: the
    # journal's answers, read as `history` reads them (domain/merged.py).
    with_next: Mapping[FlagEvent, tuple[str, ...]] = field(default_factory=dict)


@dataclass
class RefilterDone(Message):
    result: RefilterResult


@dataclass
class ExportDone(Message):
    path: Path | None
    counts: ExportedCounts
    error: str | None = None


@dataclass
class TransitionLoaded(Message):
    """The journal's answer for an event detail screen opened without its value change: the
    screen's new body (posted to the detail screen)."""

    event: FlagEvent
    transitions: tuple[ValueTransition, ...]  # one per context the event changed
    body: Text
