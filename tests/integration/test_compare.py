"""`togul-monitor compare ENV_A ENV_B` against the emulator: a world whose production and staging
differ in one rule prints that difference and exits 1; once an edit makes them equal it exits 0;
`--json` is one object; a profile without a token is a usage error (exit 2)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from togul_monitor.cli import cli
from togul_monitor.cli.compare import run_compare
from togul_monitor.config.profiles import Profile
from togul_monitor.emulator.harness import EmulatorHandle, running_emulator
from togul_monitor.emulator.seed import seed_state

ENVS = ("production", "staging")


def one_rule_apart(path: Path) -> Path:
    """The seeded world with staging made equal to production, but for checkout-v2's rollout
    (25% in production, 60% in staging). Ids, salts and versions stay each environment's own."""
    state: dict[str, Any] = seed_state(0)
    production = {f["key"]: f for f in state["flags"] if f["environment"] == "production"}
    for flag in state["flags"]:
        if flag["environment"] != "staging":
            continue
        twin = production[flag["key"]]
        flag["enabled"] = twin["enabled"]
        for rule, twin_rule in zip(flag["rules"], twin["rules"], strict=True):
            rule["rollout_percentage"] = twin_rule.get("rollout_percentage")
            if rule["rollout_percentage"] is None:
                rule.pop("rollout_percentage")
        flag["version"] = 3  # versions are never compared
    staging = next(
        f for f in state["flags"] if f["environment"] == "staging" and f["key"] == "checkout-v2"
    )
    staging["rules"][1]["rollout_percentage"] = 60
    path.write_text(json.dumps(state), encoding="utf-8")
    return path


@pytest.fixture
def apart(tmp_path: Path) -> Iterator[EmulatorHandle]:
    with running_emulator(state_file=one_rule_apart(tmp_path / "world.json")) as emu:
        yield emu


def compare(emu: EmulatorHandle, tmp_path: Path, *extra: str, envs: tuple[str, str] = ENVS) -> Any:
    token_file = tmp_path / "token"
    token_file.write_text(emu.credentials.org_token + "\n", encoding="utf-8")
    args = ["compare", *envs, "--url", emu.base_url]
    return CliRunner().invoke(cli, [*args, "--token-file", str(token_file), *extra])


def test_one_rule_apart_prints_that_rule_and_exits_1_then_0_once_equal(
    apart: EmulatorHandle, tmp_path: Path
) -> None:
    result = compare(apart, tmp_path)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines == [
        "checkout-v2: differs",
        "  rule 2 (percentage by user_id): rollout 25% → 60%",
        "production and staging differ: 23 flags, 22 same, 1 differs, 0 only in production, "
        "0 only in staging",
    ]
    apart.world.update_rule("staging", "checkout-v2", 1, rollout_percentage=25)
    result = compare(apart, tmp_path)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].startswith("production and staging match: 23 flags")


def test_json_is_one_object_and_a_flag_in_one_environment_differs(
    apart: EmulatorHandle, tmp_path: Path
) -> None:
    apart.world.create_flag("staging", "only-here", name="Only here")
    result = compare(apart, tmp_path, "--json")
    assert result.exit_code == 1, result.output
    (line,) = result.stdout.splitlines()
    body = json.loads(line)
    assert body["matches"] is False and body["only_b"] == ["only-here"] and body["only_a"] == []
    (flag,) = body["differing"]
    assert flag["flag_key"] == "checkout-v2"
    assert flag["differences"][0] | {"text": None} == {
        "path": "rule.rollout_percentage",
        "kind": "changed",
        "a": 25,
        "b": 60,
        "rule_a": 2,
        "rule_b": 2,
        "condition": "percentage by user_id",
        "text": None,
    }


def test_without_a_token_or_with_an_unknown_environment_it_is_a_usage_error(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    err = io.StringIO()
    key = emulator.credentials.keys["production"]["sdk"]
    profile = Profile(name="key-only", base_url=emulator.base_url, environment_key="", api_key=key)
    code = asyncio.run(
        run_compare(profile, "production", "staging", as_json=False, out=io.StringIO(), err=err)
    )
    assert code == 2 and "needs a token profile" in err.getvalue()
    wrong = compare(emulator, tmp_path, envs=("production", "qa"))
    assert wrong.exit_code == 2
    assert "no project visible to the token has the environments 'production', 'qa'" in (
        wrong.stderr
    )
