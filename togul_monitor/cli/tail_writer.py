"""`tail`'s stdout and stderr, written off the event loop by one thread, in the order given.

A reader that stops reading (a paused pager, `tail | (sleep 20; cat)`) fills the pipe, and a
write into a full pipe blocks. Made on the loop that runs the monitor, such a write would stop
everything there: the stream is not read, no timer fires, events are stamped as received when
the reader wakes up, and a server that drops slow clients drops this one. So `TailOutput`
(cli/tail_output.py) hands what it would write to an `OutputWriter`, whose thread does the
writing; the loop never waits on a pipe.

What the writer holds is bounded: past `MAX_PENDING` characters, `room()` makes the tail stop
taking updates (cli/tail_loop.py) until the reader has caught up to half of it. The monitor goes
on meanwhile: it reads the stream, stamps and records every event, and once its own buffer is
full (core/drained.py) it drops further updates and the tail says how many events were not
printed. A write that fails (the reader closed the pipe, a full disk) ends the writing: the
error is kept in `failure` and handed to the loop's `on_failure`.

Lines for stderr keep their place among stdout's when both are one file (a terminal, or
`2>&1`): the reader sees them in order. When they are two (`tail | less`, `tail > file`),
nobody sees both orders, and stderr has a thread of its own: what it says (the stream is down,
events were dropped) is not held behind a stdout whose reader does not read.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from collections.abc import Callable
from itertools import groupby
from typing import BinaryIO, TextIO, cast

MAX_PENDING = 8 * 1024 * 1024  # characters handed over and not written yet (about 40k lines)

Parts = list[str | bytes]


def same_file(a: TextIO, b: TextIO) -> bool:
    """`a` and `b` write to one file (what cannot tell, such as a StringIO, counts as one)."""
    try:
        first, second = os.fstat(a.fileno()), os.fstat(b.fileno())
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is an OSError
        return True
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def write_parts(out: TextIO, raw: BinaryIO | None, parts: Parts) -> None:
    """`parts` to stdout, in order: text through the text layer, bytes under it once the text
    before them is flushed there (`out.flush()` flushes the byte stream too); then flushed."""
    for kind, group in groupby(parts, type):
        if kind is str:
            out.write("".join(cast("list[str]", list(group))))
        else:
            assert raw is not None
            out.flush()
            raw.write(b"".join(cast("list[bytes]", list(group))))
    out.flush()


class OutputWriter:
    """The thread that writes `tail`'s output; see the module's docstring."""

    def __init__(
        self,
        out: TextIO,
        raw: BinaryIO | None,
        err: TextIO,
        loop: asyncio.AbstractEventLoop,
        on_failure: Callable[[BaseException], object],
    ) -> None:
        self._out, self._raw, self._err = out, raw, err
        self._loop = loop
        self._on_failure = on_failure
        # (to stderr, the parts, their size); None ends the thread.
        self._queue: queue.SimpleQueue[tuple[bool, Parts, int] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pending = 0  # characters put and not written yet
        # Past MAX_PENDING until caught up to half of it; `_room` wakes `room()` then.
        self._full = False
        self._room = asyncio.Event()
        self.failure: BaseException | None = None
        # One thread for both, or one each (module docstring); stderr's queue is the last.
        self._queues = [self._queue] if same_file(out, err) else [self._queue, queue.SimpleQueue()]
        self._threads = [
            threading.Thread(target=self._run, args=(q,), name="tail-output", daemon=True)
            for q in self._queues
        ]
        for thread in self._threads:
            thread.start()

    @property
    def pending(self) -> int:
        return self._pending

    def put(self, parts: Parts, size: int, *, to_err: bool = False) -> None:
        """Write `parts` (`size` characters) after what was put before (on the loop)."""
        with self._lock:
            self._pending += size
            if self._pending > MAX_PENDING:
                self._full = True
        self._queues[-1 if to_err else 0].put((to_err, parts, size))

    async def room(self) -> None:
        """Return once the writer is not full (at once, mostly). The writer's wake-up is a
        callback on the loop, so it always runs after the `clear` that comes before the wait."""
        while self._full:
            self._room.clear()
            await self._room.wait()

    def close(self) -> None:
        """Write what was put, and end the threads (it blocks while the reader does not read)."""
        for pending in self._queues:
            pending.put(None)
        for thread in self._threads:
            thread.join()

    def _run(self, pending: queue.SimpleQueue[tuple[bool, Parts, int] | None]) -> None:
        while (item := pending.get()) is not None:
            to_err, parts, size = item
            if self.failure is None:
                try:
                    if to_err:
                        self._err.write("".join(cast("list[str]", parts)))
                        self._err.flush()
                    else:
                        write_parts(self._out, self._raw, parts)
                except Exception as exc:  # noqa: BLE001 - handed to the loop, as a write's
                    self.failure = exc
                    self._call(self._on_failure, exc)
            with self._lock:
                self._pending -= size
                caught_up = self._full and self._pending <= MAX_PENDING // 2
                if caught_up:
                    self._full = False
            if caught_up:
                self._call(self._room.set)

    def _call(self, callback: Callable[..., object], *args: object) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass
