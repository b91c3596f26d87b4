"""Environments are facts, not labels: a profile whose API key belongs to another environment
is refused at start (or stopped at its first event), and an environment that cannot be verified
is never named after the profile's."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from togul_monitor.cli import cli
from togul_monitor.config.entry import Profile
from togul_monitor.config.errors import ConfigError
from togul_monitor.core import Monitor
from togul_monitor.domain.events import ConnectionState, FlagEvent
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.store.journal import journal_path

from .test_monitor import wait_for


async def wait_live(monitor: Monitor) -> None:
    """Until the stream is live: the notes "environment not verified" are due from then on
    (core/environment.py `Environments.live`)."""
    await wait_for(
        lambda: monitor.snapshot().status.state is ConnectionState.LIVE, what="the stream live"
    )


def profile(emu: EmulatorHandle, environment: str, **fields: Any) -> Profile:
    base: dict[str, Any] = {
        "name": "env-check",
        "base_url": emu.base_url,
        "environment_key": environment,
        "heartbeat_seconds": 0.2,
    }
    base.update(fields)
    return Profile(**base)


async def test_a_key_of_another_environment_is_refused_at_start(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    staging_key = emulator.credentials.keys["staging"]["sdk"]
    monitor = Monitor(
        profile(emulator, "production", api_key=staging_key), journal_dir=tmp_path / "journal"
    )
    with pytest.raises(ConfigError) as info:
        await monitor.start()
    await monitor.stop()
    message = str(info.value)
    assert "belongs to another environment than 'production'" in message
    assert staging_key[-4:] in message and staging_key not in message  # masked
    assert info.value.exit_code == 2
    assert emulator.open_streams == 0  # refused before the stream started...
    assert not journal_path("env-check", tmp_path / "journal").exists()  # ...or a journal


async def test_an_environment_that_does_not_exist_is_refused(emulator: EmulatorHandle) -> None:
    key = emulator.credentials.keys["production"]["sdk"]
    monitor = Monitor(profile(emulator, "nope", api_key=key), record=False)
    with pytest.raises(ConfigError, match="'nope'"):
        await monitor.start()
    await monitor.stop()
    # With a token, the management API says which environments there are.
    token_only = Monitor(
        profile(emulator, "nope", token=emulator.credentials.org_token), record=False
    )
    with pytest.raises(ConfigError) as info:
        await token_only.start()
    await token_only.stop()
    assert "no environment with key 'nope'" in str(info.value)
    assert "'production', 'staging'" in str(info.value)


def test_tail_exits_2_naming_the_environment(emulator: EmulatorHandle) -> None:
    staging_key = emulator.credentials.keys["staging"]["sdk"]
    args = ["tail", "--url", emulator.base_url, "--api-key", staging_key]
    result = CliRunner().invoke(cli, [*args, "--environment", "production"])
    assert result.exit_code == 2, result.output
    assert "belongs to another environment than 'production'" in result.stderr
    assert result.stdout == "" and staging_key not in result.output


async def test_a_streaming_key_of_another_environment_stops_at_its_first_event(
    emulator: EmulatorHandle,
) -> None:
    # A stream-scope key cannot evaluate, so only its first event can tell its environment:
    # the token's lookup knows production's id, and the key streams staging's.
    creds = emulator.credentials
    monitor = Monitor(
        profile(
            emulator,
            "production",
            api_key=creds.keys["staging"]["stream"],
            token=creds.org_token,
        ),
        record=False,
    )
    updates = monitor.updates()
    seen: list[object] = []

    async def collect() -> None:
        async for item in updates:
            seen.append(item)

    await monitor.start()
    reader = asyncio.get_running_loop().create_task(collect())
    try:
        await wait_for(lambda: emulator.open_streams == 1, what="the stream")
        await asyncio.to_thread(emulator.world.update_flag, "staging", "checkout-v2", enabled=False)
        await wait_for(lambda: monitor.configuration_error is not None, what="the mismatch")
        await wait_for(
            lambda: monitor.snapshot().status.state is ConnectionState.STOPPED, what="stopped"
        )
        error = str(monitor.configuration_error)
        assert "'staging'" in error and creds.environment_ids["staging"] in error
        assert "'production'" in error and creds.environment_ids["production"] in error
        assert monitor.snapshot().status.error == error
        await wait_for(lambda: emulator.open_streams == 0, what="the stream closed")
        # A restart cannot fix it (on the loop, the intent runs at once): the profile must.
        monitor.restart_stream()
        assert not monitor._intake.running
        assert monitor.snapshot().status.state is ConnectionState.STOPPED
        # The event is shown, under its own environment; nothing was evaluated for it.
        (event,) = [i for i in seen if isinstance(i, FlagEvent)]
        assert monitor.environment_names()[event.environment_id] == "staging"
        assert all(v.trigger_event_id is None for v in monitor.snapshot().values.values())
    finally:
        await monitor.stop()
        reader.cancel()


def tail_production(emulator: EmulatorHandle, changed: str, *args: str) -> Result:
    """`tail --environment production` with `args`, while checkout-v2 changes in environment
    `changed` once the stream is open."""

    def change_once_streaming() -> None:
        if emulator.wait_for_streams(1, timeout=10):
            emulator.world.update_flag(changed, "checkout-v2", enabled=False)

    producer = threading.Thread(target=change_once_streaming, daemon=True)
    producer.start()
    command = ["tail", "--url", emulator.base_url, "--environment", "production", *args]
    result = CliRunner().invoke(cli, command)
    producer.join()
    return result


def test_tail_exits_2_when_the_first_event_is_of_another_environment(
    emulator: EmulatorHandle,
) -> None:
    creds = emulator.credentials
    stream_key = creds.keys["staging"]["stream"]
    result = tail_production(
        emulator, "staging", "--api-key", stream_key, "--token", creds.org_token
    )
    assert result.exit_code == 2, result.output
    assert "the API key streams environment 'staging'" in result.stderr
    assert creds.org_token not in result.output


async def test_a_pair_that_cannot_be_verified_keeps_the_id(emulator: EmulatorHandle) -> None:
    # A stream-scope key, no token: nothing can tell its environment. Even when the profile is
    # right, the events are not named after it.
    creds = emulator.credentials
    monitor = Monitor(
        profile(emulator, "production", api_key=creds.keys["production"]["stream"]),
        record=False,
    )
    await monitor.start()
    try:
        await wait_live(monitor)
        notes = monitor.snapshot().notices
        assert any("environment not verified" in n for n in notes), notes
        assert not monitor.snapshot().environment_verified  # the header says so (status bar)
        await wait_for(lambda: emulator.open_streams == 1, what="the stream")
        await asyncio.to_thread(
            emulator.world.update_flag, "production", "checkout-v2", enabled=False
        )
        production = creds.environment_ids["production"]
        await wait_for(lambda: monitor.snapshot().environment_id == production, what="the id")
        assert production not in monitor.environment_names()
        assert "production" not in monitor.environment_names().values()
    finally:
        await monitor.stop()


async def a_production_event_is_named_production(
    emulator: EmulatorHandle, monitor: Monitor
) -> None:
    """A change in production, streamed: its environment is named after the profile's."""
    await wait_for(lambda: emulator.open_streams == 1, what="the stream")
    await asyncio.to_thread(emulator.world.update_flag, "production", "checkout-v2", enabled=False)
    production = emulator.credentials.environment_ids["production"]
    await wait_for(lambda: production in monitor.environment_names(), what="the name")
    assert monitor.environment_names()[production] == "production"


async def test_a_verified_key_names_its_events_and_the_probe_is_no_evaluation(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    evaluated: list[str] = []
    world_evaluate = emulator.world.evaluate

    def counting(environment: str, flag_key: str, context: dict[str, str]) -> Any:
        evaluated.append(flag_key)
        return world_evaluate(environment, flag_key, context)

    monkeypatch.setattr(emulator.world, "evaluate", counting)
    creds = emulator.credentials
    monitor = Monitor(
        profile(emulator, "production", api_key=creds.keys["production"]["sdk"]), record=False
    )
    await monitor.start()
    try:
        assert len(evaluated) == 1  # the probe: one request, nothing retried
        assert monitor.snapshot().evaluate_requests == 0  # ...which no view counts
        assert not any("not verified" in n for n in monitor.snapshot().notices)
        assert monitor.snapshot().environment_verified
        await a_production_event_is_named_production(emulator, monitor)
    finally:
        await monitor.stop()


async def test_a_probe_without_answer_is_made_again_and_another_environment_stops(
    emulator: EmulatorHandle,
) -> None:
    """A server that could not answer the probe at start (a 503 from an overloaded one): its
    stream's events prove it answers, the probe is made again, and a key of another environment
    stops the stream as it would have at start, instead of streaming staging as production."""
    creds = emulator.credentials
    emulator.faults.fail_evaluate(1, status=503)
    monitor = Monitor(
        profile(emulator, "production", api_key=creds.keys["staging"]["sdk"]), record=False
    )
    await monitor.start()  # no verdict: not refused
    try:
        await wait_live(monitor)
        notes = monitor.snapshot().notices
        assert any("environment not verified" in n and "503" in n for n in notes), notes
        await wait_for(lambda: emulator.open_streams == 1, what="the stream")
        await asyncio.to_thread(emulator.world.update_flag, "staging", "checkout-v2", enabled=False)
        await wait_for(lambda: monitor.configuration_error is not None, what="the mismatch")
        refused = monitor.configuration_error
        assert refused is not None and refused.exit_code == 2
        error = str(refused)
        assert "belongs to another environment than 'production'" in error
        await wait_for(
            lambda: monitor.snapshot().status.state is ConnectionState.STOPPED, what="stopped"
        )
        assert monitor.snapshot().status.error == error
        assert "production" not in monitor.environment_names().values()  # never named so
    finally:
        await monitor.stop()


async def test_a_probe_without_answer_verifies_the_key_later_and_names_its_events(
    emulator: EmulatorHandle,
) -> None:
    creds = emulator.credentials
    emulator.faults.fail_evaluate(1, status=503)
    monitor = Monitor(
        profile(emulator, "production", api_key=creds.keys["production"]["sdk"]), record=False
    )
    await monitor.start()
    try:
        await wait_live(monitor)
        assert any("not verified" in n for n in monitor.snapshot().notices)
        assert not monitor.snapshot().environment_verified
        await a_production_event_is_named_production(emulator, monitor)
        assert not any("not verified" in n for n in monitor.snapshot().notices)  # no longer
        assert monitor.snapshot().environment_verified
        assert monitor.configuration_error is None
    finally:
        await monitor.stop()


@pytest.mark.parametrize("count", [None, 1])
def test_tail_exits_2_when_the_probe_made_again_finds_another_environment(
    emulator: EmulatorHandle, count: int | None
) -> None:
    """With `--count` too: reaching the count first must not turn the wrong environment into
    a success (the count waits for the probe, as for the re-evaluations)."""
    emulator.faults.fail_evaluate(1, status=503)  # the probe at start gets no verdict
    args = ["--no-record", "--api-key", emulator.credentials.keys["staging"]["sdk"]]
    args += ["--count", str(count)] if count is not None else []
    result = tail_production(emulator, "staging", *args)
    assert result.exit_code == 2, result.output
    assert "environment not verified" in result.stderr
    assert "belongs to another environment than 'production'" in result.stderr


async def test_a_stream_scope_key_asks_for_no_evaluation(emulator: EmulatorHandle) -> None:
    creds = emulator.credentials
    monitor = Monitor(
        profile(emulator, "production", api_key=creds.keys["production"]["stream"], watch=("a",)),
        record=False,
    )
    await monitor.start()
    try:
        await wait_for(lambda: emulator.open_streams == 1, what="the stream")
        await asyncio.to_thread(
            emulator.world.update_flag, "production", "checkout-v2", enabled=False
        )
        await wait_for(lambda: monitor.snapshot().counters.events == 1, what="the event")
        assert monitor.evaluator is None
        assert emulator.requests.count("POST", "/api/v1/evaluate") == 0  # never a 403 asked for
        assert any(
            "scope stream: values are not evaluated" in n for n in monitor.snapshot().notices
        )
    finally:
        await monitor.stop()


def test_tail_count_waits_only_for_the_probe_running_at_the_count(
    emulator: EmulatorHandle,
) -> None:
    """An evaluate that keeps answering 503: the probe is owed for good, and `--count` waited
    out its whole settle for it, then warned of changes it could not have missed."""
    emulator.faults.fail_evaluate(1_000, status=503)
    key = emulator.credentials.keys["production"]["sdk"]
    result = tail_production(
        emulator, "production", "--no-record", "--api-key", key, "--count", "1"
    )
    assert result.exit_code == 0, result.output
    assert "environment not verified" in result.stderr
    # Said once the stream is live, not before it tried (core/environment.py `live`).
    assert result.stderr.index("live since") < result.stderr.index("environment not verified")
    assert "exiting before" not in result.stderr
