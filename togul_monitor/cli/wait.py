"""`togul-monitor wait FLAG --value V`: block until FLAG evaluates to V for one of the profile's
contexts (`--context NAME`; default: its first, the single `context` of most profiles).

For scripts and deploy pipelines ("go on once checkout-v2 is on"). The whole monitor runs, as
under `tail` (`core.run_headless`), never recording: its evaluation checks FLAG at start and
again after every stream event of it (and after an outage), so there is one stream client and
one set of pacing rules, not a second poller. The flag is put on the run's watch list, which is
what makes the monitor evaluate it at start and keeps it monitored whatever `max_flags` says.
The monitor evaluates every context the profile has; only the chosen one's value counts (the
snapshot's `context_values` at start, then the `ValueUpdated` of that context).

stdout holds the answer (one line, or one JSON object with `--json`); stderr the rest. Exit
codes (README.md, cli/common.py): 0 FLAG is V, 1 the timeout passed (or the stream stopped),
2 usage or configuration error (a profile that cannot evaluate too), 3 credentials rejected,
130 Ctrl-C.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any, TextIO

import click

from togul_monitor.cli.change_words import json_text
from togul_monitor.cli.common import (
    EXIT_CREDENTIALS,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Target,
    check_context_names,
    command_target,
    duration_option,
    open_target,
    rejected_words,
    report_config_error,
    stream_rejected_words,
    target_options,
)
from togul_monitor.cli.secrets import choose_secrets
from togul_monitor.config.entry import Profile
from togul_monitor.config.errors import ConfigError
from togul_monitor.core import Dropped, EvaluatorStatus, ValueUpdated
from togul_monitor.core.plan import evaluate_problem, stream_problem
from togul_monitor.domain.events import ConnectionState, Status
from togul_monitor.domain.values import DEFAULT_CONTEXT, FlagValue, same_json
from togul_monitor.support.text import safe_text

__all__ = ["choose_context", "parse_wanted", "run_wait", "wait"]


def choose_context(profile: Profile, name: str | None) -> str:
    """The context `--context` names (the profile's first when None); a usage error listing
    the profile's contexts when it has none of that name."""
    if name is None:
        return next(iter(profile.evaluation_contexts))
    check_context_names(profile, (name,))
    return name


def parse_wanted(text: str) -> Any:
    """`--value`: JSON when it parses (`true`, `50`, `"x"`, `{"a":1}`), else the text itself,
    so `--value green` needs no shell quoting of JSON quotes."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def evaluation_problem(profile: Profile) -> str | None:
    """Why `profile` cannot evaluate a flag (a configuration error), None when it can. Caught
    before anything connects: waiting 60 s on a value that can never come helps nobody."""
    # The flag's events come from the stream: without them only the start would count.
    return evaluate_problem(profile, "wait") or stream_problem(profile)


class _Waiter:
    """What the command has seen of FLAG, and the lines it says on stderr."""

    def __init__(
        self, flag_key: str, wanted: Any, err: TextIO, context: str = DEFAULT_CONTEXT
    ) -> None:
        self.flag_key = flag_key
        self.wanted = wanted
        self.err = err
        self.context = context  # whose value counts: one of the profile's contexts
        self.names_context = False  # the profile has named contexts: the answer names it
        self.last: FlagValue | None = None
        self._said_missing = False
        self._evaluator_message: str | None = None

    def say(self, text: str) -> None:
        """One line on stderr (`text` is safe already)."""
        self.err.write(f"wait: {text}\n")
        self.err.flush()

    @property
    def context_words(self) -> str:
        return f"context {safe_text(self.context)}" if self.names_context else "this context"

    def concerns(self, value: FlagValue) -> bool:
        """`value` is FLAG's for the context waited on (other contexts' are no answer)."""
        return value.flag_key == self.flag_key and value.context == self.context

    def matches(self, value: FlagValue | None) -> bool:
        """`value` (FLAG's, as the monitor holds it now) is the wanted one. Only a settled
        answer counts: a stale value is the one from before an event still being evaluated."""
        if value is None:
            return False
        self.last = value
        if value.deleted:
            if not self._said_missing:  # once: it may be created later, and that is news
                self._said_missing = True
                self.say(
                    f"{safe_text(self.flag_key)} does not exist (yet): waiting for it to be created"
                )
            return False
        current = value.current
        if current is None or value.stale or value.error is not None:
            return False
        return same_json(current.value, self.wanted)

    def evaluator(self, status: EvaluatorStatus) -> None:
        """A failing evaluate side, said once per change (the monitor retries it)."""
        message = None if status.ok else status.message
        if message and (message != self._evaluator_message or status.retry_at is not None):
            self.say(safe_text(status.text(time.time()) or message))
        self._evaluator_message = message

    def state_text(self) -> str:
        """What FLAG is now, for the timeout line: `still false`, `does not exist`..."""
        value = self.last
        if value is None or (value.current is None and not value.deleted):
            error = f" ({safe_text(value.error)})" if value and value.error else ""
            return f"has no value yet{error}"
        if value.deleted:
            return "does not exist"
        assert value.current is not None
        if _stale(value):  # an event, a lost stream or a failed re-check: not read since
            why = f": {safe_text(value.error)}" if value.error else ""
            return (
                f"was {json_text(value.current.value)} when last read, and may have changed "
                f"since (not read again{why})"
            )
        return f"is still {json_text(value.current.value)}"


async def _watch(profile: Profile, waiter: _Waiter) -> int:
    """Run the monitor until FLAG has the wanted value or the stream stops; the exit code."""
    # Looked up on the module at call time, not imported by name: a test may spy on it there.
    from togul_monitor import core

    # Values only: a token profile's configurations (a request per flag) answer nothing here.
    async with core.run_headless(profile, record=False, configs=False) as (monitor, updates):

        def matches_now() -> bool:
            # Every context's values (fresh: this runs on the monitor's loop), the waited one's.
            values = monitor.snapshot().context_values.get(waiter.context, {})
            return waiter.matches(values.get(waiter.flag_key))

        if matches_now():
            return EXIT_OK
        items: AsyncIterator[object] = updates
        async for item in items:
            if isinstance(item, ValueUpdated):
                if waiter.concerns(item.value) and waiter.matches(item.value):
                    return EXIT_OK
            elif isinstance(item, Dropped):
                # Fallen behind, it may have lost FLAG's new value (a stop is never lost,
                # core/updates.py KEPT): the monitor holds it.
                if matches_now():
                    return EXIT_OK
            elif isinstance(item, EvaluatorStatus):
                if item.credentials_rejected:
                    # Evaluate or the stream may be first to say so: one line either way.
                    why = safe_text(item.message or "evaluate refused them")
                    waiter.say(rejected_words(profile.api_key, profile.name, why))
                    return EXIT_CREDENTIALS
                waiter.evaluator(item)
            elif isinstance(item, Status) and item.state is ConnectionState.STOPPED:
                if item.credentials_rejected:
                    waiter.say(stream_rejected_words(profile, item.error))
                    return EXIT_CREDENTIALS
                if monitor.configuration_error is not None:
                    raise monitor.configuration_error  # reported as every ConfigError is
                waiter.say(f"the stream stopped: {safe_text(item.error or 'stopped')}")
                return EXIT_FAILED
        return EXIT_FAILED  # the update stream ended: the monitor stopped


async def run_wait(
    profile: Profile,
    flag_key: str,
    wanted: Any,
    *,
    timeout: float,
    as_json: bool,
    out: TextIO,
    err: TextIO,
    context: str | None = None,
) -> int:
    """Wait up to `timeout` seconds (from now: connecting counts) for `flag_key` to evaluate
    to `wanted` for `profile`'s context named `context` (its first when None); prints the
    answer, returns the exit code. A profile that cannot evaluate is a ConfigError; a context
    it does not have, a click.UsageError."""
    problem = evaluation_problem(profile)
    if problem is not None:
        raise ConfigError(problem, profile=profile.name)
    chosen = choose_context(profile, context)
    began = time.monotonic()
    if flag_key not in profile.watch:
        profile = replace(profile, watch=(*profile.watch, flag_key))
    waiter = _Waiter(flag_key, wanted, err, chosen)
    waiter.names_context = list(profile.evaluation_contexts) != [DEFAULT_CONTEXT]
    try:
        code = await asyncio.wait_for(_watch(profile, waiter), timeout)
    except asyncio.TimeoutError:
        code = EXIT_FAILED
        timed_out = True
    else:
        timed_out = False
        if code != EXIT_OK:
            return code  # the reason is on stderr already
    # The time to the answer, not to the monitor's stop that follows it.
    elapsed = timeout if timed_out else time.monotonic() - began
    _report(
        waiter, matched=not timed_out, elapsed=elapsed, timeout=timeout, as_json=as_json, out=out
    )
    return code


def _stale(value: FlagValue | None) -> bool:
    """The value held may be out of date: asked again (an event of the flag, a lost stream, a
    re-check) and not answered, or the answer failed (the flag may have any value now)."""
    return value is not None and (value.stale or value.error is not None)


def _exists(value: FlagValue | None) -> bool | None:
    """False once evaluate said 404 (or the flag was deleted), True once it answered a value,
    None before any answer (or after errors only): nobody knows yet."""
    if value is not None and value.deleted:
        return False
    return None if value is None or value.current is None else True


def _report(
    waiter: _Waiter, *, matched: bool, elapsed: float, timeout: float, as_json: bool, out: TextIO
) -> None:
    key, wanted = safe_text(waiter.flag_key), json_text(waiter.wanted)
    if as_json:
        value = waiter.last
        current = value.current if value is not None and not value.deleted else None
        answer = {
            "flag_key": waiter.flag_key,
            "wanted": waiter.wanted,
            "matched": matched,
            "exists": _exists(value),
            "value": current.value if current is not None else None,
            "value_type": current.value_type if current is not None else None,
            "reason": current.reason if current is not None else None,
            "enabled": current.enabled if current is not None else None,
            "stale": current is not None and _stale(value),
            "error": safe_text(value.error) if value is not None and value.error else None,
            "context": waiter.context,
            "elapsed_seconds": round(elapsed, 3),
            "timeout_seconds": timeout,
        }
        # ensure_ascii: server text is escaped, never printed raw (as safe_text would say).
        out.write(json.dumps(answer, sort_keys=True) + "\n")
        out.flush()
    elif matched:
        out.write(f"{key} is {wanted} for {waiter.context_words} (after {elapsed:.1f} s)\n")
        out.flush()
    else:
        # Named only for a profile with named contexts: the line is as it always was otherwise.
        which = f" for {waiter.context_words}" if waiter.names_context else ""
        waiter.err.write(
            f"{key} {waiter.state_text()}{which} after {timeout:g} s (wanted {wanted})\n"
        )
        waiter.err.flush()


@click.command()
@target_options(
    help_text={
        "demo": "Wait on the built-in demo (an emulator on loopback).",
        "profile_name": "Wait on a saved profile: its API key, environment and context.",
        "environment": "Environment key of the target (evaluate needs one).",
    }
)
@click.argument("flag_key", metavar="FLAG")
@click.option(
    "--value",
    "wanted_text",
    required=True,
    metavar="V",
    help="The value to wait for: JSON when it parses (true, 50, '\"x\"', '{\"a\":1}'), "
    "else a string.",
)
@click.option(
    "--timeout",
    default="60s",
    show_default=True,
    callback=duration_option,
    metavar="DURATION",
    help="Exit 1 when FLAG is not V after DURATION (30s, 5m).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a line.")
@click.option(
    "--context",
    "context_name",
    metavar="NAME",
    help="Wait for the value of this named context of the profile (default: its first).",
)
def wait(
    demo: bool,
    profile_name: str | None,
    url: str | None,
    api_key: str | None,
    api_key_file: str | None,
    token: str | None,
    token_file: str | None,
    environment: str | None,
    flag_key: str,
    wanted_text: str,
    timeout: float,
    as_json: bool,
    context_name: str | None,
) -> None:
    """Wait until FLAG evaluates to V for the profile's context; for scripts and deploys.

    FLAG is evaluated at start and again after each of its events on the change stream. On
    success stdout says what was seen and when (`checkout-v2 is true for this context (after
    3.2 s)`); at the timeout stderr says what FLAG still is. A flag that does not exist is
    waited for (it may be created). Values compare by JSON type: true is not 1, nor "true"
    (numbers by value: 50 is 50.0).

    The context is the profile's first (its `context`, else its first named one); --context
    NAME picks another of its contexts. Nothing is recorded to the journal. Exit codes: 0 FLAG is V, 1 timeout (or the stream stopped), 2
    usage or configuration error (a profile without an API key that may evaluate, too), 3
    credentials rejected, 130 Ctrl-C.
    """
    code = EXIT_OK
    try:
        if not flag_key:
            raise ConfigError("FLAG must not be empty")
        wanted = parse_wanted(wanted_text)
        api_key, token = choose_secrets(api_key, api_key_file, token, token_file)
        target = command_target(Target(demo, profile_name, url, api_key, token, environment))
        with open_target(target) as profile:
            code = asyncio.run(
                run_wait(
                    profile,
                    flag_key,
                    wanted,
                    timeout=timeout,
                    as_json=as_json,
                    out=sys.stdout,
                    err=sys.stderr,
                    context=context_name,
                )
            )
    except ConfigError as exc:
        report_config_error(exc)
    except KeyboardInterrupt:  # Ctrl-C: the shell's convention, 128 + SIGINT
        code = EXIT_INTERRUPTED
    sys.exit(code)
