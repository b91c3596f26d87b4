"""`tail` prints a reconnect's outage before the changes found after it (cli/tail_found.py): the
stream client decides the outage up to a second after LIVE, while the values asked again answer
sooner; their lines wait for the outage (a bounded time), as the feed, `history` and the
exports place them (domain/events.py `outage_time`). Nothing held is lost at an end."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.unit.test_tail_settle_record import Journal
from tests.waits import until
from togul_monitor.cli.render import TailPrinter
from togul_monitor.cli.tail_loop import batches_of, print_updates
from togul_monitor.cli.tail_record import CommittedFirst
from togul_monitor.cli.tail_scope import TailScope
from togul_monitor.cli.times import clock
from togul_monitor.config.entry import Profile
from togul_monitor.core.updates import TransitionRecorded
from togul_monitor.domain.events import ConnectionState, FlagEvent, Outage, Status
from togul_monitor.domain.values import Evaluation, FlagValue, ValueTransition

PROFILE = Profile(name="t", base_url="http://h", environment_key="production")
OFF = Evaluation(False, "boolean", "default", True)
ON = Evaluation(True, "boolean", "default", True)
LIVE, RETRYING = ConnectionState.LIVE, ConnectionState.RETRYING
FIRST = Status(LIVE, 0.0)
BEFORE = FlagEvent("flag.updated", "other", "env-p", 1, 5.0, "1", 5.0)  # live, with ids
LOST = Status(RETRYING, 10.0, 1, 11.0, "server ended the stream")
BACK = Status(LIVE, 20.0)
FOUND = TransitionRecorded(ValueTransition("a", OFF, ON, None, 20.4, includes_unseen=True), False)
# Back at 20, nothing came: decided at 21.
OUTAGE = Outage(10.0, 20.0, 0, True, 21.0)
FOUND_TEXT = "· a (production) [found on re-evaluation]: false → true"


def tail(as_json: bool) -> tuple[TailPrinter, TailScope, io.StringIO]:
    both = io.StringIO()  # stdout and stderr as a terminal shows them: one, in order
    names: dict[str, str] = {}
    printer = TailPrinter(
        both, both, as_json=as_json, environment_names=names, url="", environment_key="production"
    )
    scope = TailScope(
        printer, query=None, environment_key="", known_names=dict, environment_id=lambda: None
    )
    return printer, scope, both


async def script(*items: object) -> AsyncIterator[object]:
    """`items`, then nothing more (the stream stays quiet)."""
    for item in items:
        yield item
    await asyncio.Event().wait()


async def run(printer: TailPrinter, scope: TailScope, items: AsyncIterator[object]) -> int:
    return await asyncio.wait_for(
        print_updates(batches_of(items), PROFILE, printer, scope, count=None, settle_mark=None),
        10,
    )


def place(lines: list[str], *words: str) -> list[int]:
    """Where the first line holding each of `words` is."""
    return [next(i for i, line in enumerate(lines) if word in line) for word in words]


async def test_the_outage_is_printed_before_what_was_found_after_the_reconnect() -> None:
    printer, scope, both = tail(as_json=False)
    stop = Status(ConnectionState.STOPPED, 30.0, error="done")
    await run(printer, scope, script(FIRST, BEFORE, LOST, BACK, FOUND, OUTAGE, stop))
    lines = both.getvalue().splitlines()
    outage, found, live = place(lines, "tail: outage ", FOUND_TEXT, "tail: live since")
    assert live < outage < found, lines


async def test_json_writes_the_outage_line_before_the_found_change() -> None:
    printer, scope, both = tail(as_json=True)
    stop = Status(ConnectionState.STOPPED, 30.0, error="done")
    await run(printer, scope, script(FIRST, BEFORE, LOST, BACK, FOUND, OUTAGE, stop))
    kinds = [json.loads(line)["kind"] for line in both.getvalue().splitlines() if "{" in line]
    assert kinds == ["event", "outage", "found"]


async def test_a_resumed_run_holds_what_is_found_before_its_first_outage() -> None:
    printer, scope, both = tail(as_json=True)
    printer.found.due = True  # the monitor resumes an earlier run's stream (cli/tail.py)
    stop = Status(ConnectionState.STOPPED, 30.0, error="done")
    first = Status(LIVE, 20.0)
    await run(printer, scope, script(first, FOUND, OUTAGE, stop))
    kinds = [json.loads(line)["kind"] for line in both.getvalue().splitlines() if "{" in line]
    assert kinds == ["outage", "found"]


async def test_lost_again_before_the_outage_what_was_found_is_inside_its_window() -> None:
    printer, scope, both = tail(as_json=False)
    stop = Status(ConnectionState.STOPPED, 40.0, error="done")
    again = Status(RETRYING, 20.5, 1, 21.0, "server ended the stream")
    later = Outage(10.0, 21.0, 0, True, 22.0)
    await run(
        printer,
        scope,
        script(FIRST, BEFORE, LOST, BACK, FOUND, again, Status(LIVE, 21.0), later, stop),
    )
    lines = both.getvalue().splitlines()
    found, lost, outage = place(
        lines, FOUND_TEXT, "attempt 1 failed, next try in 0.5", "tail: outage "
    )
    assert found < lost < outage, lines


async def test_without_the_outage_the_lines_wait_a_bounded_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("togul_monitor.cli.tail_found.HOLD_SECONDS", 0.05)
    printer, scope, both = tail(as_json=False)
    task = asyncio.ensure_future(run(printer, scope, script(FIRST, BEFORE, LOST, BACK, FOUND)))
    try:
        await until(lambda: FOUND_TEXT in both.getvalue(), "the found line, without its outage")
        assert printer.found.left() is None  # the wait is over: what is found next is printed
    finally:
        task.cancel()


async def test_a_stop_while_held_prints_what_is_held() -> None:
    printer, scope, both = tail(as_json=False)
    task = asyncio.ensure_future(run(printer, scope, script(FIRST, BEFORE, LOST, BACK, FOUND)))
    await until(lambda: printer.found.held, "the found line held")
    assert FOUND_TEXT not in both.getvalue()  # held: the outage has a second to come
    task.cancel()  # Ctrl-C
    with pytest.raises(asyncio.CancelledError):
        await task
    assert FOUND_TEXT in both.getvalue()


async def test_a_recording_tail_prints_the_outage_first_whenever_the_journal_commits() -> None:
    # Everything waits for the journal's commit in turn (cli/tail_record.py): the found change
    # is committed, handed over and held; the outage, journalled after it, comes a commit later.
    journal = Journal()
    queue: asyncio.Queue[object] = asyncio.Queue()

    async def updates() -> AsyncIterator[object]:
        while True:
            yield await queue.get()

    printer, scope, both = tail(as_json=True)
    committed: Any = CommittedFirst(updates(), lambda: journal)  # type: ignore[arg-type]
    async with committed:
        task = asyncio.ensure_future(run(printer, scope, committed))
        for item in (FIRST, BEFORE, LOST, BACK):
            queue.put_nowait(item)
        journal.appended = 1
        queue.put_nowait(FOUND)
        journal.commit(1)
        await until(lambda: printer.found.held, "the found change held")
        journal.appended = 2
        queue.put_nowait(OUTAGE)
        queue.put_nowait(Status(ConnectionState.STOPPED, 30.0, error="done"))
        journal.commit(2)
        await task
    kinds = [json.loads(line)["kind"] for line in both.getvalue().splitlines() if "{" in line]
    assert kinds == ["event", "outage", "found"]


@pytest.mark.parametrize("as_json", [False, True])
async def test_a_held_change_reads_as_one_found_after_the_outage(as_json: bool) -> None:
    # A resumed run with no event yet: its outage, resumed after the journal's last id, is what
    # says the stream sends ids. The held change's line is made when it is printed, under that
    # outage, and reads as the same change found a moment later does (`--json` too: `found`,
    # as an export writes it, only once ids are known to be sent).
    printer, scope, both = tail(as_json=as_json)
    printer.found.due = True
    stop = Status(ConnectionState.STOPPED, 30.0, error="done")
    await run(printer, scope, script(Status(LIVE, 20.0), FOUND, OUTAGE, FOUND, stop))
    lines = both.getvalue().splitlines()
    changes = [line for line in lines if "[found on" in line or '"kind":"found"' in line]
    assert len(changes) == 2 and changes[0] == changes[1], lines
    assert place(lines, "outage")[0] < lines.index(changes[0])
    if not as_json:
        assert changes[0] == f"  {FOUND_TEXT}"


def test_a_held_value_line_names_the_event_its_answer_answered() -> None:
    # A stream without ids: which event a value is of is known when its answer comes (the value
    # published just before it), not when the line is printed after the outage.
    printer, _, both = tail(as_json=False)
    unnamed = FlagEvent("flag.updated", "a", "production", 7, 5.0, None, 5.0)
    printer.note(FIRST)
    printer.events([unnamed])
    printer.note(LOST)
    printer.note(BACK)
    answer = FlagValue("a", ON, OFF, 20.3, None, False, False, None)
    printer.value(answer)
    printer.transition(FOUND.transition)
    assert printer.found.held == 1
    printer.value(FlagValue("b", ON, OFF, 20.4, None, False, False, None))  # another answer
    printer.note(Outage(10.0, 20.0, None, True, 21.0))
    printer.flush()
    assert both.getvalue().splitlines()[-1].startswith(f"  ↑ a v7 ({clock(5.0)}): false → true")
