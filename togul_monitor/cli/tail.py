"""`togul-monitor tail`: the change stream, headless, one line per event (or `--json`).

Events go to stdout; everything about the stream itself (status changes, outages, malformed
events, possible gaps) and the value transitions go to stderr, so `tail --json | jq` sees only
events. Exit codes (README.md, cli/common.py): 0 done (`--count` reached, Ctrl-C, or the reader
closed the pipe), 1 the stream stopped for another reason, 2 usage or configuration error,
3 credentials rejected.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TextIO

import click

from togul_monitor.cli.common import (
    EXIT_CREDENTIALS,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Target,
    command_target,
    open_target,
    report_config_error,
    target_options,
)
from togul_monitor.cli.render import clock, stamp
from togul_monitor.config.entry import Profile
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.validate import display_url
from togul_monitor.core import TransitionRecorded
from togul_monitor.domain.events import (
    ConnectionState,
    FlagEvent,
    Malformed,
    Outage,
    PossibleGap,
    Status,
    StreamItem,
)
from togul_monitor.domain.filters import Filter
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.protocol import STREAM_PATH
from togul_monitor.support.text import mask_secret, safe_text

SETTLE_SECONDS = 5.0  # --count on a recording tail: longest wait for the last re-evaluations


class TailPrinter:
    """Turns stream items into output lines. Kept apart from I/O setup so tests can drive it."""

    def __init__(
        self,
        out: TextIO,
        err: TextIO,
        *,
        as_json: bool,
        environment_names: Mapping[str, str],
        url: str,
    ) -> None:
        self.out = out
        self.err = err
        self.as_json = as_json
        # A copy the tail grows as the monitor learns environments (see `_print_items`).
        self.environment_names: dict[str, str] = dict(environment_names)
        self.url = url

    def event(self, event: FlagEvent) -> None:
        if self.as_json:
            # json.dumps escapes control characters and non-ASCII: the line is safe as is.
            line = json.dumps(event.to_json(), ensure_ascii=True)
        else:
            env = self.environment_names.get(event.environment_id, event.environment_id)
            line = "  ".join(
                (
                    stamp(event.timestamp),
                    f"{safe_text(event.type):<12}",
                    safe_text(event.flag_key),
                    safe_text(env),
                    f"v{event.version}",
                )
            )
        self.out.write(line + "\n")
        self.out.flush()

    def transition(self, transition: ValueTransition) -> None:
        """A value the profile's context gets changed: stderr, so stdout stays events only."""
        before = _value_text(transition.before)
        after = "deleted" if transition.after is None else _value_text(transition.after)
        cause = f" (event {safe_text(transition.event_id)})" if transition.event_id else ""
        self.err.write(f"tail: {safe_text(transition.flag_key)}: {before} → {after}{cause}\n")
        self.err.flush()

    def note(self, item: StreamItem) -> None:
        text = self._describe(item)
        if text is not None:
            self.err.write(text + "\n")
            self.err.flush()

    def _describe(self, item: StreamItem) -> str | None:
        if isinstance(item, Status):
            if item.state is ConnectionState.CONNECTING:
                return f"tail: connecting to {display_url(self.url)}"
            if item.state is ConnectionState.LIVE:
                return f"tail: live since {clock(item.at)}"
            if item.state is ConnectionState.RETRYING:
                wait = max(0.0, (item.next_try_at or item.at) - item.at)
                return (
                    f"tail: {safe_text(item.error or 'disconnected')}; retrying in {wait:.1f} s "
                    f"(attempt {item.attempt})"
                )
            return f"tail: stopped: {safe_text(item.error or 'stopped')}"
        if isinstance(item, Outage):
            replay = (
                "the server replay is unknown"
                if item.replayed is None
                else f"{item.replayed} event(s) replayed"
            )
            missed = "events may have been missed" if item.may_have_missed else "nothing missed"
            return (
                f"tail: outage {clock(item.started_at)}–{clock(item.ended_at)} "
                f"({item.ended_at - item.started_at:.1f} s): {replay}; {missed}"
            )
        if isinstance(item, Malformed):
            where = f" (id {safe_text(item.event_id)})" if item.event_id else ""
            return f"tail: malformed event{where}: {safe_text(item.reason)}: {safe_text(item.raw)}"
        if isinstance(item, PossibleGap):
            env = self.environment_names.get(item.environment_id, item.environment_id)
            return (
                f"tail: possible gap in {safe_text(item.flag_key)} ({safe_text(env)}): "
                f"expected version {item.expected_version}, got {item.got_version}"
            )
        return None  # heartbeats: not worth a line


def _value_text(evaluation: Evaluation | None) -> str:
    if evaluation is None:
        return "unknown"
    return safe_text(json.dumps(evaluation.value, ensure_ascii=False, separators=(",", ":")))


async def run_tail(
    profile: Profile,
    *,
    query: Filter | None,
    count: int | None,
    as_json: bool,
    out: TextIO,
    err: TextIO,
    record: bool = False,
) -> int:
    """Stream `profile` until `count` matching events, a stop, or cancellation; the exit code.

    The whole monitor runs, as under the TUI: its environment names, re-evaluation (value
    transitions go to stderr) and, with `record`, the journal, which makes `tail` a flight
    recorder whose history the TUI and `history` show later.
    """
    # Looked up on the module at call time, not imported by name: a test spies on it there.
    from togul_monitor import core

    async with core.run_headless(profile, record=record) as (monitor, updates):
        # A flight recorder that cannot record must say so: an unwritable data dir or an
        # unreadable journal moved aside is otherwise only in the TUI's status area.
        journal_notice = monitor.snapshot().journal_notice
        if journal_notice:
            err.write(f"tail: {safe_text(journal_notice)}\n")
            err.flush()
        printer = TailPrinter(
            out,
            err,
            as_json=as_json,
            environment_names=_named(profile.environment_names, monitor.environment_names()),
            url=profile.base_url.rstrip("/") + STREAM_PATH,
        )
        return await _print_items(
            updates,
            profile,
            printer,
            query=query,
            count=count,
            # Only a recording tail waits, at `--count`, for the re-evaluations its last events
            # caused: the journal must hold their transitions. Otherwise it exits at once.
            settled=monitor.evaluations_idle if record else None,
            known_names=monitor.environment_names,
        )


def _named(*sources: Mapping[str, str]) -> dict[str, str]:
    """Environment id -> key from `sources` (later ones win), leaving out empty keys: an ad-hoc
    `--url` target without `--environment` has none, and its events show the id instead."""
    names: dict[str, str] = {}
    for source in sources:
        names.update((env_id, key) for env_id, key in source.items() if key)
    return names


async def _print_items(
    items: AsyncIterator[object],
    profile: Profile,
    printer: TailPrinter,
    *,
    query: Filter | None,
    count: int | None,
    settled: Callable[[], bool] | None,
    known_names: Callable[[], Mapping[str, str]],
) -> int:
    # The monitor names an event's environment before the event reaches this loop (the rule
    # is the core's: an environment-scoped key's events are its profile's environment).
    names = printer.environment_names
    printed = 0
    async for item in items:
        if isinstance(item, FlagEvent):
            if item.environment_id not in names:
                names.update(_named(known_names()))
            if query is not None and not query.matches(item, names):
                continue
            printer.event(item)
            printed += 1
            if count is not None and printed >= count:
                if settled is not None:
                    await _settle(items, printer, settled)
                return EXIT_OK
            continue
        if isinstance(item, TransitionRecorded):
            printer.transition(item.transition)
            continue
        if not isinstance(item, (Status, Outage, Malformed, PossibleGap)):
            continue  # value bookkeeping and heartbeats: not worth a line
        printer.note(item)
        if isinstance(item, Status) and item.state is ConnectionState.STOPPED:
            if item.credentials_rejected:
                shown = mask_secret(profile.api_key or profile.token)
                printer.err.write(
                    f"tail: the server rejected the credentials {shown} "
                    f"(profile {safe_text(profile.name)})\n"
                )
                printer.err.flush()
                return EXIT_CREDENTIALS
            return EXIT_FAILED
    return EXIT_FAILED


async def _settle(
    items: AsyncIterator[object],
    printer: TailPrinter,
    settled: Callable[[], bool],
    *,
    timeout: float = SETTLE_SECONDS,
    linger: float = 0.02,
) -> None:
    """Before `--count` exits a recording tail: let the re-evaluations its last events caused
    finish, so the journal holds their value transitions (a flight recorder that drops the
    effect of the event it stopped on is no use). Bounded: a slow server delays exit by at
    most `timeout`. Transitions that arrive meanwhile are printed; further events are not."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    idle_until: float | None = None
    while True:
        now = loop.time()
        if idle_until is None and settled():
            idle_until = now + linger  # what the last answer published is already queued
        end = deadline if idle_until is None else min(deadline, idle_until)
        if now >= end:
            return
        try:
            item = await asyncio.wait_for(anext(items), min(end - now, 0.05))
        except asyncio.TimeoutError:
            continue
        except StopAsyncIteration:
            return
        if isinstance(item, TransitionRecorded):
            printer.transition(item.transition)


@click.command()
@target_options(
    help_text={
        "demo": "Tail the built-in demo (an emulator on loopback).",
        "profile_name": "Tail a saved profile.",
    }
)
@click.option("--filter", "query_text", metavar="QUERY", help="Only events matching QUERY.")
@click.option("--count", type=click.IntRange(min=1), metavar="N", help="Exit after N events.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--no-record", is_flag=True, help="Do not write the journal.")
def tail(
    demo: bool,
    profile_name: str | None,
    url: str | None,
    api_key: str | None,
    token: str | None,
    environment: str | None,
    query_text: str | None,
    count: int | None,
    as_json: bool,
    no_record: bool,
) -> None:
    """Print the change stream: one line per event on stdout, the stream's health on stderr.

    The target comes from --demo, --profile NAME (here or before `tail`), or --url with
    --api-key/--token (or the TOGUL_BASE_URL, TOGUL_API_KEY and TOGUL_TOKEN variables). Exit
    codes: 0 done, 1 the stream stopped, 2 usage or configuration error, 3 credentials rejected.
    """
    from togul_monitor.domain.filters import FilterError, parse_filter

    query = None
    if query_text:
        try:
            query = parse_filter(query_text)
        except FilterError as exc:
            click.echo(f"tail: invalid --filter: {safe_text(str(exc))}", err=True)
            click.echo(f"  {safe_text(query_text)}\n  {' ' * exc.position}^", err=True)
            sys.exit(EXIT_USAGE)
    target = command_target(Target(demo, profile_name, url, api_key, token, environment))
    code = EXIT_OK
    try:
        with open_target(target) as profile:
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
                    )
                )
            except KeyboardInterrupt:  # Ctrl-C: a normal way to end a tail
                code = EXIT_OK
    except ConfigError as exc:
        report_config_error(exc)
    except BrokenPipeError:
        # The reader went away (`tail | head`): done. Point stdout at devnull so that the
        # interpreter's final flush does not complain again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = EXIT_OK
    except KeyboardInterrupt:
        code = EXIT_OK
    sys.exit(code)
