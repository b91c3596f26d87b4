"""Where a Monitor runs: on a thread of its own (the TUI), or in the caller's loop (headless).

`MonitorThread` hosts one Monitor on a dedicated thread with its own event loop, so that no
parsing, evaluate call or journal write ever runs on the TUI's loop. It only starts and stops
it: the TUI talks to `thread.monitor` directly, whose methods are safe from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from togul_monitor.config.profiles import Profile
from togul_monitor.core.drained import DrainedUpdates
from togul_monitor.core.monitor import Monitor
from togul_monitor.core.updates import MonitorUpdate
from togul_monitor.store.journal import CLOSE_TIMEOUT as JOURNAL_CLOSE_TIMEOUT

log = logging.getLogger("togul_monitor.core.monitor")  # one logger for the whole monitor core

#: What `MonitorThread.stop` waits by default: the journal's close plus the rest of stop().
STOP_TIMEOUT = JOURNAL_CLOSE_TIMEOUT + 2.0
# A headless command takes its events from its updates and never reads the event log back (only
# the TUI's feed and history do): a small log keeps 40 MB (100,000 events) and the journal rows
# it would load at start off every `tail`, `wait` and recorded profile.
HEADLESS_EVENT_LOG = 1_000


class MonitorThread:
    """A Monitor on its own thread and event loop, for the TUI."""

    def __init__(
        self, profile: Profile, *, on_updates: Callable[[], None] | None = None, **options: Any
    ) -> None:
        """`options`: `Monitor`'s keyword arguments (record, clock, journal_dir, ...).
        `on_updates`: called on the monitor's loop when updates wait in the drain buffer that
        was empty (core/updates.py): the reader's wake, instead of polling. It must not block."""
        self.profile = profile
        self.monitor = Monitor(profile, **options)
        self.monitor.enable_drain(on_updates)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None

    def set_on_updates(self, on_updates: Callable[[], None]) -> None:
        """The drain's wake, given once the reader is known (fires at once if updates wait)."""
        self.monitor.enable_drain(on_updates)

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
            self.monitor.loop_closed()
            return
        # Set from inside the loop: once start() returns, the loop runs and the monitor's
        # queries from other threads are answered there.
        loop.call_soon(self._ready.set)
        try:
            loop.run_forever()
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self.monitor.loop_closed()

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


@contextlib.asynccontextmanager
async def run_headless(
    profile: Profile,
    *,
    record: bool = True,
    clock: Callable[[], float] = time.time,
    journal_dir: Path | None = None,
    drained: bool = False,
    **options: Any,
) -> AsyncIterator[tuple[Monitor, AsyncIterator[MonitorUpdate]]]:
    """Run the whole monitor for a headless command (`tail`): a flight recorder when `record`.

    Yields the monitor and its update stream, subscribed before the monitor starts so nothing
    is missed::

        async with run_headless(profile, record=True) as (monitor, updates):
            async for update in updates:
                ...

    `drained`: the updates come from the drain buffer instead, a `DrainedUpdates` whose
    `batch()` takes all that wait (core/drained.py): a reader that keeps up with a burst pays
    per commit, not per update. It never ends: the reader stops on the stream's STOPPED status.

    `options`: the rest of `Monitor`'s keyword arguments (a stream factory in tests, say); the
    event log holds `HEADLESS_EVENT_LOG` rows unless `event_log_size` says otherwise.
    """
    options.setdefault("event_log_size", HEADLESS_EVENT_LOG)
    monitor = Monitor(profile, record=record, clock=clock, journal_dir=journal_dir, **options)
    updates: AsyncIterator[MonitorUpdate]
    if drained:
        batches = DrainedUpdates(monitor.drain)
        monitor.enable_drain(batches.wake)
        updates = batches
    else:
        updates = monitor.updates()
    try:
        await monitor.start()  # inside: a start that fails half-way still closes the journal
        yield monitor, updates
    finally:
        await monitor.stop()
