"""What the TUI needs of the monitor core, as Protocols.

`MonitorRunner` is what starts and stops a monitor off the event loop (`MonitorThread`);
`MonitorHandle` is the running monitor itself, whose methods are safe from any thread. The app,
the session and the main screen type the monitor with these rather than `Any`, so a test double
is checked against the same small surface. `ViewHost` is what the main screen asks of the app
(which owns the monitor), so the screen never imports the app.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from togul_monitor.config.profiles import Profile
from togul_monitor.domain.event_log import EventFilter, Row
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.history import HistoryEntry
from togul_monitor.domain.values import ValueTransition

if TYPE_CHECKING:  # the monitor's modules load after the first frame (ui/app.py)
    from togul_monitor.core import MonitorSnapshot, MonitorUpdate


class MonitorHandle(Protocol):
    def drain(self) -> list[MonitorUpdate]: ...

    def enable_drain(self, on_updates: Callable[[], None] | None = None) -> None: ...

    def snapshot(self) -> MonitorSnapshot: ...

    def rows_since(self, position: int) -> tuple[list[Row], int]: ...

    def events(
        self, flt: EventFilter | None = None, limit: int | None = None
    ) -> list[FlagEvent]: ...

    def history(self, flag_key: str, limit: int = 500) -> Sequence[HistoryEntry]: ...

    def evaluated_with_next(
        self, flag_key: str, entries: Sequence[HistoryEntry]
    ) -> Mapping[FlagEvent, tuple[str, ...]]: ...

    def transitions_for(self, event: FlagEvent) -> list[ValueTransition]: ...

    def set_watched(self, flag_key: str, watched: bool) -> None: ...

    def restart_stream(self) -> None: ...

    def reevaluate_all(self) -> None: ...


class MonitorRunner(Protocol):
    @property
    def monitor(self) -> MonitorHandle: ...

    def start(self) -> None: ...

    def stop(self, timeout: float = ...) -> None: ...


class ViewHost(Protocol):
    """What the main screen needs of the app: the running monitor and the profile it runs."""

    @property
    def profile(self) -> Profile: ...

    @property
    def monitor(self) -> MonitorHandle | None: ...

    @property
    def switching(self) -> bool: ...

    @property
    def closing(self) -> bool: ...

    def key_for(self, binding_id: str) -> str: ...
