"""`tail`'s stdout: lines gathered and written together, never a write and a flush per line.

Under a burst the stream client hands over thousands of events a second; a `write` and a
`flush` (a system call) per line, and `json.dumps` building each event's dict, cost more than
reading the stream did. So, once `start()` has given it the monitor's loop, `TailOutput` keeps
the lines in memory and writes them in one call:
- `FLUSH_DELAY` (50 ms) after the first line put into an empty buffer (a timer on the loop): a
  reader on a pipe sees every line within that, however quiet the stream is;
- at once when the buffer holds `FLUSH_BYTES`: a burst is written in large pieces, memory stays
  bounded;
- when asked (`flush()`): before every line on stderr, so a terminal shows both in their order,
  and at exit (`close()`), so `--count`, Ctrl-C and a stopped stream print everything printed.
Before `start()` (and after `close()`) every line is written and flushed at once, as before.

`--json` event lines are kept as `EventLine` structs and encoded together with msgspec (one C
call per flush, `encode_lines`): the same object as `with_environment_key` (store/export.py)
makes, key for key in the same order, written compactly. Server text stays data: JSON escapes
every control character, and a line that is not plain printable ASCII once encoded (msgspec
writes other characters as UTF-8, DEL as is) is written by `json.dumps(ensure_ascii=True)`
instead, as every line was before, so what reaches the terminal is ASCII.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterator
from typing import TextIO

import msgspec

FLUSH_DELAY = 0.05  # seconds a printed line may wait in the buffer
FLUSH_BYTES = 64 * 1024  # characters that are written at once (a pipe's buffer)
FLUSH_EVENTS = 512  # event structs gathered before they are encoded (about 100 KB of lines)


class EventLine(msgspec.Struct, tag_field="kind", tag="event", gc=False):
    """One `tail --json` event line: `{"kind": "event", …}` (the tag comes first), then the
    fields of `FlagEvent.to_json()` with `environment_key` after `environment_id`."""

    type: str
    flag_key: str
    environment_id: str
    environment_key: str | None
    version: int
    timestamp: float  # an int stays an int: msgspec writes what it is given
    id: str | None
    received_at: float


_ENCODER = msgspec.json.Encoder()
_COMPACT = (",", ":")


def _printable(blob: bytes) -> bool:
    """`blob` is ASCII without DEL: what `json.dumps(ensure_ascii=True)` would have written."""
    return blob.isascii() and b"\x7f" not in blob


def json_line(data: object, *, floats: bool = True) -> str:
    """`data` as one JSON line (without its newline), ASCII only.

    msgspec when `floats` is False (the caller knows `data` holds no float: msgspec writes a NaN
    as `null`, json as `NaN`) and its output is printable; `json.dumps` otherwise."""
    if not floats:
        try:
            blob = _ENCODER.encode(data)
        except (TypeError, ValueError, OverflowError):
            pass
        else:
            if _printable(blob):
                return blob.decode("ascii")
    return json.dumps(data, ensure_ascii=True, separators=_COMPACT)


def encode_events(lines: list[EventLine]) -> str:
    """`lines` as JSON lines, each ending in a newline."""
    try:
        blob: bytes | None = _ENCODER.encode_lines(lines)
    except ValueError:  # a lone surrogate, which only json.dumps writes (as `\ud800`)
        blob = None
    if blob is not None and _printable(blob):
        return blob.decode("ascii")
    # Rare: a server string outside printable ASCII somewhere in the batch; line by line.
    return "".join(
        json.dumps(msgspec.to_builtins(line), ensure_ascii=True, separators=_COMPACT) + "\n"
        for line in lines
    )


class TailOutput:
    """What `tail` writes to stdout; see the module's docstring."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._parts: list[str] = []  # text to write, each piece ending in a newline
        self._size = 0  # characters in _parts
        self._events: list[EventLine] = []  # event lines after _parts, not yet encoded
        self._loop: asyncio.AbstractEventLoop | None = None  # None: write through
        self._timer: asyncio.TimerHandle | None = None
        self._on_failure: Callable[[BaseException], object] = lambda exc: None
        #: Why a timed flush failed (the reader closed the pipe, say); handed to `on_failure`.
        self.failure: BaseException | None = None

    def start(
        self, loop: asyncio.AbstractEventLoop, on_failure: Callable[[BaseException], object]
    ) -> None:
        """Buffer from now on, flushing on `loop`; a timed flush that fails calls `on_failure`
        (on the loop) with the error, which nobody else would see."""
        self._loop = loop
        self._on_failure = on_failure

    @property
    def waiting(self) -> int:
        """Lines printed and not written yet."""
        return len(self._events) + sum(part.count("\n") for part in self._parts)

    def line(self, text: str) -> None:
        """One line of text (without its newline)."""
        if self._events:
            self._seal()  # keep the order of the lines
        self._parts.append(text + "\n")
        self._size += len(text) + 1
        self._due()

    def event(self, line: EventLine) -> None:
        """One JSON event line: the hot path, a list append until the batch is full."""
        events = self._events
        events.append(line)
        if self._timer is None or len(events) >= FLUSH_EVENTS:
            self._due()

    def _seal(self) -> None:
        text = encode_events(self._events)
        self._events.clear()
        self._parts.append(text)
        self._size += len(text)

    def _due(self) -> None:
        loop = self._loop
        if loop is None:
            self.flush()
            return
        if len(self._events) >= FLUSH_EVENTS:
            self._seal()
        if self._size >= FLUSH_BYTES:
            self.flush()
        elif self._timer is None:
            self._timer = loop.call_later(FLUSH_DELAY, self._timed_flush)

    def _timed_flush(self) -> None:
        self._timer = None
        try:
            self.flush()
        except Exception as exc:  # noqa: BLE001 - a loop callback: handed to the tail
            self.failure = exc
            self._on_failure(exc)

    def flush(self) -> None:
        """Write and flush everything printed so far."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._events:
            self._seal()
        if not self._parts:
            return
        text = "".join(self._parts)
        self._parts.clear()
        self._size = 0
        self.out.write(text)
        self.out.flush()

    def close(self) -> None:
        """Write what is left; write through from now on (the loop is about to end)."""
        self._loop = None
        self.flush()


@contextlib.contextmanager
def buffered(output: TailOutput) -> Iterator[None]:
    """`output` buffered on the running loop while the block runs, and written when it ends,
    however it ends (`--count`, a stop, Ctrl-C's cancellation of the task). A timed write that
    fails (the reader closed the pipe) ends the block with that error, raised in the task as a
    write on its own path would be: the tail then exits as it always did (cli/tail.py)."""
    task = asyncio.current_task()
    assert task is not None
    output.start(asyncio.get_running_loop(), lambda exc: task.cancel())
    try:
        yield
    except asyncio.CancelledError:
        if output.failure is None:
            raise
        # The cancellation only carried the failure here (Python 3.11+ counts it: undone).
        uncancel = getattr(task, "uncancel", None)
        if uncancel is not None:
            uncancel()
        raise output.failure from None
    finally:
        if output.failure is None:
            output.close()
