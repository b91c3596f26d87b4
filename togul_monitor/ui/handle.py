"""What the TUI needs of a running monitor: `MonitorThread`'s methods, as a Protocol.

The app, the session and the actions type the monitor with this rather than `Any`, so a test
double (or a future monitor) is checked against the same small surface.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from togul_monitor.core.monitor import MonitorSnapshot, MonitorUpdate
from togul_monitor.domain.history import HistoryEntry
from togul_monitor.domain.values import ValueTransition


class MonitorHandle(Protocol):
    def start(self) -> None: ...

    def stop(self, timeout: float = ...) -> None: ...

    def drain(self) -> list[MonitorUpdate]: ...

    def snapshot(self) -> MonitorSnapshot: ...

    def history(self, flag_key: str, limit: int = 500) -> Sequence[HistoryEntry]: ...

    def transition_for(self, event_id: str) -> ValueTransition | None: ...

    def set_watched(self, flag_key: str, watched: bool) -> None: ...
