"""What `tail` says about what changed, where and for whom: environment keys and narrowing on an
organisation-wide stream, each before → after on stdout after its event, and unreachable hosts
(retried in plain words, or given up with `--give-up-after`). Against the emulator over
loopback, in both stream forms where the monitor is involved (`emulator_any`)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from click.testing import CliRunner, Result

from togul_monitor.cli import cli, tail_loop
from togul_monitor.cli.tail import run_tail
from togul_monitor.domain.filters import parse_filter
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.store.export_json import parse_time

from .monitors import spy_on_monitors
from .test_monitor import make_profile, settled, wait_for
from .test_stream_tail import activity, events_of

# --- environments: keys, and `--environment` on an organisation-wide stream -------------------


def test_an_org_token_tail_narrowed_to_staging_prints_only_staging(
    emulator_any: EmulatorHandle,
) -> None:
    creds = emulator_any.credentials
    args = ["tail", "--url", emulator_any.base_url, "--token", creds.org_token]
    with activity(emulator_any, "production"), activity(emulator_any, "staging"):
        narrowed = CliRunner().invoke(
            cli, [*args, "--environment", "staging", "--json", "--count", "6"]
        )
        human = CliRunner().invoke(cli, [*args, "--environment", "staging", "--count", "4"])
    assert narrowed.exit_code == 0, narrowed.output
    events = events_of(narrowed.stdout)
    assert len(events) == 6  # --count counts the staging events, the only ones printed
    assert {e["environment_id"] for e in events} == {creds.environment_ids["staging"]}
    assert {e["environment_key"] for e in events} == {"staging"}
    assert human.exit_code == 0, human.output
    # The event lines (a token's tail also prints what each changed in the configuration).
    lines = [line for line in human.stdout.splitlines() if not line.startswith(("  ↳", "  ↑"))]
    assert len(lines) == 4 and all(line.split()[4] == "staging" for line in lines)
    assert creds.org_token not in narrowed.output + human.output


def test_an_org_token_tail_names_every_environment_it_knows(emulator_any: EmulatorHandle) -> None:
    """Narrowed or not, each event line names its environment by key, as the monitor knows it
    (here from the management API, for the token's --environment)."""
    creds = emulator_any.credentials
    args = ["tail", "--url", emulator_any.base_url, "--token", creds.org_token, "--json"]
    with activity(emulator_any, "production"):
        result = CliRunner().invoke(cli, [*args, "--environment", "production", "--count", "2"])
    assert result.exit_code == 0, result.output
    keys = {e["environment_id"]: e["environment_key"] for e in events_of(result.stdout)}
    assert keys == {creds.environment_ids["production"]: "production"}


def test_a_token_tail_without_an_environment_names_every_environment(
    emulator_any: EmulatorHandle,
) -> None:
    creds = emulator_any.credentials
    args = ["tail", "--url", emulator_any.base_url, "--token", creds.org_token, "--json"]
    with activity(emulator_any, "production"), activity(emulator_any, "staging"):
        result = CliRunner().invoke(cli, [*args, "--count", "12"])
    assert result.exit_code == 0, result.output
    keys = {e["environment_id"]: e["environment_key"] for e in events_of(result.stdout)}
    ids = creds.environment_ids
    assert keys == {ids["production"]: "production", ids["staging"]: "staging"}
    # No environment: no configuration diffs, and stderr says why (the token alone is not it).
    assert all(line["kind"] != "diff" for line in map(json.loads, result.stdout.splitlines()))
    assert "configuration diffs need an environment (--environment" in result.stderr
    assert "need a token profile" not in result.stderr


# --- before → after on stdout -----------------------------------------------------------------


@contextlib.asynccontextmanager
async def tailing(
    emu: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, *, as_json: bool, **options: Any
) -> AsyncIterator[tuple[asyncio.Task[int], io.StringIO, io.StringIO]]:
    """`run_tail` of the production profile (`--count 1`), yielded once its stream is open and
    new-dashboard has its first value, so that a change makes a transition."""
    started = spy_on_monitors(monkeypatch)
    out, err = io.StringIO(), io.StringIO()
    options.setdefault("query", None)
    options.setdefault("count", 1)
    task = asyncio.create_task(
        run_tail(make_profile(emu), as_json=as_json, out=out, err=err, **options)
    )
    try:
        await wait_for(lambda: started and settled(started[0], "new-dashboard"), what="value")
        await wait_for(lambda: emu.open_streams == 1, what="stream")
        yield task, out, err
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def switch_off(emu: EmulatorHandle) -> Callable[[], object]:
    return lambda: emu.world.update_flag("production", "new-dashboard", enabled=False)


async def test_tail_json_prints_the_transition_after_its_event(
    emulator_any: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with tailing(emulator_any, monkeypatch, as_json=True) as (task, out, err):
        await asyncio.to_thread(switch_off(emulator_any))
        assert await asyncio.wait_for(asyncio.shield(task), 10) == 0
    event, change = (json.loads(line) for line in out.getvalue().splitlines())
    assert event["kind"] == "event" and event["environment_key"] == "production"
    assert change == {
        "kind": "transition",
        "flag_key": "new-dashboard",
        "environment_key": "production",
        "before": {"value": True, "value_type": "boolean", "reason": "rule_match", "enabled": True},
        "after": {"value": False, "value_type": "boolean", "reason": "disabled", "enabled": False},
        "event_id": event["id"],  # None in the documented form (no ids), the id otherwise
        "at": change["at"],
        "context": "default",  # the profile's single context
        "includes_unseen": False,
    }
    assert change["at"].endswith("Z") and parse_time(change["at"]) is not None
    assert abs(parse_time(change["at"]) - event["received_at"]) < 10  # type: ignore[operator]
    assert "→" not in err.getvalue()  # the value change is not a status line any more


async def test_tail_human_prints_the_transition_after_its_event(
    emulator_any: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with tailing(emulator_any, monkeypatch, as_json=False, record=True) as (task, out, _):
        await asyncio.to_thread(switch_off(emulator_any))
        assert await asyncio.wait_for(asyncio.shield(task), 10) == 0
    event, change = out.getvalue().splitlines()
    assert event.split()[2:5] == ["flag.updated", "new-dashboard", "production"]
    assert change == (
        "  ↳ new-dashboard (production): true → false "
        "(reason rule_match → disabled; enabled → disabled)"
    )


async def test_tail_prints_the_first_value_of_a_flag_created_meanwhile(
    emulator_any: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with tailing(emulator_any, monkeypatch, as_json=False) as (task, out, _):
        await asyncio.to_thread(emulator_any.world.create_flag, "production", "brand-new")
        assert await asyncio.wait_for(asyncio.shield(task), 10) == 0
    event, change = out.getvalue().splitlines()
    assert event.split()[2:5] == ["flag.created", "brand-new", "production"]
    assert change == "  ↳ brand-new (production): ∅ → false"


async def test_tail_prints_the_first_value_of_a_flag_its_event_brought(
    emulator_any: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    # checkout-v2 is not watched: nothing told its value before its event.
    async with tailing(emulator_any, monkeypatch, as_json=True) as (task, out, _):
        await asyncio.to_thread(
            emulator_any.world.update_flag, "production", "checkout-v2", enabled=False
        )
        assert await asyncio.wait_for(asyncio.shield(task), 10) == 0
    event, value = (json.loads(line) for line in out.getvalue().splitlines())
    assert event["flag_key"] == "checkout-v2"
    assert value["kind"] == "first_value" and value["flag_key"] == "checkout-v2"
    assert value["value"] == {
        "value": False,
        "value_type": "boolean",
        "reason": "disabled",
        "enabled": False,
    }
    assert value["event_id"] == event["id"] and value["context"] == "default"


async def test_a_recording_tail_prints_a_first_value_after_its_event_on_a_slow_journal(
    emulator_any: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Evaluate answers long before the journal commits: the first value waits its turn, and the
    # filter has seen its event when it decides.
    from togul_monitor.store.sqlite.sink import SqliteSink

    write = SqliteSink.write

    def slow(self: SqliteSink, *args: Any) -> None:
        time.sleep(0.2)
        write(self, *args)

    monkeypatch.setattr(SqliteSink, "write", slow)
    query = parse_filter("type:flag.updated")
    async with tailing(emulator_any, monkeypatch, as_json=False, record=True, query=query) as (
        task,
        out,
        _,
    ):
        await asyncio.to_thread(
            emulator_any.world.update_flag, "production", "checkout-v2", enabled=False
        )
        assert await asyncio.wait_for(asyncio.shield(task), 10) == 0
    event, value = out.getvalue().splitlines()
    assert event.split()[2:4] == ["flag.updated", "checkout-v2"]
    assert value == "  ↳ checkout-v2 (production): now false (first value, reason disabled)"


async def test_count_waits_for_the_first_values_of_new_flags_in_their_queue(
    emulator_any: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    # First calls of flags first seen are paced (one at once, then one every 2 s): at the
    # count, those still in their queue are sent at once and waited for, not left out.
    from togul_monitor.core import reevaluate

    monkeypatch.setattr(reevaluate, "NEW_FLAGS_BURST", 1)
    monkeypatch.setattr(reevaluate, "NEW_FLAGS_PER_SECOND", 0.5)
    flags = ("checkout-v2", "dark-mode", "beta-search")

    def flip() -> None:
        for key in flags:
            emulator_any.world.update_flag("production", key, enabled=False)

    async with tailing(emulator_any, monkeypatch, as_json=True, count=len(flags)) as (
        task,
        out,
        err,
    ):
        await asyncio.to_thread(flip)
        assert await asyncio.wait_for(asyncio.shield(task), 10) == 0
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert sorted(o["flag_key"] for o in lines if o["kind"] == "first_value") == sorted(flags)
    assert "may not be printed" not in err.getvalue()


# --- unreachable hosts --------------------------------------------------------------------------


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_an_unreachable_host_is_retried_in_plain_words_then_given_up() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    args = ["tail", "--url", url, "--api-key", "tgl_sdk_0123456789abcdef0000"]
    result = CliRunner().invoke(cli, [*args, "--environment", "qa", "--give-up-after", "1.5s"])
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()  # the monitor's notices first, then the stream's
    start = lines.index(f"tail: connecting to {url}/api/v1/stream")
    retries = lines[start + 1 : -1]
    assert retries and sum("connecting to" in line for line in lines) == 1  # not per attempt
    where = url.removeprefix("http://")
    for attempt, line in enumerate(retries, 1):
        assert line.startswith(f"tail: cannot connect to {where}: nothing accepted the connection")
        assert f"attempt {attempt} failed, next try in " in line
    assert lines[-1] == (
        "tail: giving up: the stream has not been live for 1.5 s (--give-up-after); "
        f"last error: cannot connect to {where}: nothing accepted the connection"
    )
    assert "Errno" not in result.stderr and result.stdout == ""


def tail_a_silent_server(key: str, give_up_after: str) -> tuple[str, Result]:
    """`tail` against a server that accepts connections and never answers: its URL, and how
    the tail ended."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections are queued, never answered
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        args = ["tail", "--url", url, "--api-key", key, "--environment", "qa", "--no-record"]
        return url, CliRunner().invoke(cli, [*args, "--give-up-after", give_up_after])


def test_give_up_after_counts_the_start_too() -> None:
    """A server that accepts and never answers: the start's key check waits out its own
    timeout (5 s), and a `--give-up-after` shorter than that gave up only after it."""
    _, result = tail_a_silent_server("tgl_sdk_0123456789abcdef0000", "0.5s")
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[-1] == (
        "tail: giving up: the stream has not been live for 0.5 s (--give-up-after): the monitor "
        "was still starting (the environment's lookup, the key's check, the journal)"
    )


def test_an_attempt_nothing_answers_is_said_before_the_read_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server that takes the connection and sends nothing: the read timeout (90 s) is far;
    `tail` says, once the attempt has waited a while, that nothing answered yet."""
    monkeypatch.setattr(tail_loop, "NO_ANSWER_SAID", 0.3)
    # A key of scope stream: no key check at the start, the stream is the first request.
    url, result = tail_a_silent_server("tgl_str_0123456789abcdef0000", "1.5s")
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    start = lines.index(f"tail: connecting to {url}/api/v1/stream")
    assert lines[start + 1 :] == [
        "tail: no answer yet, 0.3 s after connecting (an attempt is given up when the "
        "connection is not made in 10 s, or nothing comes on it for 90 s, then made again)",
        "tail: giving up: the stream has not been live for 1.5 s (--give-up-after)",
    ]


@pytest.mark.parametrize("value", ["soon", "0s", "-5m", "5 parsecs"])
def test_give_up_after_takes_a_duration(value: str) -> None:
    result = CliRunner().invoke(cli, ["tail", "--demo", "--give-up-after", value])
    assert result.exit_code == 2
    assert "is not a duration" in result.stderr
