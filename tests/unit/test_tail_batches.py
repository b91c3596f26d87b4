"""`tail` in batches (cli/tail_loop.py, cli/tail_scope.py `events`, cli/tail_output.py
`event_lines` and its bytes under stdout, core/drained.py): what it prints is what the update by
update path printed, line for line, whatever the batches' boundaries."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest

from togul_monitor.cli import render, tail_loop
from togul_monitor.cli.common import EXIT_FAILED
from togul_monitor.cli.render import TailPrinter
from togul_monitor.cli.tail_loop import OneByOne, _settle, print_updates
from togul_monitor.cli.tail_output import TailOutput, buffered, event_lines
from togul_monitor.cli.tail_scope import TailScope
from togul_monitor.config.entry import Profile
from togul_monitor.core.drained import DrainedUpdates
from togul_monitor.core.updates import (
    ConfigsStopped,
    Dropped,
    EvaluatorStatus,
    TransitionRecorded,
    UpdateHub,
    ValueUpdated,
)
from togul_monitor.domain.events import (
    ConnectionState,
    FlagEvent,
    Heartbeat,
    Outage,
    OutageProven,
    Status,
)
from togul_monitor.domain.filters import parse_filter
from togul_monitor.domain.values import Evaluation, FlagValue, ValueTransition

PROFILE = Profile(name="t", base_url="http://h", environment_key="production")
NAMES = {"env-p": "production", "env-s": "staging"}
ON, OFF = (Evaluation(v, "boolean", "x", True) for v in (True, False))


def event(n: int, flag: str = "", env: str = "env-p") -> FlagEvent:
    return FlagEvent("flag.updated", flag or f"f{n % 3}", env, n, 1.7e9 + n / 7, str(n), 1.7e9 + n)


def transition(n: int) -> TransitionRecorded:
    return TransitionRecorded(ValueTransition(f"f{n % 3}", OFF, ON, str(n), 1.0), False)


# Events of two environments (one unnamed), transitions, heartbeats and values in between.
UPDATES: list[object] = [
    Status(ConnectionState.LIVE, 0.0),
    *(event(n) for n in range(5)),
    transition(4),
    Heartbeat(1.0),
    *(event(n, env="env-s" if n % 4 == 0 else "env-p") for n in range(5, 30)),
    ValueUpdated(FlagValue("f1", ON, None, 1.0, None, False, False, None)),
    event(30, env="env-unnamed"),
    transition(29),
    *(event(n) for n in range(31, 40)),
]


class Chunks:
    """`UPDATES` in batches of `size` (a drain's, each commit's)."""

    def __init__(self, items: list[object], size: int) -> None:
        self._items, self._size, self._at = items, size, 0

    async def batch(self, timeout: float | None = None) -> Sequence[object]:
        if self._at >= len(self._items):
            if timeout is None:
                raise StopAsyncIteration
            await asyncio.sleep(0)  # a real wait yields to the loop (and to a test's guard)
            raise asyncio.TimeoutError
        taken = self._items[self._at : self._at + self._size]
        self._at += self._size
        return taken


async def one_by_one(items: list[object]) -> AsyncIterator[object]:
    for item in items:
        yield item


def printer_and_scope(as_json: bool, **scope: Any) -> tuple[TailPrinter, TailScope, io.StringIO]:
    out = io.StringIO()
    printer = TailPrinter(
        out, io.StringIO(), as_json=as_json, environment_names={}, url="http://h/s"
    )
    options = {"query": None, "environment_key": "", **scope}
    tail_scope = TailScope(
        printer, known_names=lambda: NAMES, environment_id=lambda: "env-p", **options
    )
    return printer, tail_scope, out


def reference(items: list[object], *, as_json: bool, count: int | None = None, **scope: Any) -> str:
    """What `tail` printed update by update before the batches: each event the scope keeps,
    each transition it follows; after `--count`, events are skipped and so are their effects."""
    printer, tail_scope, out = printer_and_scope(as_json, **scope)
    printed = 0
    for item in items:
        if isinstance(item, FlagEvent):
            if count is not None and printed >= count:
                tail_scope.skipped(item)
            elif tail_scope.event(item):
                printer.event(item)
                printed += 1
        elif isinstance(item, TransitionRecorded) and tail_scope.transition(item.transition):
            printer.transition(item.transition)
    return out.getvalue()


async def tail(source: Any, *, as_json: bool, count: int | None = None, **scope: Any) -> str:
    printer, tail_scope, out = printer_and_scope(as_json, **scope)
    with buffered(printer.output):
        await print_updates(
            source, PROFILE, printer, tail_scope, count=count, settle_mark=lambda: lambda: True
        )
    return out.getvalue()


@pytest.mark.parametrize("as_json", [True, False])
@pytest.mark.parametrize(
    "scope",
    [
        {},
        {"environment_key": "production"},  # narrowed: env-s's events are not printed
        {"query": parse_filter("flag:f1")},  # a filter: transitions follow the events shown
        {"environment_key": "production", "contexts": ("default",)},
    ],
)
@pytest.mark.parametrize("size", [1, 3, 1000])
async def test_batches_print_what_one_update_at_a_time_printed(
    as_json: bool, scope: dict[str, Any], size: int
) -> None:
    expected = reference(UPDATES, as_json=as_json, **scope)
    assert await tail(OneByOne(one_by_one(UPDATES)), as_json=as_json, **scope) == expected
    got = await tail(Chunks(UPDATES, size), as_json=as_json, **scope)
    assert got == expected
    assert got.count("\n") > 10  # the cases print something to compare


@pytest.mark.parametrize("size", [1, 4, 1000])
async def test_count_stops_on_its_last_event_inside_a_batch(size: int) -> None:
    """`--count 7`: the seventh event printed ends the tail; the rest of its batch is not
    printed, but the transition of a flag whose last event was printed still is."""
    skipped = TransitionRecorded(ValueTransition("g", OFF, ON, "8", 1.0), False)
    items: list[object] = [*(event(n) for n in range(7)), event(7, "g"), event(8, "g")]
    items += [transition(6), skipped]
    expected = reference(items, as_json=True, count=7)
    got = await tail(Chunks(items, size), as_json=True, count=7)
    assert got == expected
    lines = got.splitlines()
    assert len(lines) == 8 and '"kind":"transition"' in lines[-1]
    assert '"flag_key":"f0"' in lines[-1] and '"event_id":"6"' in lines[-1]


def test_event_lines_are_the_printers_lines() -> None:
    events = [event(1), event(2, env="env-s"), event(3, env="nobody"), event(4, "caf\u00e9")]
    out = io.StringIO()
    printer = TailPrinter(out, io.StringIO(), as_json=True, environment_names=NAMES, url="u")
    for one in events:
        printer.event(one)
    bulk = TailOutput(io.StringIO())
    bulk.events(event_lines(events, NAMES))
    assert isinstance(bulk.out, io.StringIO)
    assert bulk.out.getvalue() == out.getvalue()


def test_scope_events_is_event_by_event() -> None:
    events = [event(n, env="env-s" if n % 3 == 0 else "env-p") for n in range(12)]
    events.append(event(12, env="env-new"))

    def scope(key: str) -> TailScope:
        return TailScope(
            TailPrinter(
                io.StringIO(), io.StringIO(), as_json=True, environment_names=NAMES, url="u"
            ),
            query=None,
            environment_key=key,
            known_names=lambda: {**NAMES, "env-new": "new"},
            environment_id=lambda: "env-p",
        )

    for key in ("", "production"):
        bulk, one = scope(key), scope(key)
        assert list(bulk.events(events)) == [e for e in events if one.event(e)]
        # It learned the new environment's name as the event by event path did.
        assert bulk.printer.environment_names == one.printer.environment_names


async def test_stdout_bytes_are_the_text_it_wrote() -> None:
    """Under a real stdout the JSON event lines go to its byte stream: the same bytes, in order
    with the text lines around them (a non-ASCII key still escaped, as json.dumps did)."""
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding="utf-8")
    text = io.StringIO()
    outputs = [TailOutput(stdout), TailOutput(text)]
    for output in outputs:
        output.start(asyncio.get_running_loop(), lambda exc: None)
        output.events(event_lines([event(1), event(2, "caf\u00e9")], NAMES))
        output.line("  \u21b3 f1: off \u2192 on")
        output.events(event_lines([event(3)], NAMES))
        output.close()
    assert raw.getvalue() == text.getvalue().encode("utf-8")
    assert "caf\\u00e9" in text.getvalue() and text.getvalue().count("\n") == 4


async def test_drained_updates_come_in_batches_and_no_wake_is_lost() -> None:
    hub = UpdateHub(1000)
    drained = DrainedUpdates(hub.drain)
    hub.enable_drain(drained.wake)
    with pytest.raises(asyncio.TimeoutError):
        await drained.batch(0.01)
    waiting = asyncio.ensure_future(drained.batch())
    await asyncio.sleep(0)  # it waits for a wake
    hub.publish_rows([event(1), event(2)])
    hub.publish(transition(2))
    assert not waiting.done()  # published, not committed: not handed over yet
    hub.commit()
    assert await asyncio.wait_for(waiting, 1) == [event(1), event(2), transition(2)]
    hub.publish_rows([event(3)])
    hub.commit()  # a commit right after a drain wakes again
    assert await drained.batch(1) == [event(3)]
    hub.publish_rows([event(4), event(5)])
    hub.commit()
    assert await anext(drained) == event(4)  # one by one, for a reader that wants that
    assert await drained.batch(1) == [event(5)]


async def test_tail_json_behind_the_stream_prints_the_outage_it_proves_and_where_it_lost() -> None:
    # The monitor's drain overflows on a burst that holds an outage: its line is printed, in
    # order, and so is a line where events were lost; then its later proof (README, tail).
    hub = UpdateHub(max_pending=3)
    hub.enable_drain()
    t0 = 1.7e9
    hub.publish(Status(ConnectionState.LIVE, at=t0))
    hub.publish_rows([event(1), event(2)])
    hub.publish(Status(ConnectionState.RETRYING, at=t0 + 2, error="server ended the stream"))
    hub.publish(Status(ConnectionState.LIVE, at=t0 + 3))
    hub.publish_rows([Outage(t0 + 2, t0 + 3, 0, True, t0 + 4)])
    hub.publish_rows([event(9)])
    hub.commit()
    first = hub.drain()
    hub.publish(OutageProven(Outage(t0 + 2, t0 + 3, 0, False, t0 + 4, proven_at=t0 + 6)))
    hub.commit()
    printed = await tail(Chunks(first + hub.drain(), 100), as_json=True)
    lines = [json.loads(line) for line in printed.splitlines()]
    assert [line["kind"] for line in lines] == [
        "event",
        "event",
        "outage",
        "dropped",
        "outage_proven",
    ]
    assert lines[3] == {"kind": "dropped", "events": 1, "other_updates": 0}


async def test_what_the_drain_dropped_is_said_and_a_stop_after_it_still_ends_tail() -> None:
    err = io.StringIO()
    printer = TailPrinter(io.StringIO(), err, as_json=True, environment_names={}, url="http://h/s")
    scope = TailScope(
        printer,
        known_names=lambda: NAMES,
        environment_id=lambda: "env-p",
        query=None,
        environment_key="",
    )
    items: list[object] = [
        Status(ConnectionState.LIVE, 0.0),
        event(1),
        Dropped(updates=7, rows=5, events=5),
        Status(ConnectionState.STOPPED, 2.0, error="monitor failed: RuntimeError: boom"),
    ]
    with buffered(printer.output):
        code = await asyncio.wait_for(
            print_updates(
                Chunks(items, 4),
                PROFILE,
                printer,
                scope,
                count=None,
                settle_mark=lambda: lambda: True,
            ),
            5,
        )
    assert code == EXIT_FAILED
    assert "5 event(s) and 2 other update(s) were not printed" in err.getvalue()
    assert "monitor failed" in err.getvalue()


async def test_count_exits_after_the_linger_though_later_events_keep_the_evaluator_busy() -> None:
    # After the last event printed, the stream goes on: the events skipped make the evaluator
    # busy again right after it was idle. The exit waits for one quiet instant and the linger,
    # not for a second quiet instant (which a busy stream never gives before the timeout).
    printer, scope, _ = printer_and_scope(True)
    answers = iter([True])
    await asyncio.wait_for(
        _settle(
            Chunks([event(n) for n in range(50)], 5),
            [],
            printer,
            scope,
            lambda: next(answers, False),
            timeout=3600.0,
            linger=0.0,
        ),
        5,
    )


@pytest.mark.parametrize("answered", [True, False])
async def test_count_says_when_it_stops_waiting_for_the_last_events_effects(
    answered: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tail_loop, "SETTLE_SECONDS", 0.05)
    printer, scope, out = printer_and_scope(False)
    err = io.StringIO()
    printer.err = err
    marks: list[int] = []

    def settle_mark() -> Callable[[], bool]:
        marks.append(printer.output.waiting)  # made once the count is printed
        return lambda: answered

    with buffered(printer.output):
        code = await asyncio.wait_for(
            print_updates(
                Chunks([event(n) for n in range(10)], 4),
                PROFILE,
                printer,
                scope,
                count=5,
                settle_mark=settle_mark,
            ),
            5,
        )
    assert code == 0 and marks == [5]
    said = "the last events caused had answered (--count waits at most 0.05 s)"
    assert (said in err.getvalue()) is not answered


async def test_a_failing_evaluator_is_said_on_stderr_once_a_minute_per_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    printer, scope, out = printer_and_scope(True)
    err = io.StringIO()
    printer.err = err
    clock = [1000.0]
    monkeypatch.setattr(render.time, "monotonic", lambda: clock[0])
    unavailable = EvaluatorStatus(False, "evaluate failed: HTTP 503 unavailable")

    async def run(items: list[object]) -> None:
        items = [*items, Status(ConnectionState.STOPPED, 2.0, error="monitor failed: boom")]
        with buffered(printer.output):
            await asyncio.wait_for(
                print_updates(
                    Chunks(items, 2), PROFILE, printer, scope, count=None, settle_mark=None
                ),
                5,
            )

    # One flag keeps failing among others that answer: the status flips at every answer.
    await run([event(1), *[unavailable, EvaluatorStatus(True, None)] * 5])
    clock[0] += 61.0  # a minute later the same failure is said again
    rejected = "evaluate refused the credentials (\x1b[31mno\x1b[0m)"
    await run([unavailable, EvaluatorStatus(False, rejected, True)])
    said = [line for line in err.getvalue().splitlines() if "evaluat" in line]
    where = "value changes are not shown where it fails, until it answers again"
    assert said == [
        f"tail: evaluate failed: HTTP 503 unavailable: {where}",
        f"tail: evaluate failed: HTTP 503 unavailable: {where}",
        "tail: evaluate refused the credentials (\\x1b[31mno\\x1b[0m): value changes are no "
        "longer shown",
    ]
    assert "\x1b" not in err.getvalue()  # server text is data
    assert out.getvalue().count("\n") == 1  # the event; nothing of this on stdout


async def test_the_count_stops_the_stream_before_the_settle() -> None:
    """At `--count` the tail stops reading (the monitor's `stop_reading`): once, after the last
    event printed and the mark of what those events caused, before the settle waits for it (the
    stop's last flush may apply events never printed: their effects are not owed)."""
    order: list[str] = []
    printer, tail_scope, out = printer_and_scope(True)

    async def stop_reading() -> None:
        lines = out.getvalue().count("\n") + printer.output.waiting  # written or buffered
        order.append(f"stop after {lines} lines")

    def settle_mark() -> Callable[[], bool]:
        order.append("mark")

        def settled() -> bool:
            if order[-1] != "settle":
                order.append("settle")
            return True

        return settled

    events = [item for item in UPDATES if isinstance(item, FlagEvent)][:5]
    with buffered(printer.output):
        code = await print_updates(
            OneByOne(one_by_one(events)),
            PROFILE,
            printer,
            tail_scope,
            count=3,
            settle_mark=settle_mark,
            stop_reading=stop_reading,
        )
    assert code == 0
    assert order == ["mark", "stop after 3 lines", "settle"]


async def test_configurations_stopped_is_said_once_a_minute_though_each_outage_repeats_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each outage's re-fetch tries the refused token once more and halts again: a stream that
    drops now and then must not repeat the line at each drop."""
    printer, scope, _ = printer_and_scope(True)
    err = io.StringIO()
    printer.err = err
    clock = [1000.0]
    monkeypatch.setattr(render.time, "monotonic", lambda: clock[0])
    refused = ConfigsStopped("management API answered HTTP 401 (\x1b[2Jtoken expired)")
    items = [event(1), refused, event(2), refused, refused]
    items.append(Status(ConnectionState.STOPPED, 2.0, error="monitor failed: boom"))
    with buffered(printer.output):
        await asyncio.wait_for(
            print_updates(Chunks(items, 2), PROFILE, printer, scope, count=None, settle_mark=None),
            5,
        )
    said = [line for line in err.getvalue().splitlines() if "configuration diffs" in line]
    assert said == [
        "tail: configuration diffs are no longer shown: management API answered HTTP 401 "
        "(\\x1b[2Jtoken expired)"
    ]


async def test_a_stop_says_the_events_it_leaves_unprinted() -> None:
    # Ctrl-C or SIGTERM: what the monitor had received and not handed over is said (those the
    # filter would have printed), and what a full buffer dropped (cli/tail.py).
    waiting: list[Any] = [event(1, "a"), transition(1), event(2, "b"), Dropped(7, 7, 5)]
    printer, scope, _ = printer_and_scope(False, query=parse_filter("flag:a"))
    err = io.StringIO()
    printer.err = err
    tail_loop.say_unprinted(DrainedUpdates(lambda: list(waiting)), printer, scope)
    assert err.getvalue().splitlines() == [
        "tail: fell behind the stream: 5 event(s) and 2 other update(s) were not printed",
        "tail: stopped: 1 event(s) received were not printed",
    ]
    scope.finished = True  # past --count: what follows is not printed by design
    tail_loop.say_unprinted(DrainedUpdates(lambda: list(waiting)), printer, scope)
    assert len(err.getvalue().splitlines()) == 2


def test_an_api_key_stream_prints_an_event_of_another_environment() -> None:
    # A key's stream carries its environment only: one of another is an anomaly to show (the
    # journal has it too), never one to drop unsaid. A token's stream is narrowed as asked.
    stray = event(1, env="env-s")
    _, key_scope, _ = printer_and_scope(False, environment_key="production", org_wide=False)
    assert key_scope.event(stray) and list(key_scope.events([stray, event(2)])) == [
        stray,
        event(2),
    ]
    _, token_scope, _ = printer_and_scope(False, environment_key="production", org_wide=True)
    assert not token_scope.event(stray) and token_scope.event(event(2))
