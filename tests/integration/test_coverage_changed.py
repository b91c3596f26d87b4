"""Coverage when the flag is edited during the run, against the emulator over loopback: the
configuration is read again after the last answer, and a change is said plainly (text, JSON,
the TUI's run) with no rule compared against either configuration; the command exits 1. The
edit lands during the run deterministically: the evaluate client makes it once a number of
answers are in, before it returns the answer that reached that number."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from togul_monitor.cli import cli
from togul_monitor.client.evaluate import EvaluateClient, EvaluateResult
from togul_monitor.client.management import ManagementError
from togul_monitor.config.profiles import Profile
from togul_monitor.core import coverage
from togul_monitor.core.coverage import CoverageRun, sample_coverage
from togul_monitor.emulator.harness import EmulatorHandle

from .test_coverage import cli_args, client_for, config_of, profile_for

FLAG = "checkout-v2"  # rule 1 `email ends with @acme.test` → true, rule 2 percentage → true
EDIT_AFTER = 20  # answers


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(coverage, "MAX_RATE", 100_000.0)


def editing_client(emu: EmulatorHandle, percentage: int) -> type[EvaluateClient]:
    """An evaluate client that sets rule 2's rollout to `percentage` once `EDIT_AFTER` answers
    are in: every request sent after that is answered by the edited configuration."""

    class Editing(EvaluateClient):
        answers = 0

        async def evaluate(
            self, flag_key: str, context: dict[str, str] | None = None
        ) -> EvaluateResult:
            result = await super().evaluate(flag_key, context)
            self.answers += 1
            if self.answers == EDIT_AFTER:
                emu.world.update_rule("production", FLAG, 1, rollout_percentage=percentage)
            return result

    return Editing


def patch_open_client(
    monkeypatch: pytest.MonkeyPatch, emu: EmulatorHandle, percentage: int, module: Any
) -> None:
    def opened(profile: Profile) -> EvaluateClient:
        assert profile.api_key is not None
        kind = editing_client(emu, percentage)
        return kind(profile.base_url, api_key=profile.api_key, environment_key="production")

    monkeypatch.setattr(module, "open_client", opened)


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_a_rollout_changed_during_the_command_is_said_and_exits_1(
    emulator: EmulatorHandle,
    fast: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    as_json: bool,
) -> None:
    from togul_monitor.cli import coverage as cli_coverage

    emulator.world.update_rule("production", FLAG, 1, rollout_percentage=90)
    before = asyncio.run(config_of(emulator, FLAG)).version
    assert before is not None
    patch_open_client(monkeypatch, emulator, 10, cli_coverage)
    token_file = tmp_path / "token"
    token_file.write_text(emulator.credentials.org_token + "\n", encoding="utf-8")
    args = [*cli_args(emulator, FLAG, "--samples", "200", "--seed", "1")]
    args += ["--token-file", str(token_file), *(["--json"] if as_json else [])]
    result = CliRunner().invoke(cli, args)
    said = (
        f"{FLAG} changed during the run (version {before} → {before + 1}): "
        "the samples mix both configurations; run it again"
    )
    assert result.exit_code == 1, result.output
    assert f"coverage: {said}" in result.stderr
    assert emulator.requests.count("POST", "/api/v1/evaluate") == 200 + 1  # + the key's check
    if not as_json:
        lines = result.stdout.splitlines()
        assert lines[0] == said
        assert lines[1].startswith("default: ") and lines[1].endswith("(200 samples)")
        assert "configured" not in result.stdout and "observed" not in result.stdout
        return
    data = json.loads(result.stdout)
    assert data["config_changed"] == {
        "version_before": before,
        "version_after": before + 1,
        "updated_at_before": data["config_changed"]["updated_at_before"],
        "updated_at_after": data["config_changed"]["updated_at_after"],
        "deleted": False,
    }
    assert data["config_known"] is True and data["flag_enabled"] is None
    (context,) = data["contexts"]
    assert context["rules"] == [] and context["applicability"] == []
    assert context["unexplained"] is None and context["answered"] == 200
    assert sum(v["count"] for v in context["values"]) == 200  # the answers are still counted


def test_the_tuis_run_reads_the_configuration_again_and_says_it_changed(
    emulator: EmulatorHandle, fast: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.world.update_rule("production", FLAG, 1, rollout_percentage=90)
    before = asyncio.run(config_of(emulator, FLAG))
    assert before.version is not None
    patch_open_client(monkeypatch, emulator, 10, coverage)
    profile = profile_for(emulator, token=emulator.credentials.org_token)
    # The monitor's copy, as the TUI gives it; the run reads its own before sampling.
    run = CoverageRun(profile, FLAG, config=before, samples=100, contexts={"d": {}}, seed=2)
    result = run.run()
    assert result is not None and result.config_known
    change = result.config_changed
    assert change is not None and not change.deleted
    assert (change.version_before, change.version_after) == (before.version, before.version + 1)
    (context,) = result.contexts
    assert context.answered == 100 and context.rules == () and context.applicability == ()


def test_an_unchanged_flag_keeps_its_rules_and_a_failed_read_after_is_said(
    emulator: EmulatorHandle, fast: None
) -> None:
    config = asyncio.run(config_of(emulator, FLAG))

    async def same() -> Any:
        return config

    async def failing() -> Any:
        raise ManagementError("management API answered HTTP 503 for /x", 503)

    async def sample(reread: Any) -> Any:
        client = client_for(emulator)
        try:
            return await sample_coverage(
                client, FLAG, {"d": {}}, config=config, samples=30, seed=1, reread=reread
            )
        finally:
            await client.aclose()

    unchanged = asyncio.run(sample(same))
    assert unchanged.config_changed is None and unchanged.recheck_failed is None
    assert unchanged.contexts[0].rules[0].reached == 30
    unknown = asyncio.run(sample(failing))
    assert unknown.config_changed is None
    assert unknown.recheck_failed == "management API answered HTTP 503 for /x"
    assert unknown.contexts[0].rules[0].reached == 30  # nothing says it changed
