"""A recording `tail --count` at its end (cli/tail_record.py `answered_and_committed`, with
cli/tail_loop.py's `_settle`): the transition the last answer made is printed however the
journal's commits fall around it. Updates are printed only once journalled, so the settle must
not end while the transition's row waits for a commit: on a busy stream something is always
held, so "nothing held" cannot be the test either."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from togul_monitor.cli.render import TailPrinter
from togul_monitor.cli.tail_loop import _settle
from togul_monitor.cli.tail_record import CommittedFirst, answered_and_committed
from togul_monitor.cli.tail_scope import TailScope
from togul_monitor.core.updates import (
    ConfigsStopped,
    RecordingTaken,
    TransitionRecorded,
    ValueUpdated,
)
from togul_monitor.domain.events import FlagEvent, Heartbeat
from togul_monitor.domain.values import Evaluation, FlagValue, ValueTransition

from ..waits import until

ON, OFF = (Evaluation(v, "boolean", "x", True) for v in (True, False))


class Journal:
    """What `CommittedFirst` and the settle read of a journal: rows appended, rows committed."""

    def __init__(self) -> None:
        self.appended = 0
        self.committed = 0
        self.write_error = None
        self._listeners: list[Callable[[], None]] = []

    def written(self, mark: int) -> bool:
        return mark <= self.committed

    def add_listener(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        self._listeners.remove(listener)

    def commit(self, upto: int) -> None:
        self.committed = upto
        for listener in self._listeners:
            listener()


@pytest.mark.parametrize("commit", ["after the drain", "before the drain"])
async def test_the_last_answers_transition_is_printed_whenever_its_commit_lands(
    commit: str,
) -> None:
    journal = Journal()
    queue: asyncio.Queue[object] = asyncio.Queue()

    async def updates() -> AsyncIterator[object]:
        while True:
            yield await queue.get()

    out = io.StringIO()
    printer = TailPrinter(out, io.StringIO(), as_json=True, environment_names={}, url="http://h")
    scope = TailScope(
        printer, query=None, environment_key="", known_names=dict, environment_id=lambda: "e"
    )
    answered = False
    committed: Any = CommittedFirst(updates(), lambda: journal)  # type: ignore[arg-type]
    async with committed:
        # An event after the last one printed: appended, handed over, not committed yet.
        journal.appended = 1
        queue.put_nowait(FlagEvent("flag.updated", "g", "e", 9, 0.0, "9", 0.0))
        settled = answered_and_committed(
            lambda: answered,
            lambda: journal,  # type: ignore[arg-type,return-value]
        )
        settle = asyncio.create_task(_settle(committed, [], printer, scope, settled, timeout=5))
        # The owed evaluation answers: its transition's row is appended, and the writer's
        # previous batch commits (which wakes the tail) before the drain hands the transition
        # over (at the monitor's next commit).
        answered = True
        journal.appended = 2
        journal.commit(1)
        transition = ValueTransition("f", OFF, ON, "5", 1.0)
        if commit == "before the drain":
            journal.commit(2)
            queue.put_nowait(TransitionRecorded(transition, False))
        else:
            queue.put_nowait(TransitionRecorded(transition, False))
            await until(queue.empty, poll=0)
            assert not settled()  # its row is not committed: the settle waits for it
            assert not settle.done()
            journal.commit(2)
            assert settled()
        assert await settle  # settled, nothing to say on stderr
    assert '"kind":"transition"' in out.getvalue()


async def test_configurations_stopped_waits_behind_what_was_journalled_before_it() -> None:
    """tail prints it (cli/tail_loop.py): like every line it prints, it comes after the rows
    appended before it are committed, never ahead of the diffs and events they hold."""
    journal = Journal()
    queue: asyncio.Queue[object] = asyncio.Queue()

    async def updates() -> AsyncIterator[object]:
        while True:
            yield await queue.get()

    committed: Any = CommittedFirst(updates(), lambda: journal)  # type: ignore[arg-type]
    async with committed:
        journal.appended = 1  # the event's row: appended, not committed yet
        event = FlagEvent("flag.updated", "g", "e", 9, 0.0, "9", 0.0)
        queue.put_nowait(event)
        queue.put_nowait(ConfigsStopped("HTTP 401"))
        await until(queue.empty, poll=0)  # both read: held behind the uncommitted row, none passing
        assert [update for _, update in committed._held] == [event, ConfigsStopped("HTTP 401")]
        assert not committed._passing
        journal.commit(1)
        assert await committed.__anext__() is event
        assert await committed.__anext__() == ConfigsStopped("HTTP 401")


async def test_recording_taken_waits_behind_the_events_that_came_before_it() -> None:
    """tail says `recording now` (cli/tail_loop.py): before, it passed the journal's commits and
    was said ahead of the events published before it, which wait for the journal taken over."""
    journal = Journal()
    queue: asyncio.Queue[object] = asyncio.Queue()

    async def updates() -> AsyncIterator[object]:
        while True:
            yield await queue.get()

    committed: Any = CommittedFirst(updates(), lambda: journal)  # type: ignore[arg-type]
    async with committed:
        journal.appended = 1  # the event's row (handed over to the journal): not committed yet
        event = FlagEvent("flag.updated", "g", "e", 9, 0.0, "9", 0.0)
        queue.put_nowait(event)
        queue.put_nowait(RecordingTaken(1.0))
        queue.put_nowait(Heartbeat(0.0))  # tail ignores it: it passes at once
        await until(queue.empty, poll=0)
        assert await committed.batch() == [Heartbeat(0.0)]
        journal.commit(1)
        assert await committed.batch() == [event, RecordingTaken(1.0)]


async def test_an_answer_waits_behind_the_events_journalled_before_it() -> None:
    """A value's answer tells the text lines that an event printed before it was evaluated on
    its own (cli/tail_marks.py): let through ahead of that event, it would be taken for an
    answer that came before it, and the event's merge into the next one would go unsaid."""
    journal = Journal()
    queue: asyncio.Queue[object] = asyncio.Queue()

    async def updates() -> AsyncIterator[object]:
        while True:
            yield await queue.get()

    committed: Any = CommittedFirst(updates(), lambda: journal)  # type: ignore[arg-type]
    async with committed:
        journal.appended = 1
        event = FlagEvent("flag.updated", "g", "e", 9, 0.0, "9", 0.0)
        answer = ValueUpdated(FlagValue("g", ON, OFF, 1.0, "9", False, False, None))
        queue.put_nowait(event)
        queue.put_nowait(answer)
        await until(queue.empty, poll=0)
        assert [update for _, update in committed._held] == [event, answer]
        journal.commit(1)
        assert await committed.batch() == [event, answer]


async def test_a_reader_held_back_leaves_the_updates_in_the_drain_buffer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A recording tail whose reader does not read (cli/tail_writer.py) stops taking updates;
    # CommittedFirst must stop too at its bound, so the monitor's bounded buffer drops and
    # counts what overflows, instead of this one growing for as long as the reader sleeps.
    from togul_monitor.cli import tail_record
    from togul_monitor.core.drained import DrainedUpdates

    monkeypatch.setattr(tail_record, "MAX_KEPT", 10, raising=False)
    journal = Journal()
    buffer = [FlagEvent("flag.updated", "f", "e", n, 0.0, str(n), 0.0) for n in range(100)]

    def drain() -> list[object]:
        taken, buffer[:] = buffer[:4], buffer[4:]
        return taken

    source = DrainedUpdates(drain)  # type: ignore[arg-type]
    committed: Any = CommittedFirst(source, lambda: journal)  # type: ignore[arg-type]
    async with committed:
        source.wake()
        await until(lambda: len(buffer) <= 100 - 12)  # three drains of four, then it waits
        for _ in range(5):
            await asyncio.sleep(0)  # it would drain again here if it did not wait
        assert len(buffer) == 88  # held back: the rest stays in the drain buffer
        taken = await committed.batch()  # the reader takes: room again, it drains on
        assert len(taken) == 12
        await until(lambda: len(buffer) <= 88 - 12)


async def test_after_a_takeover_what_comes_waits_for_the_journal_recorded_now() -> None:
    # A tail that only read (another process recorded the profile) takes the recording over
    # once that process has gone (core/takeover.py). Before, it went on waiting for the journal
    # it had at its start, read only, whose marks are all written at once: what it printed from
    # then on had not been committed.
    reading, recording = Journal(), Journal()  # nothing is ever appended to the read one
    journals = [reading]
    queue: asyncio.Queue[object] = asyncio.Queue()

    async def updates() -> AsyncIterator[object]:
        while True:
            yield await queue.get()

    def event(version: int) -> FlagEvent:
        return FlagEvent("flag.updated", "f", "e", version, 0.0, str(version), 0.0)

    committed: Any = CommittedFirst(updates(), lambda: journals[-1])  # type: ignore[arg-type]
    async with committed:
        queue.put_nowait(event(1))
        assert await committed.batch() == [event(1)]  # read only: nothing to wait for

        journals.append(recording)  # taken over: the monitor records into it from now on
        recording.appended = 1  # the next event's row, not committed yet
        queue.put_nowait(event(2))
        queue.put_nowait(Heartbeat(0.0))  # needs no journal: passes at once
        await until(queue.empty, poll=0)
        assert await committed.batch() == [Heartbeat(0.0)]  # the event waits for the commit
        recording.commit(1)
        assert await committed.batch() == [event(2)]
    assert not recording._listeners and not reading._listeners
