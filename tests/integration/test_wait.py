"""`togul-monitor wait FLAG --value V` end to end, against the emulator over loopback: a change
made once the command is live ends it with 0 (in both stream forms: the event of the documented
form has no id), a value already there ends it at start, the timeout ends it with 1, `--value` is
JSON when it parses, and a profile that cannot evaluate is a configuration error."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from click.testing import CliRunner

from togul_monitor.cli import cli
from togul_monitor.cli.wait import parse_wanted, run_wait
from togul_monitor.core import Monitor
from togul_monitor.domain.values import same_json
from togul_monitor.emulator.harness import EmulatorHandle

from .monitors import spy_on_monitors
from .test_monitor import make_profile, settled, wait_for


@contextlib.asynccontextmanager
async def waiting(
    emu: EmulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
    flag_key: str,
    wanted: Any,
    ready: Callable[[Monitor], bool],
) -> AsyncIterator[tuple[asyncio.Task[int], io.StringIO, io.StringIO]]:
    """`run_wait` on the production profile, yielded once its stream is open and `ready` holds
    for its monitor (the flag's first answer is in): a change made then comes after the start."""

    def never_records(options: dict[str, Any]) -> None:
        assert options.get("record") is False  # wait never writes the journal

    started = spy_on_monitors(monkeypatch, never_records)
    out, err = io.StringIO(), io.StringIO()
    task = asyncio.create_task(
        run_wait(make_profile(emu), flag_key, wanted, timeout=30, as_json=False, out=out, err=err)
    )
    try:
        await wait_for(lambda: started and ready(started[0]), what="the flag's first answer")
        await wait_for(lambda: emu.open_streams == 1, what="stream")
        yield task, out, err
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def cli_args(emu: EmulatorHandle, *rest: str) -> list[str]:
    key = emu.credentials.keys["production"]["sdk"]
    return ["wait", "--url", emu.base_url, "--api-key", key, "--environment", "production", *rest]


# --- a change while waiting --------------------------------------------------------------------


async def test_wait_exits_0_on_the_change_that_makes_the_value_true(
    emulator_any: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    # beta-search is false for the profile's context (user_id u-1) and not on its watch list.
    def ready(monitor: Monitor) -> bool:
        return settled(monitor, "beta-search")

    async with waiting(emulator_any, monkeypatch, "beta-search", True, ready) as (task, out, err):
        assert not task.done() and out.getvalue() == ""  # still false: still waiting
        world = emulator_any.world
        await asyncio.to_thread(world.update_flag, "production", "beta-search", default_value=True)
        # A bound against a hang, not a performance assertion.
        assert await asyncio.wait_for(asyncio.shield(task), 10) == 0
    line = out.getvalue()
    assert line.startswith("beta-search is true for this context (after ")
    assert line.endswith(" s)\n") and line.count("\n") == 1
    assert err.getvalue() == ""


async def test_a_flag_that_does_not_exist_is_waited_for_and_said_once(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(monitor: Monitor) -> bool:
        value = monitor.values().get("launch-day")
        return value is not None and value.deleted

    async with waiting(emulator, monkeypatch, "launch-day", "go", missing) as (task, out, err):
        assert not task.done()
        await asyncio.to_thread(
            emulator.world.create_flag,
            "production",
            "launch-day",
            value_type="string",
            default_value="go",
        )
        assert await asyncio.wait_for(asyncio.shield(task), 10) == 0
    assert out.getvalue().startswith('launch-day is "go" for this context (after ')
    assert err.getvalue() == (
        "wait: launch-day does not exist (yet): waiting for it to be created\n"
    )


# --- at start, and at the timeout --------------------------------------------------------------


def test_a_value_already_there_exits_0_at_start(emulator: EmulatorHandle) -> None:
    # dark-mode is true by default; the ad-hoc --url profile has an empty context.
    result = CliRunner().invoke(cli, cli_args(emulator, "dark-mode", "--value", "true"))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("dark-mode is true for this context (after ")
    assert result.stderr.count("\n") <= 1  # at most the warning about --api-key


def test_the_timeout_exits_1_saying_what_the_flag_still_is(emulator: EmulatorHandle) -> None:
    # Type-aware: the flag is true, and `1` is not `true`.
    args = cli_args(emulator, "dark-mode", "--value", "1", "--timeout", "1s")
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == "dark-mode is still true after 1 s (wanted 1)"


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "text"])
async def test_at_the_timeout_a_value_not_read_again_since_a_change_is_said_stale(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, as_json: bool
) -> None:
    """The flag changed and its re-evaluation failed: the value held is the one from before the
    change. It was reported as the flag's value (`is still false`, `"value": false`)."""
    started = spy_on_monitors(monkeypatch)
    out, err = io.StringIO(), io.StringIO()
    task = asyncio.create_task(
        run_wait(
            make_profile(emulator),
            "beta-search",
            True,
            timeout=4,
            as_json=as_json,
            out=out,
            err=err,
        )
    )
    await wait_for(lambda: started and settled(started[0], "beta-search"), what="answered")
    emulator.faults.fail_evaluate(1000, status=500)
    world = emulator.world
    await asyncio.to_thread(world.update_flag, "production", "beta-search", default_value=True)
    assert await asyncio.wait_for(task, 15) == 1
    if as_json:
        answer = json.loads(out.getvalue())
        assert answer["value"] is False and answer["stale"] is True, answer
        assert "500" in answer["error"], answer
    else:
        last = err.getvalue().splitlines()[-1]
        assert last.startswith("beta-search was false when last read, and may have changed since ")
        assert "is still" not in err.getvalue()


@pytest.mark.parametrize(
    ("flag_key", "value"),
    [
        ("search-algorithm", '"bm25"'),  # a JSON string
        ("search-algorithm", "bm25"),  # not JSON: taken as the string
        ("api-rate-limit", "100"),  # a number
        ("pricing-config", '{"trial_days": 14, "currency": "USD"}'),  # any key order
    ],
)
def test_the_value_is_json_when_it_parses(
    emulator: EmulatorHandle, flag_key: str, value: str
) -> None:
    result = CliRunner().invoke(cli, cli_args(emulator, flag_key, "--value", value, "--json"))
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["matched"] is True and answer["flag_key"] == flag_key
    assert answer["wanted"] == parse_wanted(value) and same_json(answer["value"], answer["wanted"])
    assert answer["exists"] is True and answer["elapsed_seconds"] >= 0


def test_parse_wanted_and_the_comparison_tell_types_apart() -> None:
    assert parse_wanted("true") is True and parse_wanted('"true"') == "true"
    assert parse_wanted("green") == "green" and parse_wanted("{bad") == "{bad"
    assert not same_json(True, 1) and not same_json(1, "1") and not same_json(True, "true")
    assert same_json(50, 50.0) and same_json({"a": [1, True]}, {"a": [1.0, True]})
    assert not same_json({"a": [1, True]}, {"a": [1, 1]})


def test_rejected_credentials_exit_3(emulator: EmulatorHandle) -> None:
    args = cli_args(emulator, "dark-mode", "--value", "false")
    args[args.index("--api-key") + 1] = "tgl_sdk_notakeynotakeynotakey00"
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 3, result.output
    # Evaluate or the stream may be first to be refused: the same line either way.
    assert "wait: the server rejected the credentials tgl_sdk_" in result.stderr
    assert "notakey" not in result.output and result.stdout == ""


# --- profiles that cannot evaluate ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--token", "t.t.t", "--environment", "production"], "no API key: wait evaluates"),
        (["--api-key", "tgl_sdk_0123456789abcdef0000"], "no environment key"),
        (["--api-key", "tgl_str_0123456789abcdef0000", "--environment", "p"], "of scope stream"),
        (["--api-key", "tgl_srv_0123456789abcdef0000", "--environment", "p"], "of scope server"),
    ],
)
def test_a_profile_that_cannot_evaluate_exits_2(extra: list[str], fragment: str) -> None:
    # Nothing listens there: the check comes before anything connects.
    args = ["wait", "--url", "http://127.0.0.1:9", *extra, "checkout-v2", "--value", "true"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert fragment in result.stderr and result.stderr.count("wait: ") >= 1
    assert result.stdout == ""
    assert "0123456789abcdef" not in result.output  # the key is masked


def test_tail_with_a_key_of_scope_server_and_no_token_exits_2_before_connecting() -> None:
    # As `wait` does: a key that can never open the stream is the profile's mistake, not a
    # credential the server rejected (exit 3).
    args = ["tail", "--url", "http://127.0.0.1:9", "--api-key", "tgl_srv_0123456789abcdef0000"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "of scope server, which cannot open the change stream" in result.stderr
    assert "0123456789abcdef" not in result.output  # the key is masked
