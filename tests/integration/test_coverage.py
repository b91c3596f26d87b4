"""Rollout coverage against the emulator over loopback: a 50 % rule observed near 50 %, a context
an attribute rule catches never reaching the percentage rule, the pacing (a clock of the test's
own: at most 50 request starts in any second, at most 4 in flight), stops on a refused key and
an unknown flag, the per-call context of the evaluate client, and `coverage --json`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from togul_monitor.cli import cli
from togul_monitor.client.evaluate import EvaluateClient, EvaluateResult, Outcome
from togul_monitor.config.profiles import Profile
from togul_monitor.core import coverage
from togul_monitor.core.coverage import (
    MAX_IN_FLIGHT,
    MAX_RATE,
    CoverageRun,
    read_flag_config,
    sample_coverage,
)
from togul_monitor.domain.flag_config import FlagConfig
from togul_monitor.emulator.harness import EmulatorHandle

EVALUATE = "/api/v1/evaluate"


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """No pacing to speak of: these tests measure shares, not the pace (tested on its own)."""
    monkeypatch.setattr(coverage, "MAX_RATE", 100_000.0)


def client_for(emu: EmulatorHandle, key: str | None = None) -> EvaluateClient:
    return EvaluateClient(
        emu.base_url,
        api_key=key or emu.credentials.keys["production"]["sdk"],
        environment_key="production",
        context={"user_id": "the-monitors-own"},
    )


def profile_for(emu: EmulatorHandle, **extra: Any) -> Profile:
    fields: dict[str, Any] = {
        "name": "cov",
        "base_url": emu.base_url,
        "environment_key": "production",
        "api_key": emu.credentials.keys["production"]["sdk"],
        "context": {"plan": "free"},
        "contexts": {"acme": {"email": "dev@acme.test"}},
    }
    fields.update(extra)
    return Profile(**fields)


async def config_of(emu: EmulatorHandle, flag_key: str) -> FlagConfig:
    token = emu.credentials.org_token
    config = await read_flag_config(profile_for(emu), flag_key, lambda: token)
    assert config is not None
    return config


async def test_a_50_percent_rule_is_observed_within_3_deviations_over_400_samples(
    emulator: EmulatorHandle, fast: None
) -> None:
    config = await config_of(emulator, "new-onboarding")
    client = client_for(emulator)
    try:
        result = await sample_coverage(
            client,
            "new-onboarding",
            {"default": {"plan": "free"}},
            config=config,
            samples=400,
            seed=0,  # the same 400 users every run
        )
    finally:
        await client.aclose()
    (context,) = result.contexts
    (rule,) = context.rules
    assert (context.answered, context.failed, context.unexplained) == (400, 0, 0)
    assert rule.configured == 50 and rule.reached == 400
    # Over 400 users one standard deviation of the observed share is 2.5 points: 3 of them
    # (a random 400 missed a band of 2, 5 points, about one run in 20).
    assert rule.observed is not None and 42.5 <= rule.observed <= 57.5, rule.observed
    shares = {v.value: v.share for v in context.values}
    assert shares[True] == rule.observed and shares[True] + shares[False] == 100.0
    assert emulator.requests.count("POST", EVALUATE) == 400


async def test_a_context_caught_by_an_attribute_rule_first_never_reaches_the_rollout(
    emulator: EmulatorHandle, fast: None
) -> None:
    # checkout-v2: rule 1 `email ends with @acme.test` → true, rule 2 25 % → true.
    config = await config_of(emulator, "checkout-v2")
    contexts = {"default": {"plan": "free"}, "acme": {"email": "dev@acme.test"}}
    client = client_for(emulator)
    try:
        result = await sample_coverage(
            client, "checkout-v2", contexts, config=config, samples=100, seed=3
        )
    finally:
        await client.aclose()
    free, acme = result.contexts
    assert acme.rules[0].reached == 0 and acme.unexplained == 0
    assert [(v.value, v.count) for v in acme.values] == [(True, 100)]
    assert [a.status for a in acme.applicability] == ["matches", "not reached"]
    assert free.rules[0].reached == 100 and 0 < free.rules[0].took < 100
    # The monitor's own client is another one: its context and counters are its own.
    assert client.context == {"user_id": "the-monitors-own"}


async def test_pacing_allows_50_starts_a_second_and_4_in_flight() -> None:
    """A clock of the test's own: `sleep` moves it to the sleeper's wake-up time once the loop
    resumes the sleeper (sleepers resume in the order they slept), so each request starts at
    the time the pacer gave it (no real waiting, no timed assertion)."""
    from togul_monitor.emulator.harness import running_emulator

    now = [0.0]
    starts: list[float] = []
    in_flight = [0, 0]  # now, most

    async def sleep(seconds: float) -> None:
        wake = now[0] + seconds
        await asyncio.sleep(0)
        now[0] = max(now[0], wake)

    class Recording(EvaluateClient):
        async def evaluate(
            self, flag_key: str, context: dict[str, str] | None = None
        ) -> EvaluateResult:
            starts.append(now[0])
            in_flight[0] += 1
            in_flight[1] = max(in_flight)
            try:
                return await super().evaluate(flag_key, context)
            finally:
                in_flight[0] -= 1

    with running_emulator(seed=0) as emu:
        client = Recording(
            emu.base_url, api_key=emu.credentials.keys["production"]["sdk"],
            environment_key="production",
        )  # fmt: skip
        try:
            result = await sample_coverage(
                client, "new-onboarding", {"a": {}, "b": {}}, samples=120,
                clock=lambda: now[0], sleep=sleep,
            )  # fmt: skip
        finally:
            await client.aclose()
        assert emu.requests.count("POST", EVALUATE) == 240
    assert sum(c.answered for c in result.contexts) == 240
    assert len(starts) == 240 and starts == sorted(starts)
    per = int(MAX_RATE)
    # Any 51 consecutive starts span at least a second: no second holds more than 50.
    assert all(starts[i + per] - starts[i] >= 1.0 - 1e-9 for i in range(len(starts) - per))
    assert starts[-1] == pytest.approx(239 / MAX_RATE)  # and the pace is not slower either
    assert in_flight[1] <= MAX_IN_FLIGHT


async def test_a_refused_key_stops_at_once_and_an_unknown_flag_too(
    emulator: EmulatorHandle, fast: None
) -> None:
    client = client_for(emulator, key="tgl_sdk_notakeynotakeynotakey00")
    try:
        result = await sample_coverage(client, "new-onboarding", {"d": {}}, samples=500)
    finally:
        await client.aclose()
    assert result.stop_kind == "rejected" and "rejected" in (result.stopped or "")
    assert emulator.requests.count("POST", EVALUATE) <= MAX_IN_FLIGHT
    client = client_for(emulator)
    try:
        result = await sample_coverage(client, "no-such-flag", {"d": {}}, samples=500)
    finally:
        await client.aclose()
    assert result.stop_kind == "not_found"
    assert emulator.requests.count("POST", EVALUATE) <= 2 * MAX_IN_FLIGHT


async def test_the_evaluate_client_takes_a_context_per_call(emulator: EmulatorHandle) -> None:
    client = client_for(emulator)
    try:
        own = await client.evaluate("checkout-v2")
        acme = await client.evaluate("checkout-v2", {"email": "x@acme.test", "user_id": "a"})
        again = await client.evaluate("checkout-v2")
    finally:
        await client.aclose()
    assert own.outcome is Outcome.OK and acme.outcome is Outcome.OK
    assert acme.evaluation is not None and acme.evaluation.value is True
    assert again.evaluation == own.evaluation  # the client's own context is unchanged
    assert client.counters.requests == 3


def test_a_run_cancelled_before_it_starts_sends_nothing(emulator: EmulatorHandle) -> None:
    run = CoverageRun(profile_for(emulator), "new-onboarding", config=None, samples=50)
    run.cancel()
    assert run.run() is None
    assert emulator.requests.count("POST", EVALUATE) == 0


def test_a_run_cancelled_midway_stops_sending(emulator: EmulatorHandle) -> None:
    holder: list[CoverageRun] = []

    def progress(done: int, total: int) -> None:
        if done == 10:
            holder[0].cancel()

    run = CoverageRun(
        profile_for(emulator), "new-onboarding", config=None, samples=2000, progress=progress
    )
    holder.append(run)
    assert run.run() is None
    assert emulator.requests.count("POST", EVALUATE) < 10 + 2 * MAX_IN_FLIGHT


# --- the command ---------------------------------------------------------------------------------


def cli_args(emu: EmulatorHandle, *rest: str) -> list[str]:
    key = emu.credentials.keys["production"]["sdk"]
    return [
        "coverage",
        "--url",
        emu.base_url,
        "--api-key",
        key,
        "--environment",
        "production",
        *rest,
    ]


def test_coverage_json_with_a_token_has_configured_and_observed(
    emulator: EmulatorHandle, fast: None, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(emulator.credentials.org_token + "\n", encoding="utf-8")
    args = cli_args(emulator, "checkout-button-color", "--samples", "200", "--seed", "1", "--json")
    result = CliRunner().invoke(cli, [*args, "--token-file", str(token_file)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["flag_key"] == "checkout-button-color" and data["config_known"] is True
    # Read again after the run, unchanged: nothing said, the rules compared.
    assert data["config_changed"] is None and data["recheck_failed"] is None
    (context,) = data["contexts"]
    (rule,) = context["rules"]
    assert rule["configured"] == 50 and rule["reached"] == 200 and rule["return_value"] == "green"
    assert 40 <= rule["observed"] <= 60
    assert {v["value"] for v in context["values"]} == {"green", "blue"}
    assert sum(v["count"] for v in context["values"]) == 200
    # The samples, and the check that the key belongs to the environment.
    assert emulator.requests.count("POST", EVALUATE) == 200 + 1
    # The same seed is the same synthetic users: the same answer.
    again = CliRunner().invoke(cli, [*args, "--token-file", str(token_file)])
    assert json.loads(again.stdout)["contexts"] == data["contexts"]


def test_coverage_without_a_token_prints_observed_shares_only(
    emulator: EmulatorHandle, fast: None
) -> None:
    result = CliRunner().invoke(cli, cli_args(emulator, "new-onboarding", "--samples", "40"))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("default: ") and lines[0].endswith("(40 samples)")
    assert lines[-1].startswith("observed shares only")
    assert "no token: observed shares only" in result.stderr


def test_coverage_exit_codes(emulator: EmulatorHandle, fast: None) -> None:
    args = cli_args(emulator, "new-onboarding", "--samples", "5")
    args[args.index("--api-key") + 1] = "tgl_sdk_notakeynotakeynotakey00"
    assert CliRunner().invoke(cli, args).exit_code == 3
    # A key of another environment is the profile's mistake, as for every command.
    other = cli_args(emulator, "new-onboarding", "--samples", "5")
    other[other.index("--api-key") + 1] = emulator.credentials.keys["staging"]["sdk"]
    refused = CliRunner().invoke(cli, other)
    assert refused.exit_code == 2 and "belongs to another environment" in refused.stderr
    unknown = CliRunner().invoke(cli, cli_args(emulator, "no-such-flag", "--samples", "5"))
    assert unknown.exit_code == 1 and "stopped early: no flag no-such-flag" in unknown.stdout
    bad_context = cli_args(emulator, "new-onboarding", "--context", "nobody")
    result = CliRunner().invoke(cli, bad_context)
    assert result.exit_code == 2 and "unknown context nobody" in result.stderr
    too_many = CliRunner().invoke(cli, cli_args(emulator, "new-onboarding", "--samples", "2001"))
    assert too_many.exit_code == 2
    # Every request failed (fewer than stop a run in a row): nothing measured is a failure,
    # and its reason is said, never a quiet 0.
    emulator.faults.fail_evaluate(40, status=500)
    failing = CliRunner().invoke(cli, cli_args(emulator, "new-onboarding", "--samples", "5"))
    assert failing.exit_code == 1
    assert "coverage: stopped: every request failed (HTTP 500" in failing.stderr
