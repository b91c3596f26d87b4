"""`serve`'s safe defaults, in process (click's runner, a real loopback server): new credentials
on every run unless `--seed`, fault switches only with `--faults`, loopback only unless
`--allow-remote`, every state-file string printed inert, a bad state file refused with its path."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from togul_monitor.cli import serve as serve_module
from togul_monitor.emulator.harness import EmulatorHandle, make_world
from togul_monitor.emulator.statefile import dump_state


def run_serve(monkeypatch: pytest.MonkeyPatch, *args: str, probe: Any = None) -> Result:
    """`serve --port 0 ARGS` until it would wait for Ctrl-C; `probe(emu)` runs meanwhile."""
    seen: list[Any] = []

    def idle(emu: EmulatorHandle) -> None:
        if probe is not None:
            seen.append(probe(emu))
        raise KeyboardInterrupt

    monkeypatch.setattr(serve_module, "idle", idle)
    monkeypatch.setattr(serve_module.signal, "signal", lambda *a: None)  # keep pytest's SIGTERM
    result = CliRunner().invoke(serve_module.serve, ["--port", "0", "--quiet", *args])
    result.probed = seen  # type: ignore[attr-defined]
    return result


def banner_value(output: str, label: str) -> str:
    match = re.search(rf"^  {label}\s+(\S+)", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def test_credentials_are_new_on_every_run_unless_seeded(monkeypatch: pytest.MonkeyPatch) -> None:
    runs = [run_serve(monkeypatch) for _ in range(2)]
    seeded = [run_serve(monkeypatch, "--seed", "5") for _ in range(2)]
    for result in runs + seeded:
        assert result.exit_code == 0, result.output
    tokens = [banner_value(r.output, "org token") for r in runs]
    logins = [banner_value(r.output, "login") for r in runs]
    assert tokens[0] != tokens[1]
    fixed = make_world(seed=0).credentials  # what every run printed before
    assert fixed.org_token not in tokens
    assert all(fixed.keys["production"]["sdk"] not in r.output for r in runs)
    assert re.search(r"login\s+\S+ / (\S+)", runs[0].output).group(1) != "togul-emulator"  # type: ignore[union-attr]
    assert logins[0] == logins[1] == "admin@acme.test"  # the user name is not a secret
    # The keys, the refresh token and the password are the seed's (the org token is re-signed
    # with each run's issue time, so it differs between runs a second apart).
    for label in ("  sdk", "  server", "refresh", "login"):
        assert banner_value(seeded[0].output, label) == banner_value(seeded[1].output, label)
    assert "new on every run" in runs[0].output and "same on every run" in seeded[0].output


def _fault_status(emu: EmulatorHandle) -> int:
    token = {"Authorization": f"Bearer {emu.credentials.org_token}"}
    url = emu.base_url + "/_emulator/faults/forget-replay"
    return httpx.post(url, headers=token, timeout=5).status_code


def test_fault_switches_need_faults(monkeypatch: pytest.MonkeyPatch) -> None:
    off = run_serve(monkeypatch, probe=_fault_status)
    on = run_serve(monkeypatch, "--faults", probe=_fault_status)
    assert off.probed == [404] and on.probed == [200]  # type: ignore[attr-defined]
    assert "switches off" in off.output and "switches on" in on.output


def test_listing_beyond_loopback_needs_allow_remote(monkeypatch: pytest.MonkeyPatch) -> None:
    refused = run_serve(monkeypatch, "--host", "0.0.0.0", "--faults")
    assert refused.exit_code == 2
    assert "--allow-remote" in refused.output and "listening on" not in refused.output
    allowed = run_serve(monkeypatch, "--host", "0.0.0.0", "--allow-remote", "--faults")
    assert allowed.exit_code == 0, allowed.output
    assert "warning: listening on 0.0.0.0" in allowed.output
    assert "fault switches" in allowed.output and "credentials" in allowed.output
    assert run_serve(monkeypatch, "--host", "localhost").exit_code == 0  # loopback by name


def test_state_file_strings_are_printed_inert(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    doc = dump_state(make_world(seed=2))
    doc["project"]["id"] = "\x1b]0;owned\x07project"
    doc["environments"][0]["id"] = "\x1b[31mred\x1b[0m"
    doc["environments"][1]["key"] = "stag\x1b[2Jing"
    for key in doc["api_keys"]:
        if key["environment"] == "staging":
            key["environment"] = "stag\x1b[2Jing"
    doc["flags"] = []
    path = tmp_path / "world.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = run_serve(monkeypatch, "--state", str(path))
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert (
        "\ufffd[31mred\ufffd[0m" in result.output and "\ufffd]0;owned\ufffdproject" in result.output
    )


def test_a_bad_state_file_exits_2_with_the_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "bad.json"
    doc = {"environments": [{"key": "a"}, {"key": "b", "id": 5}]}
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = run_serve(monkeypatch, "--state", str(path))
    assert result.exit_code == 2
    assert "environments[1].id: expected a string" in result.output
    path.write_bytes(b'{"environments": [{"key": "\xff\x1b[2J"}]}')
    result = run_serve(monkeypatch, "--state", str(path))
    assert result.exit_code == 2 and "not UTF-8 text" in result.output
    path.write_text('{"environments": [{"key": "a"}], "x": "\\u001b[2J\\ud800"}', encoding="utf-8")
    result = run_serve(monkeypatch, "--state", str(path))
    assert result.exit_code == 2 and "x: text is not valid Unicode" in result.output
