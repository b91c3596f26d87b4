"""The loop that owns a monitor's state, and how other threads hand it work.

Whatever a monitor holds is read and written on its loop only. A thread that needs an answer
(`ask`) has the question run there and waits for it; a thread that only tells the monitor
something (`tell`) hands it over and goes on. On the loop itself, or once the loop no longer
runs (nothing else can touch the state then), both run at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

ASK_TIMEOUT = 10.0  # how long another thread waits for the loop to answer


class OwnerLoop:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None

    def bind(self) -> asyncio.AbstractEventLoop:
        """Call on the owning loop, once: it and its thread own the state from now on."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        return self._loop

    def here(self) -> bool:
        """The caller may touch the state directly (on the loop's thread, or before it)."""
        return self._thread is None or self._thread == threading.get_ident()

    def _running(self) -> bool:
        loop = self._loop
        return loop is not None and loop.is_running() and not loop.is_closed()

    def ask(self, query: Callable[[], T]) -> T:
        """Run `query` on the loop and wait for its answer."""
        if self.here() or not self._running():
            return query()
        assert self._loop is not None
        answer: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                answer.set_result(query())
            except BaseException as exc:  # handed to the asking thread
                answer.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return answer.result(ASK_TIMEOUT)

    def tell(self, intent: Callable[[], None]) -> None:
        """Run `intent` on the loop without waiting."""
        if self.here() or not self._running():
            intent()
            return
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(intent)
        except RuntimeError:  # the loop closed meanwhile: nothing to tell
            pass
