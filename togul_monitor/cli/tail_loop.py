"""`tail`'s loop over the monitor's updates (cli/tail.py): what is printed, when it stops.

The updates come in batches: a headless monitor hands its drain buffer over at each commit
(core/drained.py), so under a burst a batch holds the events of several network reads. A run of
events is decided by the scope and turned into output lines at once (cli/tail_scope.py
`events`, cli/render.py `TailPrinter.events`): per event that is a few C-level steps, where one
`await` and three calls per event cost about as much as reading the stream. Anything else
(transitions, configuration diffs, the stream's status) is handled item by item, in order. A
plain async iterator of updates (`tail --record`'s `CommittedFirst`, tests) is read one update
a batch.

Once a lost stream is back, the lines of changes found before its outage is decided wait for the
outage (cli/tail_found.py): meanwhile the loop reads with the time they may still wait, and
prints them when it is up, or when the tail ends however it ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Container, Sequence
from itertools import compress, repeat
from operator import is_not
from typing import Protocol, cast

from togul_monitor.cli.common import (
    EXIT_CREDENTIALS,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    stream_rejected_words,
)
from togul_monitor.cli.render import TailPrinter
from togul_monitor.cli.tail_record import CommittedFirst
from togul_monitor.cli.tail_scope import TailScope
from togul_monitor.client.stream import CONNECT_TIMEOUT
from togul_monitor.config.entry import Profile
from togul_monitor.core.drained import DrainedUpdates
from togul_monitor.core.stream_factory import read_timeout
from togul_monitor.core.updates import (
    RECORDING_TAKEN,
    ConfigChanged,
    ConfigsStopped,
    Dropped,
    EvaluatorStatus,
    Noticed,
    RecordingTaken,
    TransitionRecorded,
    ValueUpdated,
)
from togul_monitor.domain.events import (
    ConnectionState,
    FlagEvent,
    Malformed,
    Outage,
    OutageProven,
    PossibleGap,
    Status,
)
from togul_monitor.support.text import safe_text

SETTLE_SECONDS = 5.0  # --count: longest wait for what the last events caused (values, diffs)
#: Seconds an attempt may go unanswered before `tail` says so (once until the stream is live): a
#: server that took the connection and sends nothing is given up only at the read timeout.
NO_ANSWER_SAID = 5.0


class Batches(Protocol):
    async def batch(self, timeout: float | None = None) -> Sequence[object]:
        """The next updates (at least one), oldest first; asyncio.TimeoutError when none came
        within `timeout` seconds, StopAsyncIteration when there will be none."""
        ...


class OneByOne:
    """An async iterator of updates as `Batches` of one (cancellable: `CommittedFirst` and an
    `UpdateStream` lose nothing to a timeout)."""

    def __init__(self, items: AsyncIterator[object]) -> None:
        self._items = items

    async def batch(self, timeout: float | None = None) -> Sequence[object]:
        if timeout is None:
            return (await anext(self._items),)
        return (await asyncio.wait_for(anext(self._items), timeout),)


def batches_of(items: AsyncIterator[object]) -> Batches:
    """`items` as batches: the monitor's drain and `CommittedFirst` hand over all that is
    ready at once; any other async iterator, one update a batch."""
    if isinstance(items, (DrainedUpdates, CommittedFirst)):
        return items
    return OneByOne(items)


def say_unprinted(source: Batches, printer: TailPrinter, scope: TailScope) -> None:
    """At a stop (Ctrl-C, SIGTERM): what `source` holds and has not handed over, said: the
    events the tail would have printed, and what a full buffer dropped. Nothing once `--count`
    is reached (what comes after it is not printed by design)."""
    if scope.finished or not isinstance(source, (DrainedUpdates, CommittedFirst)):
        return
    waiting = source.waiting()
    for update in waiting:
        if isinstance(update, Dropped):
            printer.dropped(update)
    left = sum(1 for u in waiting if u.__class__ is FlagEvent and scope.would_print(u))
    if left:
        journalled = isinstance(source, CommittedFirst) and source.journal() is not None
        kept = ", which the journal records" if journalled else ""
        printer.say(f"stopped: {left:,} event(s) received were not printed{kept}")


class _GaveUp(Exception):
    pass


class _NoAnswer(Exception):
    pass


async def _next(
    source: Batches,
    down_since: float | None,
    give_up_after: float | None,
    hold: float | None,
    no_answer_at: float | None = None,
) -> Sequence[object]:
    """The next updates; `_GaveUp` when the stream has been down since `down_since` (loop time)
    for `give_up_after` seconds; `_NoAnswer` when none came by `no_answer_at` (loop time); none
    when found lines are held (cli/tail_found.py) and `hold` seconds passed first;
    StopAsyncIteration at the end."""
    if hold is not None:  # live (a status that is not lets them go): no giving up
        try:
            return await source.batch(max(hold, 0.001))  # what waits is read first
        except asyncio.TimeoutError:
            return ()
    give_up = None
    if give_up_after is not None and down_since is not None:
        give_up = down_since + give_up_after
    deadline = min((at for at in (give_up, no_answer_at) if at is not None), default=None)
    if deadline is None:
        return await source.batch()
    # Past the time (the reader held the tail back, say): what already waits is read first,
    # a status there may say the stream is live again.
    left = max(deadline - asyncio.get_running_loop().time(), 0.001)
    try:
        return await source.batch(left)
    except asyncio.TimeoutError:
        raise (_GaveUp if deadline == give_up else _NoAnswer) from None


def _runs(batch: Sequence[object]) -> list[tuple[int, int]]:
    """(start, end) of the runs of consecutive events in `batch` and of each other update alone,
    in order. Where the other updates are is found in C (no class derives from FlagEvent): a
    burst's batch holds thousands of events and a handful of other updates, or none."""
    others = compress(range(len(batch)), map(is_not, map(type, batch), repeat(FlagEvent)))
    runs: list[tuple[int, int]] = []
    start = 0
    for index in others:
        if start < index:
            runs.append((start, index))
        runs.append((index, index + 1))
        start = index + 1
    if start < len(batch):
        runs.append((start, len(batch)))
    return runs


def _print_effect(item: object, printer: TailPrinter, scope: TailScope) -> bool:
    """An event's effect (a value transition, a flag's first value, a configuration diff)
    printed when the scope follows it, or that the evaluator fails or the diffs stopped
    (without it a tail would go quiet about values or diffs and never say why); whether `item`
    was one of them."""
    if isinstance(item, EvaluatorStatus):
        printer.evaluator(item)
        return True
    if isinstance(item, TransitionRecorded):
        if scope.transition(item.transition):
            printer.transition(item.transition)
        return True
    if isinstance(item, ValueUpdated):
        printer.value(item.value)  # an answer: an event printed before it was not merged
        if item.first and scope.first_value(item.value):
            printer.first_value(item.value)
        return True
    if isinstance(item, ConfigChanged):
        if scope.follows(item.diff.flag_key, item.diff.event_id):
            printer.config_change(item.diff, item.event, item.at)
        return True
    if isinstance(item, ConfigsStopped):  # or diffs would just stop, unexplained
        printer.configs_stopped(item.error, item.hint)
        return True
    return False


async def print_updates(
    source: Batches,
    profile: Profile,
    printer: TailPrinter,
    scope: TailScope,
    *,
    count: int | None,
    settle_mark: Callable[[], Callable[[], bool]] | None,
    give_up_after: float | None = None,
    configuration_error: Callable[[], object] = lambda: None,
    stop_reading: Callable[[], Awaitable[object]] | None = None,
    started_at: float | None = None,
    said: Container[str] = (),
) -> int:
    """Print what `source` brings until `count` printed events (then `_settle` until the test
    `settle_mark()` makes at that moment passes), a stop, or `give_up_after` seconds without a
    live stream (counted from `started_at`, loop time, when the tail began); the exit code. At
    the count `stop_reading()` ends the stream: during a burst, what came after would only cost
    the settle CPU, and a recording tail's journal the time to commit it all before the exit.
    `said`: the monitor's notices printed at the start (not again when their `Noticed` comes)."""
    try:
        loop = asyncio.get_running_loop()
        down_since: float | None = loop.time() if started_at is None else started_at  # not live
        printed = 0
        found = printer.found
        waiting: float | None = None  # when an attempt began that nothing has answered yet
        no_answer_said = False  # since the stream was last live: a dead host is said once
        while True:
            # A reader that does not read: stop taking updates while the writer is full; the
            # monitor goes on and drops what overflows its own buffer, which is said (`Dropped`).
            await printer.output.room()
            no_answer_at = None if waiting is None else waiting + NO_ANSWER_SAID
            try:
                batch = await _next(source, down_since, give_up_after, found.left(), no_answer_at)
            except StopAsyncIteration:
                return EXIT_FAILED
            except _NoAnswer:
                waiting, no_answer_said = None, True
                read = read_timeout(profile)
                printer.say(
                    f"no answer yet, {NO_ANSWER_SAID:g} s after connecting (an attempt is given "
                    f"up when the connection is not made in {CONNECT_TIMEOUT:g} s, or nothing "
                    f"comes on it for {read:g} s, then made again)"
                )
                continue
            except _GaveUp:
                assert give_up_after is not None
                why = f"; last error: {printer.last_error}" if printer.last_error else ""
                printer.say(
                    f"giving up: the stream has not been live for {give_up_after:g} s "
                    f"(--give-up-after){why}"
                )
                return EXIT_FAILED
            for start, end in _runs(batch):
                item = batch[start]
                if item.__class__ is FlagEvent:
                    run = cast("Sequence[FlagEvent]", batch[start:end])
                    if count is not None and printed + len(run) >= count:
                        # The run that reaches `--count`: event by event, to stop on the last one.
                        for index, event in enumerate(run, start):
                            if scope.event(event):
                                printer.event(event)
                                printed += 1
                                if printed >= count:
                                    scope.finished = True
                                    printer.release_found()  # before what settling prints
                                    # The mark first: the stop's last flush may apply events never
                                    # printed, whose effects are not waited for.
                                    settled = settle_mark() if settle_mark is not None else None
                                    if stop_reading is not None:
                                        await stop_reading()
                                    if settled is not None:
                                        rest = batch[index + 1 :]
                                        await _settle_or_say(source, rest, printer, scope, settled)
                                    return _count_reached(printer, configuration_error)
                        continue
                    shown = scope.events(run)
                    printer.events(shown)
                    printed += len(shown)
                    continue
                if _print_effect(item, printer, scope):
                    continue
                if isinstance(item, Dropped):
                    printer.dropped(item)
                    continue
                if isinstance(item, RecordingTaken):  # it said `not recording` at its start
                    printer.say(RECORDING_TAKEN)
                    continue
                if isinstance(item, Noticed):  # a renewed token not written back, say
                    if item.text not in said:
                        printer.say(safe_text(item.text))
                    continue
                if not isinstance(item, (Status, Outage, OutageProven, Malformed, PossibleGap)):
                    continue  # value bookkeeping and heartbeats: not worth a line
                printer.note(item)
                if isinstance(item, Status):
                    answered = item.state is not ConnectionState.CONNECTING or item.error
                    no_answer_said &= item.state is not ConnectionState.LIVE
                    waiting = None if answered or no_answer_said else loop.time()
                    if item.state is ConnectionState.LIVE:
                        down_since = None
                    elif down_since is None:
                        down_since = loop.time()
                if isinstance(item, Status) and item.state is ConnectionState.STOPPED:
                    if item.credentials_rejected:  # one line: the stop's own is not said
                        printer.say(stream_rejected_words(profile, item.error))
                        return EXIT_CREDENTIALS
                    return EXIT_USAGE if configuration_error() is not None else EXIT_FAILED
            if found.overdue():  # no outage came in time: printed without it (per batch)
                printer.release_found()
    finally:
        printer.release_found()  # held while an outage was decided: never lost (Ctrl-C, an end)


def _count_reached(printer: TailPrinter, configuration_error: Callable[[], object]) -> int:
    """`--count`'s exit: 0, unless the stream proved the profile wrong meanwhile (a key of
    another environment, found by the check made again once events came: core/environment.py),
    which a script must not take for success."""
    error = configuration_error()
    if error is None:
        return EXIT_OK
    printer.say(safe_text(str(error)))
    return EXIT_USAGE


async def _settle_or_say(
    source: Batches,
    rest: Sequence[object],
    printer: TailPrinter,
    scope: TailScope,
    settled: Callable[[], bool],
) -> None:
    """`_settle` until `settled` (the mark made at the count); when the wait ends before it
    passes (the time is up, the stream stopped), say that effects of the last events may be
    missing."""
    wait = SETTLE_SECONDS  # read now: tests shorten it
    if not await _settle(source, rest, printer, scope, settled, timeout=wait):
        printer.say(
            "exiting before the re-evaluations, fetches and environment check the last events "
            f"caused had answered (--count waits at most {wait:g} s): changes they made may not "
            "be printed"
        )


async def _settle(
    source: Batches,
    rest: Sequence[object],
    printer: TailPrinter,
    scope: TailScope,
    settled: Callable[[], bool],
    *,
    timeout: float = SETTLE_SECONDS,
    linger: float = 0.03,
) -> bool:
    """Before `--count` exits: let the re-evaluations and fetches its last events caused
    finish, so their transitions and diffs are printed (and a recording tail's journal holds
    them: a flight recorder that drops the effect of the event it stopped on is no use);
    whether they did. Bounded: a slow server delays exit by at most `timeout`. `settled` tests
    what was owed when the count was reached, not whether the evaluator is idle: on a stream
    that never pauses, the events after the last one printed keep it busy for good. Those
    events (from `rest`, what the batch held after the last event printed, on) are not printed,
    nor their effects."""

    def take(items: Sequence[object]) -> None:
        for item in items:
            if isinstance(item, FlagEvent):
                scope.skipped(item)
            else:
                _print_effect(item, printer, scope)

    take(rest)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    idle_until: float | None = None
    while True:
        now = loop.time()
        if idle_until is None and settled():
            # What the last answer published reaches the drain at the next commit (within
            # 10 ms, core/snapshot.py): the linger takes it.
            idle_until = now + linger
        end = deadline if idle_until is None else min(deadline, idle_until)
        if now >= end:
            return idle_until is not None
        try:
            batch = await source.batch(min(end - now, 0.05))
        except asyncio.TimeoutError:
            continue
        except StopAsyncIteration:
            return idle_until is not None
        take(batch)
