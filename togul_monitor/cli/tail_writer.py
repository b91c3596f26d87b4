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

A stop (SIGTERM, Ctrl-C) must not wait without end on a reader that does not read: a supervisor
stopping the tail would hang with no word. `written()` waits for what stdout's reader has not
taken; at a stop it says at once how many lines wait, gives the reader `grace` seconds, then
gives them up and says how many were not written. The thread is then left in its blocked write
(nothing can end a write into a full pipe) and `close()` does not wait for it; `tail` exits
without the interpreter's shutdown, which would flush stdout and so wait on that write too
(`left_writing()`, cli/tail.py). What the tail printed was recorded first when it records
(cli/tail_record.py): only stdout's copy is lost.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from collections import deque
from collections.abc import Callable
from itertools import groupby
from typing import BinaryIO, TextIO, cast

MAX_PENDING = 8 * 1024 * 1024  # characters handed over and not written yet (about 40k lines)
NOTICE_AFTER = 0.25  # seconds stdout's reader has, at a stop, before the wait is said
POLL = 0.05  # seconds between looks at what is left, while a stop waits
STDERR_WAIT = 1.0  # seconds `close()` gives stderr's thread once stdout's writes are given up

# The threads whose writes a stop gave up (`left_writing()`).
_given_up: list[threading.Thread] = []

Parts = list[str | bytes]
Item = tuple[bool, Parts, int]  # (to stderr, the parts, their size)


def same_file(a: TextIO, b: TextIO) -> bool:
    """`a` and `b` write to one file (what cannot tell, such as a StringIO, counts as one)."""
    try:
        first, second = os.fstat(a.fileno()), os.fstat(b.fileno())
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is an OSError
        return True
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def count_lines(parts: Parts) -> int:
    """The lines in `parts` (each piece ends in a newline)."""
    return sum(part.count("\n") if isinstance(part, str) else part.count(b"\n") for part in parts)


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
        # What to write; None ends the thread.
        self._queue: queue.SimpleQueue[Item | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pending = 0  # characters put and not written yet
        # Past MAX_PENDING until caught up to half of it; `_room` wakes `room()` then.
        self._full = False
        self._room = asyncio.Event()
        self.failure: BaseException | None = None
        self.given_up = False  # a stop gave up waiting for stdout's reader (`written()`)
        # One thread for both, or one each (module docstring); stderr's queue is the last.
        self._queues = [self._queue] if same_file(out, err) else [self._queue, queue.SimpleQueue()]
        # Each queue's items until written (the one being written first), under `_lock`: what
        # a stop counts as not written yet.
        self._held: list[deque[Item]] = [deque() for _ in self._queues]
        self._threads = [
            threading.Thread(target=self._run, args=(q, h), name="tail-output", daemon=True)
            for q, h in zip(self._queues, self._held, strict=True)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def pending(self) -> int:
        return self._pending

    def put(self, parts: Parts, size: int, *, to_err: bool = False) -> None:
        """Write `parts` (`size` characters) after what was put before (on the loop)."""
        lane = -1 if to_err else 0
        item = (to_err, parts, size)
        with self._lock:
            self._pending += size
            if self._pending > MAX_PENDING:
                self._full = True
            self._held[lane].append(item)
        self._queues[lane].put(item)

    async def room(self) -> None:
        """Return once the writer is not full (at once, mostly). The writer's wake-up is a
        callback on the loop, so it always runs after the `clear` that comes before the wait."""
        while self._full:
            self._room.clear()
            await self._room.wait()

    def unwritten(self) -> int:
        """Lines put for stdout and not written yet (some of the first may be)."""
        with self._lock:
            held = list(self._held[0])
        return sum(count_lines(parts) for to_err, parts, _ in held if not to_err)

    async def written(
        self, say: Callable[[str], object], *, grace: float | None = None, kept: str = ""
    ) -> None:
        """Return once stdout's thread has written what was put for it. `grace` None: however
        long that takes. At a stop, `grace` seconds: when the reader has not taken the lines
        within `NOTICE_AFTER`, `say` how many wait, and give them up (`given_up`, saying how
        many were not written, `kept` after it) once `grace` has passed or the stop is repeated
        (this task cancelled again)."""
        if self.failure is not None:  # nothing is written any more: nothing to wait for
            return
        loop = asyncio.get_running_loop()
        notice_at, deadline = loop.time() + NOTICE_AFTER, None
        try:
            while self._held[0] and self.failure is None:
                now = loop.time()
                if grace is not None and deadline is None and now >= notice_at:
                    deadline = now + grace
                    say(
                        f"stopping: {self.unwritten():,} printed line(s) wait for stdout's "
                        f"reader, which does not read them; waiting {grace:g} s for it"
                    )
                if deadline is not None and now >= deadline:
                    break
                await asyncio.sleep(POLL)
        except asyncio.CancelledError:
            if grace is not None:  # a second stop: give up now
                self._give_up(say, kept)
            raise
        if self._held[0] and self.failure is None:
            self._give_up(say, kept)

    def _give_up(self, say: Callable[[str], object], kept: str) -> None:
        self.given_up = True
        _given_up.append(self._threads[0])
        say(
            f"stopped: up to {self.unwritten():,} printed line(s) not written: stdout's "
            f"reader did not read them{kept}"
        )

    def close(self) -> None:
        """Write what was put, and end the threads (it blocks while the reader does not read,
        unless a stop gave the reader up: then stderr's thread is given `STDERR_WAIT`)."""
        for pending in self._queues:
            pending.put(None)
        if not self.given_up:
            for thread in self._threads:
                thread.join()
        elif len(self._threads) > 1:
            self._threads[-1].join(STDERR_WAIT)

    def _run(self, pending: queue.SimpleQueue[Item | None], held: deque[Item]) -> None:
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
                held.popleft()
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


def left_writing() -> bool:
    """Whether a writer's thread is still blocked in a write a stop gave up (`written()`)."""
    return any(thread.is_alive() for thread in _given_up)
