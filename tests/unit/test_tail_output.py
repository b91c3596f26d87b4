"""`tail`'s stdout (cli/tail_output.py, cli/render.py): the lines are what they were before the
buffering and msgspec (the same JSON objects, key for key in order, written compactly; the same
human lines), and the buffer is written on its timer, when full, before a stderr line and at
exit."""

from __future__ import annotations

import asyncio
import io
import json
import os
import threading
from pathlib import Path

import pytest

from togul_monitor.cli import tail_output, tail_writer
from togul_monitor.cli.render import TailPrinter
from togul_monitor.cli.times import stamp
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.store.export_json import transition_json, with_environment_key

from ..waits import until

NAMES = {"env-p": "production"}

# Plain ones, and every kind of server text that must stay data: escapes, quotes, non-ASCII
# (escaped as before), DEL, a line separator, an unknown environment, no id, an int timestamp.
EVENTS = [
    FlagEvent("flag.updated", "checkout-v2", "env-p", 3, 1_700_000_000, "9", 1_700_000_001.6),
    FlagEvent("rule.created", "new-dashboard", "env-p", 4, 1_700_000_000.25, None, 1.7e9),
    FlagEvent("flag.updated", 'bad\x1b[2J"key\\', "env-p", 5, 1.5, "\t\x08\x0c\n", 2.0),
    FlagEvent("flag.deleted", "caf\u00e9-\u2028-\x7f", "env-x", 2**62, 0.1, "7", 1e9 + 0.001),
    FlagEvent("x.y", "k", "\u202eenv", 0, -1.0, "", 1_700_000_002.999),
]

OFF = Evaluation(False, "boolean", "default", True)
TRANSITIONS = [
    ValueTransition(
        "checkout-v2", OFF, Evaluation(True, "boolean", "rule_match", True), "9", 1.7e9
    ),
    ValueTransition("bad\x1bkey", None, Evaluation("gr\u00fcn", "string", None, None), None, 1.0),
    ValueTransition("pct", Evaluation(2.5, "number", "x", True), None, "1", 1.0, "premium"),
    ValueTransition("nan", None, Evaluation(float("nan"), "number", "x", True), "2", 1.0),
    ValueTransition("obj", None, Evaluation({"a": [1, 2**70]}, "json", "x", True), "3", 1.0),
]


def printer(as_json: bool, out: io.StringIO | None = None) -> tuple[TailPrinter, io.StringIO]:
    out = out if out is not None else io.StringIO()
    p = TailPrinter(
        out,
        io.StringIO(),
        as_json=as_json,
        environment_names=NAMES,
        url="http://h/s",
        environment_key="production",
    )
    return p, out


def before_json(event: FlagEvent) -> str:
    """The event line as `tail --json` wrote it before: json.dumps of the export's dict."""
    return json.dumps(with_environment_key(event, NAMES, kind="event"), ensure_ascii=True)


@pytest.mark.parametrize("event", EVENTS)
def test_a_json_event_line_is_the_object_it_was(event: FlagEvent) -> None:
    p, out = printer(as_json=True)
    p.event(event)
    line = out.getvalue()
    assert line.endswith("\n") and line.count("\n") == 1
    assert line.isascii() and "\x7f" not in line and "\x1b" not in line
    before = json.loads(before_json(event), object_pairs_hook=list)
    assert json.loads(line, object_pairs_hook=list) == before  # keys, order and values
    # Byte for byte the old line, written compactly.
    compact = json.dumps(json.loads(before_json(event)), ensure_ascii=True, separators=(",", ":"))
    assert line == compact + "\n"


def test_json_transitions_and_their_values_are_the_objects_they_were() -> None:
    p, out = printer(as_json=True)
    for transition in TRANSITIONS:
        p.transition(transition)
    lines = out.getvalue().splitlines()
    assert len(lines) == len(TRANSITIONS)
    for line, transition in zip(lines, TRANSITIONS, strict=True):
        before = json.dumps(transition_json(transition, "production"), ensure_ascii=True)
        assert line.isascii()
        assert (
            json.loads(line, object_pairs_hook=list) == json.loads(before, object_pairs_hook=list)
            or transition.flag_key == "nan"
        )
        assert line == json.dumps(json.loads(before), ensure_ascii=True, separators=(",", ":"))
    assert '"value":NaN' in lines[3]  # as json always wrote it, not msgspec's null
    assert "1180591620717411303424" in lines[4]  # 2**70, exact


def test_human_event_lines_are_the_lines_they_were() -> None:
    p, out = printer(as_json=False)
    for event in EVENTS:
        p.event(event)
    p.event(EVENTS[0])  # the same flag again: the same line
    assert out.getvalue().splitlines() == [
        f"{stamp(1_700_000_001.6)}  flag.updated  checkout-v2  production  v3",
        f"{stamp(1.7e9)}  rule.created  new-dashboard  production  v4",
        f'{stamp(2.0)}  flag.updated  bad\\x1b[2J"key\\  production  v5',
        f"{stamp(1e9)}  flag.deleted  caf\u00e9-\\u2028-\\x7f  env-x  v{2**62}",
        f"{stamp(1_700_000_002.999)}  x.y           k  \\u202eenv  v0",
        f"{stamp(1_700_000_001.6)}  flag.updated  checkout-v2  production  v3",
    ]


def test_a_name_learned_later_is_shown_on_the_next_line() -> None:
    p, out = printer(as_json=False)
    event = FlagEvent("flag.updated", "k", "env-new", 1, 1.0, None, 1.0)
    p.event(event)
    p.environment_names["env-new"] = "qa"
    p.event(event)
    first, second = out.getvalue().splitlines()
    assert first.endswith("  k  env-new  v1") and second.endswith("  k  qa  v1")


# --- buffered --------------------------------------------------------------------------------


class Out(io.StringIO):
    """stdout that counts its writes and flushes, and can be made to fail like a closed pipe."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.flushes = 0
        self.broken = False

    def write(self, text: str) -> int:
        if self.broken:
            raise BrokenPipeError(32, "Broken pipe")
        self.writes += 1
        return super().write(text)

    def flush(self) -> None:
        self.flushes += 1


async def test_buffered_lines_are_written_together_and_on_the_timer() -> None:
    out = Out()
    p, _ = printer(as_json=True, out=out)
    p.output.start(asyncio.get_running_loop(), lambda exc: None)
    for event in EVENTS:
        p.event(event)
    p.transition(TRANSITIONS[0])
    p.event(EVENTS[0])
    assert out.getvalue() == "" and p.output.waiting == len(EVENTS) + 2
    await until(lambda: out.getvalue())  # the timer: nobody flushed
    assert out.writes == 1 and out.flushes == 1 and p.output.waiting == 0
    expected, _ = printer(as_json=True)  # write-through: a write and a flush per line
    for event in EVENTS:
        expected.event(event)
    expected.transition(TRANSITIONS[0])
    expected.event(EVENTS[0])
    assert out.getvalue() == expected.out.getvalue()  # the same lines in the same order


async def test_a_burst_is_written_when_the_buffer_is_full_without_waiting() -> None:
    out = Out()
    p, _ = printer(as_json=False, out=out)
    p.output.start(asyncio.get_running_loop(), lambda exc: None)
    count = 2 * tail_output.FLUSH_BYTES // 50  # human lines are about 60 characters
    for _ in range(count):
        p.event(EVENTS[0])  # no await: the timer cannot have run
    assert p.output.waiting < count / 2  # handed over to the writer, not left for the timer
    p.output.close()
    assert 1 <= out.writes < count / 100
    assert out.getvalue().count("\n") == count


async def test_a_stderr_line_comes_after_the_stdout_lines_before_it() -> None:
    order: list[str] = []

    class Logged(io.StringIO):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

        def write(self, text: str) -> int:
            order.append(f"{self.name} {text.count(chr(10))}")
            return super().write(text)

    out, err = Logged("out"), Logged("err")
    p = TailPrinter(out, err, as_json=True, environment_names=NAMES, url="http://h/s")
    p.output.start(asyncio.get_running_loop(), lambda exc: None)
    p.event(EVENTS[0])
    p.say("outage")
    p.event(EVENTS[1])
    p.output.close()
    assert order == ["out 1", "err 1", "out 1"] and err.getvalue() == "tail: outage\n"


async def test_stderr_is_not_held_behind_a_stdout_pipe_nobody_reads(tmp_path: Path) -> None:
    """stdout a pipe (`tail | less`, paused), stderr another file: what stderr says is written
    at once; with both one file it would keep its place after the stdout lines before it."""
    read_end, write_end = os.pipe()
    out = open(write_end, "w")  # closed below, once the pipe is drained
    err_path = tmp_path / "stderr"
    with err_path.open("w") as err:
        p = TailPrinter(out, err, as_json=True, environment_names=NAMES, url="http://h/s")
        p.output.start(asyncio.get_running_loop(), lambda exc: None)
        for _ in range(1000):  # about 200 KB: more than the pipe holds
            p.event(EVENTS[0])
        p.output.flush()
        p.say("stream down")
        await until(lambda: err_path.read_text() == "tail: stream down\n", "stderr", timeout=5)
        reader = threading.Thread(target=_drain, args=(read_end,))  # the reader reads again
        reader.start()
        p.output.close()
        out.close()
        reader.join(10)
    os.close(read_end)


def _drain(fd: int) -> None:
    while os.read(fd, 1 << 16):
        pass


async def test_a_reader_that_does_not_read_never_blocks_the_loop() -> None:
    # A full pipe blocks a write: the writer's thread waits, the loop goes on; past its bound
    # the writer says so (`room()` waits) instead of growing without end.
    release = threading.Event()

    class Stuck(io.StringIO):
        def write(self, text: str) -> int:
            release.wait(10)
            return super().write(text)

    out = Stuck()
    p, _ = printer(as_json=False, out=out)
    p.output.start(asyncio.get_running_loop(), lambda exc: None)
    lines = 2 * tail_writer.MAX_PENDING // 50
    for _ in range(lines):
        p.event(EVENTS[0])  # each flush hands over and returns: nothing waits on the reader
    room = asyncio.ensure_future(p.output.room())
    for _ in range(3):
        await asyncio.sleep(0)  # the task runs up to its wait
    assert not room.done()  # full: the tail stops taking updates
    release.set()
    await asyncio.wait_for(room, 10)  # the reader caught up
    p.output.close()
    assert out.getvalue().count("\n") == lines


async def test_a_second_stop_gives_up_the_reader_at_once() -> None:
    # A stop waits a few seconds for a reader that does not read; stopped again meanwhile (a
    # second Ctrl-C), the tail gives the lines up now, saying so, and closing does not wait.
    release = threading.Event()

    class Stuck(io.StringIO):
        def write(self, text: str) -> int:
            release.wait(10)
            return super().write(text)

    p, _ = printer(as_json=False, out=Stuck())
    p.output.start(asyncio.get_running_loop(), lambda exc: None)
    said: list[str] = []
    for _ in range(3):
        p.event(EVENTS[0])
    stop = asyncio.ensure_future(p.output.written(said.append, grace=60))
    await until(lambda: said, "the wait said", timeout=5)
    assert said == [
        "stopping: 3 printed line(s) wait for stdout's reader, which does not read them; "
        "waiting 60 s for it"
    ]
    stop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(stop, 5)
    assert (
        said[1] == "stopped: up to 3 printed line(s) not written: stdout's reader did not read them"
    )
    p.output.close()  # returns: the stuck write is left behind
    assert tail_writer.left_writing()
    release.set()
    await until(lambda: not tail_writer.left_writing(), "the write to end", timeout=5)


async def test_a_timed_write_into_a_closed_pipe_is_handed_over() -> None:
    out = Out()
    failures: list[BaseException] = []
    p, _ = printer(as_json=True, out=out)
    p.output.start(asyncio.get_running_loop(), failures.append)
    out.broken = True
    p.event(EVENTS[0])
    await until(lambda: failures)
    assert isinstance(failures[0], BrokenPipeError) and p.output.failure is failures[0]


async def test_close_writes_what_is_left_and_then_writes_through() -> None:
    out = Out()
    p, _ = printer(as_json=True, out=out)
    p.output.start(asyncio.get_running_loop(), lambda exc: None)
    p.event(EVENTS[0])
    p.output.close()
    assert out.getvalue().count("\n") == 1
    p.event(EVENTS[1])
    assert out.getvalue().count("\n") == 2


def test_a_lone_surrogate_in_an_environment_key_is_written_escaped_not_a_crash() -> None:
    out = io.StringIO()
    p = TailPrinter(
        out, io.StringIO(), as_json=True, environment_names={"env-1": "pro\ud800d"},
        url="http://h/s", environment_key="production",
    )  # fmt: skip
    p.event(FlagEvent("flag.updated", "f", "env-1", 1, 1.0, "1", 1.0))
    line = out.getvalue()
    assert line.endswith("\n") and line.isascii()
    assert json.loads(line)["environment_key"] == "pro\ud800d"
