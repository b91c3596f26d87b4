"""`togul-monitor tail`: the change stream, headless, one line per event (or `--json`).

stdout holds what happened to flags: each event, and each before → after transition of a value
one of the profile's contexts gets (a line per context that changed, naming it when the profile
has named contexts; `--context NAME` keeps those only) and, with a token, what the event changed
in the flag's configuration, on lines of their own right after its event (JSON lines carry a
`kind`: `event`, `transition`, `first_value` or `diff`; a value change no event explains is
`found`, as an export writes it, where the stream sends event ids). stderr holds everything
about the stream itself (status changes, outages, malformed events, possible gaps); with
`--json` each outage, and its proof when one comes, each possible gap and unusable event, is on
stdout too (`outage`, `outage_proven`, `possible_gap`, `unusable`), in order with the events, so
a program reading the JSON knows where the stream had a gap. The lines are written by
`TailPrinter` (cli/render.py); stdout is buffered, written within 50 ms of a line and at exit,
whatever ends the tail (cli/tail_output.py). Exit codes (README.md, cli/common.py): 0 done
(`--count` reached, or the reader closed the pipe), 1 the stream stopped for another reason or
was not live for `--give-up-after`, 2 usage or configuration error (also when the stream proves
the profile wrong), 3 credentials rejected, 130 Ctrl-C, 143 SIGTERM or SIGHUP (what was printed
is written first; only `kill -9` can cut the last line short, or a stop that gave up a stdout
reader that does not read, after `STOP_GRACE`: cli/tail_writer.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, TextIO

import click

from togul_monitor.cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    Target,
    cancelled_by_terminate,
    check_context_names,
    command_target,
    duration_option,
    open_target,
    parse_filter_option,
    report_config_error,
    target_options,
)
from togul_monitor.cli.render import TailPrinter
from togul_monitor.cli.secrets import choose_secrets
from togul_monitor.cli.tail_loop import batches_of, print_updates, say_unprinted
from togul_monitor.cli.tail_output import buffered
from togul_monitor.cli.tail_scope import TailScope, named
from togul_monitor.cli.tail_writer import left_writing
from togul_monitor.client.credentials import key_may_stream
from togul_monitor.config.entry import Profile
from togul_monitor.config.errors import ConfigError
from togul_monitor.protocol import STREAM_PATH
from togul_monitor.support.text import safe_text

if TYPE_CHECKING:
    from togul_monitor.domain.filters import Filter

__all__ = ["TailPrinter", "TailScope", "run_tail", "tail"]

STOP_GRACE = 5.0  # seconds a stop waits for a stdout reader that does not read


async def run_tail(profile: Profile, **options: Any) -> int:
    """`_run_tail`, ended cleanly by SIGTERM or SIGHUP (`kill`, `timeout`, a service manager):
    the task is cancelled, so what was printed but not yet written reaches stdout (and the
    journal closes) before the exit, 143."""
    with cancelled_by_terminate() as terminated:
        try:
            return await _run_tail(profile, **options)
        except asyncio.CancelledError:
            if terminated:
                return EXIT_TERMINATED
            raise


async def _run_tail(
    profile: Profile,
    *,
    query: Filter | None,
    count: int | None,
    as_json: bool,
    out: TextIO,
    err: TextIO,
    record: bool = False,
    give_up_after: float | None = None,
    contexts: tuple[str, ...] = (),
) -> int:
    """Stream `profile` until `count` printed events, a stop, `give_up_after` seconds without
    a live stream, or cancellation; the exit code.

    The whole monitor runs, as under the TUI: its environment names, re-evaluation (the value
    transitions are printed after their events) and, with `record`, the journal, which makes
    `tail` a flight recorder whose history the TUI and `history` show later. `contexts`: print
    the transitions of these contexts only (all when empty; each a name the profile has).
    """
    # Looked up on the module at call time, not imported by name: a test spies on it there.
    # Imported here, not at the top, as the journal's and the configurations' modules: what
    # `tail` runs needs them, `tail --help` and `import togul_monitor.cli.tail` do not.
    from togul_monitor import core
    from togul_monitor.cli.tail_record import CommittedFirst, answered_and_committed
    from togul_monitor.core.config_start import (
        NEEDS_ENVIRONMENT,
        NEEDS_ENVIRONMENT_NOTE,
        NEEDS_TOKEN_NOTE,
    )
    from togul_monitor.core.configs import NEEDS_TOKEN

    # The updates come in batches from the drain buffer (core/drained.py): under a burst the
    # tail pays per batch, not per event (cli/tail_loop.py).
    started = asyncio.get_running_loop().time()  # `--give-up-after` counts the start too
    async with contextlib.AsyncExitStack() as running:
        headless = core.run_headless(profile, record=record, drained=True)
        starting = asyncio.ensure_future(running.enter_async_context(headless))
        if not await _started_within(starting, give_up_after):
            err.write(
                f"tail: giving up: the stream has not been live for {give_up_after:g} s "
                "(--give-up-after): the monitor was still starting (the environment's lookup, "
                "the key's check, the journal)\n"
            )
            return EXIT_FAILED
        monitor, updates = starting.result()
        printer = TailPrinter(
            out,
            err,
            as_json=as_json,
            environment_names=named(profile.environment_names, monitor.environment_names()),
            url=profile.base_url.rstrip("/") + STREAM_PATH,
            environment_key=profile.environment_key,
            evaluating=monitor.evaluator is not None,
            contexts=tuple(profile.evaluation_contexts),
        )
        with buffered(printer.output):
            snapshot = monitor.snapshot()
            # Resuming an earlier run's stream, its first LIVE is followed by an outage (the
            # time between the runs): what is found before it comes waits (cli/tail_found.py).
            printer.found.due = snapshot.resumed
            # A flight recorder that cannot record must say so: an unwritable data dir or an
            # unreadable journal moved aside is otherwise only in the TUI's status area. The
            # monitor's notices say what it will not do (evaluate without an API key, say).
            for notice in (snapshot.journal_notice, *snapshot.notices):
                if notice:
                    printer.say(safe_text(notice))
            if snapshot.config_state == NEEDS_TOKEN:
                printer.say(NEEDS_TOKEN_NOTE)
            elif snapshot.config_state == NEEDS_ENVIRONMENT:
                printer.say(NEEDS_ENVIRONMENT_NOTE)
            scope = TailScope(
                printer,
                query=query,
                environment_key=profile.environment_key,
                known_names=monitor.environment_names,
                environment_id=lambda: monitor.snapshot().environment_id,
                # Only a token streams the whole organisation, and only when no key may stream.
                org_wide=bool(profile.token) and not key_may_stream(profile.api_key),
                contexts=contexts,
            )
            if contexts:
                printer.merges.narrow(contexts)  # what `--context` leaves is what is said
            async with contextlib.AsyncExitStack() as stack:
                items: AsyncIterator[object] = updates
                settle_mark: Callable[[], Callable[[], bool]] = monitor.answered_mark
                if record:
                    # Printed only once journalled: a recorder killed at any moment has recorded
                    # everything it showed (cli/tail_record.py). In the journal it records now:
                    # a tail that only read takes the recording over once the profile's recorder
                    # has gone (core/takeover.py).
                    committed = await stack.enter_async_context(
                        CommittedFirst(
                            updates,
                            lambda: monitor.journal,
                            on_write_error=lambda error: printer.say(
                                f"journal write failed ({safe_text(error)}): what is printed "
                                "meanwhile may not be recorded"
                            ),
                        )
                    )
                    items = committed

                    def committed_mark() -> Callable[[], bool]:  # made when the count is reached
                        return answered_and_committed(
                            monitor.answered_mark(), lambda: monitor.journal
                        )

                    settle_mark = committed_mark
                source = batches_of(items)
                try:
                    code = await print_updates(
                        source,
                        profile,
                        printer,
                        scope,
                        count=count,
                        # At `--count`, wait for the re-evaluations and fetches the last events
                        # caused: their effects are printed, and a recording tail's journal
                        # holds them.
                        settle_mark=settle_mark,
                        give_up_after=give_up_after,
                        # The stream can prove the profile wrong (a key of another environment):
                        # then the monitor stops it and says why, a configuration error.
                        configuration_error=lambda: getattr(monitor, "configuration_error", None),
                        stop_reading=monitor.stop_reading,
                        started_at=started,
                        said=snapshot.notices,
                    )
                    # Written before the monitor stops: a stop that comes meanwhile (a reader
                    # that does not read) is taken, and is not kept waiting (below).
                    await printer.output.written(printer.say)
                    return code
                except asyncio.CancelledError:  # Ctrl-C, SIGTERM: what is left is said
                    say_unprinted(source, printer, scope)
                    # A reader that does not read is waited for a few seconds, not for ever.
                    journalled = record and monitor.journal is not None
                    kept = " (the journal holds what they say)" if journalled else ""
                    await printer.output.written(printer.say, grace=STOP_GRACE, kept=kept)
                    raise


async def _started_within(starting: asyncio.Future[Any], seconds: float | None) -> bool:
    """Whether `starting` finished within `seconds` (None: however long it takes); when not,
    it is cancelled and awaited (a start entered meanwhile is stopped with the exit stack).
    Not `asyncio.wait_for`: before Python 3.12 it can swallow a cancellation (SIGTERM) that
    comes as the start completes."""
    try:
        done, _ = await asyncio.wait((starting,), timeout=seconds)
    finally:
        if not starting.done():  # timed out, or this task was cancelled
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
    return bool(done)


@click.command()
@target_options(
    help_text={
        "demo": "Tail the built-in demo (an emulator on loopback).",
        "profile_name": "Tail a saved profile.",
        "environment": "Environment key of the target (with a token: only its events).",
    }
)
@click.option("--filter", "query_text", metavar="QUERY", help="Only events matching QUERY.")
@click.option(
    "--count", type=click.IntRange(min=1), metavar="N", help="Exit after N printed events."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--no-record", is_flag=True, help="Do not write the journal.")
@click.option(
    "--context",
    "context_names",
    multiple=True,
    metavar="NAME",
    help="Only value changes of this named context (repeatable); default: every context's.",
)
@click.option(
    "--give-up-after",
    callback=duration_option,
    metavar="DURATION",
    help="Exit 1 when the stream has not been live for DURATION (30s, 5m); default: retry.",
)
def tail(
    demo: bool,
    profile_name: str | None,
    url: str | None,
    api_key: str | None,
    api_key_file: str | None,
    token: str | None,
    token_file: str | None,
    environment: str | None,
    query_text: str | None,
    count: int | None,
    as_json: bool,
    no_record: bool,
    context_names: tuple[str, ...],
    give_up_after: float | None,
) -> None:
    """Print the change stream: each event and each value it changed (before → after) on
    stdout, the stream's health on stderr.

    The target comes from --demo, --profile NAME (here or before `tail`), or --url with
    --api-key-file/--token-file (or the TOGUL_BASE_URL, TOGUL_API_KEY and TOGUL_TOKEN
    variables; --api-key/--token work too, but show the secret in the process list). Exit
    codes: 0 done, 1 the stream stopped (or was not live for --give-up-after), 2 usage or
    configuration error, 3 credentials rejected, 130 Ctrl-C, 143 SIGTERM or SIGHUP.
    """
    query = parse_filter_option(query_text, "tail")
    code = EXIT_OK
    try:
        api_key, token = choose_secrets(api_key, api_key_file, token, token_file)
        target = command_target(Target(demo, profile_name, url, api_key, token, environment))
        with open_target(target) as profile:
            check_context_names(profile, context_names)
            from togul_monitor.core.plan import stream_problem

            problem = stream_problem(profile)
            if problem is not None:
                raise ConfigError(problem, profile=profile.name)
            try:
                code = asyncio.run(
                    run_tail(
                        profile,
                        query=query,
                        count=count,
                        as_json=as_json,
                        out=sys.stdout,
                        err=sys.stderr,
                        # A saved profile records; the demo's world is new every run and an
                        # ad-hoc --url target has no journal of its own.
                        record=not no_record and target.url is None and not profile.builtin,
                        give_up_after=give_up_after,
                        contexts=context_names,
                    )
                )
            except KeyboardInterrupt:  # Ctrl-C: the shell's convention, 128 + SIGINT
                code = EXIT_INTERRUPTED
    except ConfigError as exc:
        report_config_error(exc)
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    if left_writing():
        # A stop gave up a reader that does not read: stdout's thread is blocked in its write,
        # holding stdout, which the interpreter's shutdown would flush, waiting on that write
        # (or aborting). Everything else is closed; stderr writes each line as it comes.
        os._exit(code)
    sys.exit(code)
