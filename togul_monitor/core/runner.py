"""A Monitor on its own thread (for the TUI), and one in the caller's loop (`run_headless`).

Split from monitor.py, which re-exports both names. This module imports monitor.py only
inside functions: monitor.py imports this one at its end, so either may be imported first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from togul_monitor.config.profiles import Profile
from togul_monitor.store.journal import CLOSE_TIMEOUT as JOURNAL_CLOSE_TIMEOUT

if TYPE_CHECKING:
    from togul_monitor.core.monitor import Monitor, MonitorSnapshot, MonitorUpdate
    from togul_monitor.domain.event_log import EventFilter
    from togul_monitor.domain.events import FlagEvent
    from togul_monitor.domain.history import HistoryEntry
    from togul_monitor.domain.values import ValueTransition

log = logging.getLogger("togul_monitor.core.monitor")  # one logger for the whole monitor core

#: What `MonitorThread.stop` waits by default: the journal's close plus the rest of stop().
STOP_TIMEOUT = JOURNAL_CLOSE_TIMEOUT + 2.0

__all__ = ["STOP_TIMEOUT", "MonitorThread", "run_headless"]


class MonitorThread:
    """Runs a Monitor on its own thread and event loop, for the TUI.

    Queries (`drain`, `snapshot`, `events`, `history`, `transition_for`) run on the caller's
    thread against the Monitor's locked state; intents are handed to the monitor's loop.
    """

    def __init__(self, profile: Profile, **options: Any) -> None:
        """`options`: `Monitor`'s keyword arguments (record, clock, journal_dir, ...)."""
        from togul_monitor.core.monitor import Monitor

        self.profile = profile
        self.monitor = Monitor(profile, **options)
        self.monitor.enable_drain()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None

    def start(self) -> None:
        """Returns once the monitor's loop runs and the monitor has started."""
        if self._thread is not None:
            raise RuntimeError("a MonitorThread starts once")
        self._thread = threading.Thread(
            target=self._run, name=f"monitor-{self.profile.name}", daemon=True
        )
        self._thread.start()
        self._ready.wait()
        if self._start_error is not None:
            raise self._start_error

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self.monitor.start())
        except BaseException as exc:  # reported to start()'s caller
            self._start_error = exc
            self._ready.set()
            with contextlib.suppress(Exception):
                loop.run_until_complete(self.monitor.stop())
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Blocking: stops the monitor (stream, HTTP clients, journal flush) and the thread.

        The default outlasts the journal's close, so that a profile opened again right after
        never meets the old writer still at work on the same file."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        future = asyncio.run_coroutine_threadsafe(self.monitor.stop(), loop)
        try:
            future.result(timeout)
        except Exception as exc:  # a timeout or a failure: still stop the loop
            log.warning("monitor did not stop cleanly: %r", exc)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)

    def _call_soon(self, fn: Callable[..., None], *args: object) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(fn, *args)

    def drain(self) -> list[MonitorUpdate]:
        return self.monitor.drain()

    def snapshot(self) -> MonitorSnapshot:
        return self.monitor.snapshot()

    def events(self, flt: EventFilter | None = None, limit: int | None = None) -> list[FlagEvent]:
        return self.monitor.events(flt, limit)

    def history(self, flag_key: str, limit: int = 500) -> list[HistoryEntry]:
        return self.monitor.history(flag_key, limit)

    def transition_for(self, event_id: str) -> ValueTransition | None:
        return self.monitor.transition_for(event_id)

    def environment_names(self) -> dict[str, str]:
        """Environment id → key, as the monitor knows them now (for `env:` and columns)."""
        return self.monitor.environment_names()

    def restart_stream(self) -> None:
        self._call_soon(self.monitor.restart_stream)

    def reevaluate_all(self) -> None:
        self._call_soon(self.monitor.reevaluate_all)

    def set_watched(self, flag_key: str, watched: bool) -> None:
        self._call_soon(self.monitor.set_watched, flag_key, watched)


@contextlib.asynccontextmanager
async def run_headless(
    profile: Profile,
    *,
    record: bool = True,
    clock: Callable[[], float] = time.time,
    journal_dir: Path | None = None,
) -> AsyncIterator[tuple[Monitor, AsyncIterator[MonitorUpdate]]]:
    """Run the whole monitor for a headless command (`tail --profile`): a flight recorder.

    Yields the monitor and its update stream, subscribed before the monitor starts so nothing
    is missed::

        async with run_headless(profile, record=True) as (monitor, updates):
            async for update in updates:
                ...
    """
    from togul_monitor.core.monitor import Monitor

    monitor = Monitor(profile, record=record, clock=clock, journal_dir=journal_dir)
    updates = monitor.updates()
    try:
        await monitor.start()  # inside: a start that fails half-way still closes the journal
        yield monitor, updates
    finally:
        await monitor.stop()
