"""`tail` writing into a pipe (cli/tail_output.py): stdout is buffered, yet a reader sees each
line while the tail runs; `--count` prints exactly its events; a reader that goes away ends the
tail quietly; a cancelled tail (Ctrl-C's path under asyncio.run) writes what it printed."""

from __future__ import annotations

import asyncio
import fcntl
import io
import json
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from togul_monitor.cli import tail as tail_module
from togul_monitor.cli import tail_output, tail_writer
from togul_monitor.cli.render import TailPrinter
from togul_monitor.cli.tail import run_tail
from togul_monitor.emulator.harness import EmulatorHandle

from ..waits import wait_until
from .test_monitor import make_profile, wait_for
from .test_stream_tail import activity, events_of

WAIT = 10.0  # seconds a test waits for a line before it fails (never how long a line may take)


@dataclass
class Tail:
    proc: subprocess.Popen[str]
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)  # None: stdout ended
    err_lines: list[str] = field(default_factory=list)


@contextmanager
def tail_process(
    emu: EmulatorHandle, tmp_path: Path, *args: str, read_stdout: bool = True
) -> Iterator[Tail]:
    """`togul-monitor tail --json` of the emulator's production key, stdout and stderr pipes,
    each read by a thread (stdout only when `read_stdout`) into `Tail`; yielded once the stream
    is live."""
    key_file = tmp_path / "key"
    key_file.write_text(emu.credentials.keys["production"]["sdk"])
    proc = subprocess.Popen(
        [sys.executable, "-m", "togul_monitor", "tail", "--url", emu.base_url]
        + ["--api-key-file", str(key_file), "--json", "--no-record", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
        text=True,
    )
    tail = Tail(proc)
    live = threading.Event()

    def read_out() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            tail.lines.put(line)
        tail.lines.put(None)

    def read_err() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            tail.err_lines.append(line)
            if "live since" in line:
                live.set()

    reads = (read_out, read_err) if read_stdout else (read_err,)
    readers = [threading.Thread(target=read, daemon=True) for read in reads]
    for reader in readers:
        reader.start()
    try:
        assert live.wait(WAIT), "the tail never went live"
        yield tail
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for reader in readers:
            reader.join(WAIT)


def next_event(lines: queue.Queue[str | None]) -> dict[str, Any]:
    """The next event line (skipping the transitions the events cause)."""
    while True:
        line = lines.get(timeout=WAIT)
        assert line is not None, "stdout ended"
        data: dict[str, Any] = json.loads(line)
        if data["kind"] == "event":
            return data


def test_a_pipe_reader_gets_each_line_while_the_tail_runs(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    # A tail that wrote its buffer only at exit would leave the reader waiting here.
    with tail_process(emulator, tmp_path) as tail:
        for enabled in (False, True):  # the second after a quiet spell: the timer again
            flag = emulator.world.update_flag("production", "new-dashboard", enabled=enabled)
            event = next_event(tail.lines)
            assert (event["flag_key"], event["version"]) == ("new-dashboard", flag.version)
            assert tail.proc.poll() is None  # running: the line did not wait for the exit


def test_count_prints_exactly_its_events_then_exits(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    with activity(emulator), tail_process(emulator, tmp_path, "--count", "3") as tail:
        assert tail.proc.wait(WAIT * 3) == 0
        out: list[str] = []
        while (line := tail.lines.get(timeout=WAIT)) is not None:
            out.append(line)
    events = events_of("".join(out))
    assert len(events) == 3
    versions = [event["version"] for event in events]
    assert versions == list(range(versions[0], versions[0] + 3))


def test_a_reader_that_goes_away_ends_the_tail_quietly(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    # `tail --json | head -1`: the write after the reader left fails on the flush timer, which
    # must end the tail with 0 as a write on the main path always did.
    with activity(emulator), tail_process(emulator, tmp_path, read_stdout=False) as tail:
        stdout = tail.proc.stdout
        assert stdout is not None
        assert select.select([stdout], [], [], WAIT)[0], "no line"
        assert json.loads(stdout.readline())["kind"] in ("event", "transition")
        stdout.close()
        assert tail.proc.wait(WAIT * 3) == 0
        err = "".join(tail.err_lines)
    assert "Traceback" not in err and "Exception" not in err, err


async def test_a_cancelled_tail_writes_everything_it_printed(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ctrl-C under asyncio.run cancels the tail's task. The timer is made to wait an hour, so
    # only the write at exit can bring the printed lines out.
    monkeypatch.setattr(tail_output, "FLUSH_DELAY", 3600.0)
    printers: list[TailPrinter] = []

    class Spy(TailPrinter):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            printers.append(self)

    monkeypatch.setattr(tail_module, "TailPrinter", Spy)  # where `run_tail` looks it up
    out = io.StringIO()
    profile = make_profile(emulator)
    task = asyncio.create_task(
        run_tail(profile, query=None, count=None, as_json=True, out=out, err=io.StringIO())
    )
    try:
        await wait_for(lambda: emulator.open_streams == 1, what="the stream")
        # Changes that leave the value as it was: three event lines, no transitions.
        for n in range(3):
            await asyncio.to_thread(
                emulator.world.update_flag, "production", "new-dashboard", description=f"d{n}"
            )
        await wait_for(
            lambda: printers and printers[0].output.waiting >= 3, what="three printed lines"
        )
        assert out.getvalue() == ""  # all of them still in the buffer
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert len(events_of(out.getvalue())) >= 3


def spy_on_printers(monkeypatch: pytest.MonkeyPatch) -> list[TailPrinter]:
    """The TailPrinters the tails of the test make, as they make them."""
    printers: list[TailPrinter] = []

    class Spy(TailPrinter):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            printers.append(self)

    monkeypatch.setattr(tail_module, "TailPrinter", Spy)
    return printers


async def test_a_sigterm_writes_everything_printed_and_exits_143(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `kill`, `timeout` or a service manager: the lines printed but not yet written (the timer
    # waits an hour here) come out before the exit, as with Ctrl-C.
    monkeypatch.setattr(tail_output, "FLUSH_DELAY", 3600.0)
    printers = spy_on_printers(monkeypatch)
    out = io.StringIO()
    task = asyncio.create_task(
        run_tail(
            make_profile(emulator), query=None, count=None, as_json=True, out=out,
            err=io.StringIO(),
        )
    )  # fmt: skip
    await wait_for(lambda: emulator.open_streams == 1, what="the stream")
    await asyncio.to_thread(
        emulator.world.update_flag, "production", "new-dashboard", description="d"
    )
    await wait_for(lambda: printers and printers[0].output.waiting >= 1, what="a printed line")
    assert out.getvalue() == ""
    os.kill(os.getpid(), signal.SIGTERM)  # the tail's handler, on this loop, takes it
    assert await asyncio.wait_for(task, 10) == 143
    assert len(events_of(out.getvalue())) >= 1


def test_a_reader_that_does_not_read_never_stops_the_monitor(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    # `tail | less`, paused: the pipe fills. The tail must go on reading the stream (the server
    # would otherwise cut it as too slow, and events would be lost or stamped late); what it
    # cannot print is counted and said once the reader reads again (cli/tail_writer.py).
    burst = 60_000  # more than the pipe, the socket buffers and the server's backlog hold
    # Published at 30,000 a second, a burst's rate (benchmarks/tui.py's highest is 20,000): the
    # tail must keep reading at it with its stdout blocked. Unpaced, this thread publishes at
    # the machine's edge (60,000+ a second here), where the server's 10,000-event backlog
    # measures the machine, not whether the tail reads on.
    rate, chunk = 30_000, 1_000
    with tail_process(emulator, tmp_path, read_stdout=False) as tail:
        start = time.monotonic()
        for i in range(burst):
            emulator.world.update_flag("production", "new-dashboard", enabled=bool(i % 2))
            if i % chunk == chunk - 1:  # pace: the next chunk not before its time
                time.sleep(max(0.0, start + (i + 1) / rate - time.monotonic()))
        outbox = emulator.outbox
        wait_until(lambda: outbox.backlog == 0, "the server to have sent the burst")
        assert outbox.slow_cuts == 0 and outbox.open_streams == 1  # read all along
        stdout = tail.proc.stdout
        assert stdout is not None
        printed = 0
        while printed < burst:  # the reader reads again: printed, or said not to be
            line = stdout.readline()
            assert line, "stdout ended"
            printed += json.loads(line)["kind"] == "event"
            said = "".join(tail.err_lines)
            if "fell behind the stream" in said:
                break
        assert "connection broken" not in "".join(tail.err_lines)


def test_count_into_a_reader_already_gone_exits_0_quietly(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    # `tail --count 1 | true`: the last write, made while closing, fails; that is the end of
    # the tail as any closed pipe is, never a traceback.
    with (
        activity(emulator),
        tail_process(emulator, tmp_path, "--count", "1", read_stdout=False) as tail,
    ):
        stdout = tail.proc.stdout
        assert stdout is not None
        stdout.close()  # gone before the first line
        assert tail.proc.wait(WAIT * 3) == 0
    err = "".join(tail.err_lines)
    assert "Traceback" not in err and "CancelledError" not in err


async def test_a_stop_gives_up_a_reader_that_does_not_read_and_says_so(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # `tail | (sleep 70; cat)`, stopped by a supervisor: the stop says at once that lines wait
    # for the reader, waits for it (the grace, short here), then ends 143 saying how many were
    # not written, instead of hanging, silent, until the reader reads again.
    monkeypatch.setattr(tail_module, "STOP_GRACE", 0.5)
    printers = spy_on_printers(monkeypatch)
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)  # full after a few lines
    out = open(write_end, "w")
    err_path = tmp_path / "stderr"
    err = err_path.open("w")
    # The reader reads again at last (or once the test ends): without the bound the stop waits
    # for it, and the test fails on the time it took instead of hanging.
    read_now = threading.Event()
    reader = threading.Thread(target=_drain_later, args=(read_end, read_now, 15.0))
    reader.start()
    try:
        task = asyncio.create_task(
            run_tail(make_profile(emulator), query=None, count=None, as_json=True, out=out, err=err)
        )
        await wait_for(lambda: emulator.open_streams == 1, what="the stream")
        for n in range(100):  # about 20 KB of lines
            await asyncio.to_thread(
                emulator.world.update_flag, "production", "new-dashboard", description=f"d{n}"
            )
        await wait_for(lambda: printers and printers[0].output.unwritten >= 50, what="waiting")
        stopped_at = time.monotonic()
        os.kill(os.getpid(), signal.SIGTERM)
        assert await asyncio.wait_for(task, 30) == 143
        assert time.monotonic() - stopped_at < 10
        said = err_path.read_text()
        assert "printed line(s) wait for stdout's reader, which does not read them" in said
        assert "printed line(s) not written: stdout's reader did not read them" in said
    finally:
        read_now.set()  # the stuck write ends
        wait_until(lambda: not tail_writer.left_writing(), "the writer's thread to end")
        out.close()
        reader.join(10)
        os.close(read_end)
        err.close()


def _drain_later(fd: int, now: threading.Event, seconds: float) -> None:
    now.wait(seconds)
    while os.read(fd, 1 << 16):
        pass
