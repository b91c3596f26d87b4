"""`tail`'s stdout: lines gathered and written together, never a write and a flush per line.

Under a burst the stream client hands over thousands of events a second; a `write` and a
`flush` (a system call) per line, and `json.dumps` building each event's dict, cost more than
reading the stream did. So, once `start()` has given it the monitor's loop, `TailOutput` keeps
the lines in memory and hands them over in one piece to a thread that writes them off the loop
(cli/tail_writer.py: a reader that does not read must not stop the monitor):
- `FLUSH_DELAY` (50 ms) after the first line put into an empty buffer (a timer on the loop): a
  reader on a pipe sees every line within that, however quiet the stream is;
- at once when the buffer holds `FLUSH_BYTES`: a burst is written in large pieces, memory stays
  bounded;
- when asked (`flush()`), and before every line on stderr (`err_line`, written by the same
  thread), so a terminal shows both in their order;
- at exit (`close()`, which waits for the thread), so `--count`, Ctrl-C and a stopped stream
  print everything printed; at a stop (Ctrl-C, SIGTERM) for a few seconds at most, saying so,
  when stdout's reader does not read (`written()`).
Before `start()` (and after `close()`) every line is written and flushed at once, as before.

`--json` event lines are kept as `EventLine` structs and encoded together with msgspec (one C
call per flush, `encode_lines`): the same object as `with_environment_key` (store/export_json.py)
makes, key for key in the same order, written compactly. Server text stays data: JSON escapes
every control character, and a line that is not plain printable ASCII once encoded (msgspec
writes other characters as UTF-8, DEL as is) is written by `json.dumps(ensure_ascii=True)`
instead, as every line was before, so what reaches the terminal is ASCII. Under a real stdout
(UTF-8 or ASCII, no newline translation) those printable bytes are written to its byte stream as
they are (`_raw_of`): the same bytes the text layer would write, without decoding a burst's
megabytes into text for the text layer to encode again.

The `--json` lines of an outage and of its later proof are made here too (`OutageCauses`), and
the line that says where events were not printed (`dropped_json`): rare, they are written as
text lines (`line`), never through the event lines' path.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import BinaryIO, TextIO, cast

import msgspec

from togul_monitor.cli.tail_writer import OutputWriter, Parts, count_lines, write_parts
from togul_monitor.core.updates import Dropped
from togul_monitor.domain.events import ConnectionState, FlagEvent, Outage, OutageProven, Status
from togul_monitor.domain.values import Evaluation

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


def event_lines(events: Sequence[FlagEvent], names: Mapping[str, str]) -> list[EventLine]:
    """The `--json` lines of a run of events (cli/render.py `TailPrinter.events`): `names`
    maps an environment id to its key (none: null)."""
    get = names.get
    return [
        EventLine(
            event.type,
            event.flag_key,
            event.environment_id,
            get(event.environment_id) or None,
            event.version,
            event.timestamp,
            event.event_id,
            event.received_at,
        )
        for event in events
    ]


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


_NO_FLOAT = (bool, int, str, type(None))


def has_float(evaluation: Evaluation | None) -> bool:
    """The value may hold a float (or is a list or an object that may): its line is encoded by
    `json.dumps` (`json_line`), which writes a NaN as json always did."""
    return evaluation is not None and type(evaluation.value) not in _NO_FLOAT


def _encode_events(lines: list[EventLine]) -> str | bytes:
    """`lines` as JSON lines, each ending in a newline: msgspec's bytes in the common case
    (every line printable ASCII), text otherwise."""
    try:
        blob: bytes | None = _ENCODER.encode_lines(lines)
    except ValueError:  # a lone surrogate, which only json.dumps writes (as `\ud800`)
        blob = None
    if blob is not None and _printable(blob):
        return blob
    # Rare: a server string outside printable ASCII somewhere in the batch; line by line.
    return "".join(
        json.dumps(msgspec.to_builtins(line), ensure_ascii=True, separators=_COMPACT) + "\n"
        for line in lines
    )


def _raw_of(out: TextIO) -> BinaryIO | None:
    """The byte stream under `out` when printable ASCII may be written to it as is: what
    `out.write` would do to it (an ASCII-compatible encoding, no newline translation)."""
    raw = getattr(out, "buffer", None)
    encoding = getattr(out, "encoding", None)
    if raw is None or not isinstance(encoding, str) or os.linesep != "\n":
        return None
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return None
    return cast("BinaryIO", raw) if name in ("utf-8", "ascii") else None


class TailOutput:
    """What `tail` writes to stdout (and, in order with it, to stderr); see the module's
    docstring."""

    def __init__(self, out: TextIO, err: TextIO | None = None) -> None:
        self.out, self.err = out, sys.stderr if err is None else err
        # Under stdout, its bytes: the JSON event lines msgspec encodes are written as they
        # come, not decoded into text for the text layer to encode again.
        self._raw = _raw_of(out)
        # What to write, each piece ending in a newline: text, and (with `_raw`) encoded JSON
        # event lines.
        self._parts: Parts = []
        self._size = 0  # characters in _parts
        self._events: list[EventLine] = []  # event lines after _parts, not yet encoded
        self._loop: asyncio.AbstractEventLoop | None = None  # None: write through
        self._writer: OutputWriter | None = None  # while started: writes off the loop
        self._closed_failure: BaseException | None = None  # the writer's, once closed
        self._timer: asyncio.TimerHandle | None = None

    def start(
        self, loop: asyncio.AbstractEventLoop, on_failure: Callable[[BaseException], object]
    ) -> None:
        """Buffer from now on, flushing on `loop` to a writer thread (cli/tail_writer.py); a
        write that fails calls `on_failure` (on the loop) with the error, which nobody else
        would see."""
        self._loop = loop
        self._writer = OutputWriter(self.out, self._raw, self.err, loop, on_failure)

    @property
    def failure(self) -> BaseException | None:
        """Why a write failed (the reader closed the pipe, say); handed to `on_failure`."""
        return self._writer.failure if self._writer is not None else self._closed_failure

    @property
    def waiting(self) -> int:
        """Lines printed and not handed to the writer yet."""
        return len(self._events) + count_lines(self._parts)

    @property
    def unwritten(self) -> int:
        """Lines handed to the writer and not written yet."""
        return self._writer.unwritten() if self._writer is not None else 0

    async def room(self) -> None:
        """Wait while the writer is full (a reader that does not read): see cli/tail_writer.py."""
        if self._writer is not None:
            await self._writer.room()

    def line(self, text: str) -> None:
        """One line of text (without its newline)."""
        if self._events:
            self._seal()  # keep the order of the lines
        self._parts.append(text + "\n")
        self._size += len(text) + 1
        self._due()

    def err_line(self, text: str) -> None:
        """One line on stderr (without its newline), after everything printed before it: a
        terminal that shows both shows them in order."""
        self.flush()
        if self._writer is not None:
            self._writer.put([text + "\n"], len(text) + 1, to_err=True)
        else:
            self.err.write(text + "\n")
            self.err.flush()

    def events(self, lines: list[EventLine]) -> None:
        """JSON event lines (a run of events, cli/tail_loop.py): the hot path, a list extend
        until the batch is full."""
        events = self._events
        events.extend(lines)
        if self._timer is None or len(events) >= FLUSH_EVENTS:
            self._due()

    def _seal(self) -> None:
        encoded = _encode_events(self._events)
        if self._raw is None and not isinstance(encoded, str):
            encoded = encoded.decode("ascii")
        self._events.clear()
        self._parts.append(encoded)
        self._size += len(encoded)

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
            self._timer = loop.call_later(FLUSH_DELAY, self.flush)

    def flush(self) -> None:
        """Hand everything printed so far to the writer (write it, before `start()` and after
        `close()`)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._events:
            self._seal()
        parts = self._parts
        if not parts:
            return
        self._parts = []
        size, self._size = self._size, 0
        if self._writer is not None:
            self._writer.put(parts, size)
        else:
            write_parts(self.out, self._raw, parts)

    async def written(
        self, say: Callable[[str], object], *, grace: float | None = None, kept: str = ""
    ) -> None:
        """Hand everything over and wait until stdout's reader has it; at a stop, for `grace`
        seconds at most, saying so with `say` (cli/tail_writer.py `written`)."""
        self.flush()
        if self._writer is not None:
            await self._writer.written(say, grace=grace, kept=kept)

    def close(self) -> None:
        """Write what is left and wait until it is written (a write that fails is kept in
        `failure`); write through from now on (the loop is about to end). Once a stop gave
        stdout's reader up, the writer stays: what comes later is queued, never written."""
        self.flush()
        writer, self._loop = self._writer, None
        if writer is not None:
            writer.close()
            self._closed_failure = writer.failure
            if not writer.given_up:
                self._writer = None


@contextlib.contextmanager
def buffered(output: TailOutput) -> Iterator[None]:
    """`output` buffered on the running loop while the block runs, and written when it ends,
    however it ends (`--count`, a stop, Ctrl-C's cancellation of the task). A timed write that
    fails (the reader closed the pipe) ends the block with that error, raised in the task as a
    write on its own path would be: the tail then exits as it always did (cli/tail.py)."""
    task = asyncio.current_task()
    assert task is not None
    ended = False

    def failed(exc: BaseException) -> None:
        # Once the block has ended, `close()` hands the failure over itself: a cancel then
        # would land in the monitor's shutdown, after the block, and replace the error.
        if not ended:
            task.cancel()

    output.start(asyncio.get_running_loop(), failed)
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
        ended = True
        output.close()
    if output.failure is not None:  # the last write, made while closing, failed
        raise output.failure


def outage_reported_json(outage: Outage, *, cause: str, error: str | None) -> dict[str, object]:
    """`tail --json`'s line for an outage, written where stderr says it, before the events the
    server replayed for it: a reader of stdout alone learns that the stream had a gap. The
    fields of `history --json`'s outage (`Outage.to_json`; an export's are the same, with ISO
    times) and the times of the `outage_proven` line that may follow it (Unix seconds).
    `cause`: `connection_lost` (this run's live connection was lost) or `not_watched` (the time
    between an earlier recording run and this one); `error`: what lost the connection, in the
    words stderr said it (None when nothing was said)."""
    return {"kind": "outage", **outage.to_json(), "cause": cause, "error": error}


class OutageCauses:
    """What caused each outage `tail --json` writes (`line`), from the stream's statuses noted
    in order (`status`): the time between an earlier recording run and this one (an outage that
    began before this run's stream was first live: core/recording.py), or a lost connection,
    with what lost it."""

    def __init__(self) -> None:
        self.first_live: float | None = None  # when this run's stream was first live
        self.lost_error: str | None = None  # what first lost it since the last outage line

    def status(self, status: Status, before: ConnectionState | None, error: str | None) -> None:
        """`status` came after a status of state `before`; `error`: its error in plain words."""
        if status.state is ConnectionState.LIVE:
            if self.first_live is None:
                self.first_live = status.at
        elif before is ConnectionState.LIVE and self.lost_error is None:
            self.lost_error = error  # the live connection was lost (by a restart: no error)

    def line(self, item: Outage | OutageProven) -> dict[str, object]:
        """`item`'s `--json` line (`outage_reported_json`, `outage_proven_json`)."""
        if isinstance(item, OutageProven):
            return outage_proven_json(item.outage)
        error, self.lost_error = self.lost_error, None
        if self.first_live is None or item.started_at < self.first_live:
            return outage_reported_json(item, cause="not_watched", error=error)
        return outage_reported_json(item, cause="connection_lost", error=error)


def outage_proven_json(outage: Outage) -> dict[str, object]:
    """`tail --json`'s line for an outage it reported as one that may have missed changes (on
    stderr), proved whole by the next event: which outage (its window and when it was
    reported), and when the proof came."""
    return {
        "kind": "outage_proven",
        "started_at": outage.started_at,
        "ended_at": outage.ended_at,
        "received_at": outage.received_at,
        "proven_at": outage.proven_at,
        "may_have_missed": False,
    }


def dropped_text(dropped: Dropped) -> str:
    """What a reader that fell behind lost (the monitor's drain buffer was full): said, never
    silent."""
    other = dropped.updates - dropped.events
    return (
        f"fell behind the stream: {dropped.events} event(s) and {other} other update(s) "
        "were not printed"
    )


def dropped_json(dropped: Dropped) -> dict[str, object]:
    """`tail --json`'s line where the events `dropped_text` counts were not printed, in order
    with the events: a reader of stdout alone knows that some are missing, and where."""
    return {
        "kind": "dropped",
        "events": dropped.events,
        "other_updates": dropped.updates - dropped.events,
    }
