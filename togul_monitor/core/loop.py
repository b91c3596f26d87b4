"""The loop that owns a monitor's state, and how other threads hand it work.

Whatever a monitor holds is read and written on its loop only. A thread that needs an answer
(`ask`) has the question run there and waits for it; a thread that only tells the monitor
something (`tell`) hands it over and goes on. On the loop itself, or once the loop has closed
(nothing else can touch the state then), both run at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

ASK_TIMEOUT = 10.0  # how long another thread waits for the loop to answer
_CHECK_EVERY = 0.1  # how often a waiting thread looks whether the loop has closed meanwhile


class OwnerLoop:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self._closed = threading.Event()

    def bind(self) -> asyncio.AbstractEventLoop:
        """Call on the owning loop, once: it and its thread own the state from now on."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        return self._loop

    def closed(self) -> None:
        """The loop has closed: no callback will run there any more (call after `close()`)."""
        self._closed.set()

    def here(self) -> bool:
        """The caller may touch the state directly: on the loop's thread, before the loop was
        bound, or after it closed."""
        return self._thread is None or self._thread == threading.get_ident() or self.gone()

    def gone(self) -> bool:
        return self._closed.is_set() or self._loop is None or self._loop.is_closed()

    def ask(self, query: Callable[[], T]) -> T:
        """Run `query` on the loop and wait for its answer."""
        loop = self._loop
        if self.here() or loop is None:
            return query()
        answer: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            if not answer.set_running_or_notify_cancel():
                return  # the asker gave up and answered itself
            try:
                answer.set_result(query())
            except BaseException as exc:  # handed to the asking thread
                answer.set_exception(exc)

        try:
            loop.call_soon_threadsafe(run)
        except RuntimeError:  # closed meanwhile: nothing else touches the state now
            return query()
        waited = 0.0
        while waited < ASK_TIMEOUT:
            try:
                return answer.result(_CHECK_EVERY)
            except concurrent.futures.TimeoutError:
                waited += _CHECK_EVERY
            if self._closed.is_set() and answer.cancel():
                return query()  # queued as the loop stopped: it will never run there
        raise TimeoutError(f"the monitor's loop did not answer within {ASK_TIMEOUT:g} s")

    def tell(self, intent: Callable[[], None]) -> None:
        """Run `intent` on the loop without waiting."""
        loop = self._loop
        if self.here() or loop is None:
            intent()
            return
        try:
            loop.call_soon_threadsafe(intent)
        except RuntimeError:  # the loop closed meanwhile: nothing to tell
            pass
