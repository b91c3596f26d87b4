"""`togul-monitor profiles ...` end to end: exit codes, masking, concurrency, broken files."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from togul_monitor.cli import cli
from togul_monitor.config import paths
from togul_monitor.config.profiles import load_config

SECRET = "tgl_sdk_cmdline0secret0value0123456789"
TOKEN_SECRET = "eyJhbGciOiJIUzI1NiJ9.cmdline-token-secret.sig0123456789"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_add_list_edit_remove_default_path(monkeypatch: pytest.MonkeyPatch) -> None:
    result = run(
        "profiles", "add", "prod", "--url", "https://api.togul.io", "--environment",
        "production", "--api-key-env", "PROD_KEY", "--context", "plan=premium",
        "--watch", "new-dashboard", "--default",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "added profile 'prod' (default)" in result.stdout
    assert "hint" not in result.stderr  # an _env reference needs no advice

    result = run("profiles", "list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[1].startswith("*") and "prod" in lines[1] and "api key $PROD_KEY" in lines[1]
    assert any("demo-staging (built-in)" in line for line in lines)

    monkeypatch.setenv("TOGUL_API_KEY", SECRET)
    result = run("profiles", "list")
    assert "TOGUL_API_KEY set: they override" in result.stderr and SECRET not in result.output
    monkeypatch.delenv("TOGUL_API_KEY")

    assert run("profiles", "edit", "prod", "--environment", "staging").exit_code == 0
    rows = [json.loads(line) for line in run("profiles", "list", "--json").stdout.splitlines()]
    assert rows[0]["environment_key"] == "staging" and rows[0]["context"] == {"plan": "premium"}

    result = run("profiles", "default", "demo-staging")
    assert result.exit_code == 0 and load_config().default_profile == "demo-staging"

    result = run("profiles", "remove", "prod")
    assert result.exit_code == 0 and load_config().profiles == {}

    result = run("profiles", "path")
    assert result.exit_code == 0
    assert str(paths.profiles_file()) in result.stdout
    assert str(paths.journal_dir()) in result.stdout


def test_a_long_watched_key_is_cut_in_the_list_and_whole_in_show() -> None:
    key = "k" * 3_000  # a watched key is the server's text: any length
    args = ("--url", "https://api.togul.io", "--environment", "production", "--api-key-env", "K")
    assert run("profiles", "add", "long", *args, "--watch", key, "--watch", "b").exit_code == 0
    listed = run("profiles", "list")
    assert listed.exit_code == 0
    assert max(len(line) for line in listed.stdout.splitlines()) < 200
    assert "kkk…" in listed.stdout
    assert key in run("profiles", "show", "long").stdout


def test_usage_and_config_errors_exit_2() -> None:
    result = run("profiles", "add", "x", "--url", "https://a.example", "--environment", "p")
    assert result.exit_code == 2 and "credential is required" in result.output
    result = run(
        "profiles", "add", "x", "--url", "http://a.example", "--environment", "p",
        "--token-env", "T",
    )  # fmt: skip
    assert result.exit_code == 2 and "plain http:// to 'a.example' is refused" in result.stderr
    assert not paths.profiles_file().exists()
    result = run("profiles", "edit", "nope", "--environment", "p")
    assert result.exit_code == 2 and "no profile named 'nope'" in result.stderr
    result = run("profiles", "remove", "demo-production")
    assert result.exit_code == 2 and "built-in" in result.stderr


def test_a_secret_from_the_command_line_is_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    outputs = []
    result = run(
        "profiles", "add", "prod", "--url", "https://api.togul.io", "--environment",
        "production", "--api-key", SECRET, "--token", TOKEN_SECRET,
    )  # fmt: skip
    assert result.exit_code == 0
    assert "tgl_sdk_…6789" in result.stdout  # masked: prefix and last four
    assert "--api-key-env VAR" in result.stderr and "--token-env VAR" in result.stderr
    assert "--api-key puts the API key in the command line" in result.stderr
    assert "--token puts the token in the command line" in result.stderr
    # Per secret: it was visible in the process list, and it is stored in the file.
    assert len(result.stderr.strip().splitlines()) == 4
    outputs.append(result.output)
    for args in (
        ("profiles", "list"),
        ("profiles", "list", "--json"),
        ("profiles", "add", "prod", "--url", "https://a.example", "--environment", "p",
         "--api-key", SECRET),  # exists already: an error
        ("profiles", "edit", "prod", "--url", "http://insecure.example", "--api-key", SECRET),
        ("profiles", "edit", "prod", "--api-key", SECRET),
        ("profiles", "path"),
    ):  # fmt: skip
        result = run(*args)
        outputs.append(result.output)
    assert "exists already" in outputs[3] and "refused" in outputs[4]
    log_text = paths.log_file().read_text()  # the CLI's log file exists, and holds no secret
    everything = "\n".join(outputs) + caplog.text + log_text
    for secret in (SECRET, TOKEN_SECRET, SECRET[8:], TOKEN_SECRET[:-4]):
        assert secret not in everything
    assert load_config().profiles["prod"].api_key == SECRET  # stored, as asked


@pytest.mark.parametrize(
    "args",
    [
        ("profiles", "list"),
        ("profiles", "add", "x", "--url", "https://a.example", "--environment", "p",
         "--token-env", "T"),
        ("profiles", "edit", "prod", "--environment", "p"),
        ("profiles", "remove", "prod"),
        ("profiles", "default", "prod"),
        ("profiles", "path"),
        ("tail", "--profile", "prod", "--count", "1"),
        ("history", "--profile", "prod", "checkout-v2"),
        ("export", "--profile", "prod", "--format", "jsonl"),
    ],
)  # fmt: skip
def test_syntax_error_exits_2_with_file_and_line_and_changes_nothing(
    args: tuple[str, ...],
) -> None:
    path = paths.profiles_file()
    path.parent.mkdir(parents=True)
    broken = b'default_profile = "prod"\n\n[profiles.prod]\nbase_url = https://oops\n'
    path.write_bytes(broken)
    path.chmod(0o644)
    result = run(*args)
    assert result.exit_code == 2
    assert f"{path}:4:" in result.stderr and "TOML syntax error" in result.stderr
    assert "Traceback" not in result.output
    assert path.read_bytes() == broken
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # not even the mode was touched


def test_syntax_error_at_end_of_file_names_the_last_line() -> None:
    path = paths.profiles_file()
    path.parent.mkdir(parents=True)
    broken = b'[profiles.prod]\nbase_url = "https://a.example"\nwatch = [\n\n'
    path.write_bytes(broken)
    result = run("profiles", "list")
    assert result.exit_code == 2
    assert f"{path}:3:" in result.stderr and "TOML syntax error" in result.stderr
    assert path.read_bytes() == broken


_ADD_SCRIPT = """
import sys
from togul_monitor.cli import cli
sys.argv = ["togul-monitor", "profiles", "add", sys.argv[1], "--url", "https://a.example",
            "--environment", "production", "--token-env", "T"]
cli()
"""


def test_concurrent_adds_from_many_processes_all_survive(isolated_home: Path) -> None:
    env = {**os.environ, "TOGUL_MONITOR_HOME": str(isolated_home)}
    names = [f"p{i}" for i in range(6)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _ADD_SCRIPT, name],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name in names
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err.decode()
    config = load_config()
    assert sorted(config.profiles) == names
    assert stat.S_IMODE(paths.profiles_file().stat().st_mode) == 0o600


def profiles_list_into(stdout: int) -> subprocess.CompletedProcess[str]:
    """`togul-monitor profiles list` as a process writing into the file descriptor `stdout`."""
    return subprocess.run(
        [sys.executable, "-m", "togul_monitor", "profiles", "list"],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
        timeout=60,
    )


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_write_that_cannot_be_made_is_one_line_not_a_traceback() -> None:
    with open("/dev/full", "w") as full:
        done = profiles_list_into(full.fileno())
    assert done.returncode == 1
    assert done.stderr == "togul-monitor: cannot write: No space left on device\n"


def test_json_says_the_values_the_file_holds_and_text_shows_them_escaped() -> None:
    odd = "prod\x1b[31m"  # a watched key is the server's text; an environment key may be odd
    args = ("--url", "https://api.togul.io", "--environment", odd, "--api-key-env", "K")
    assert run("profiles", "add", "odd", *args, "--watch", "caf\u00e9\x07").exit_code == 0
    shown = run("profiles", "show", "odd", "--json").stdout
    assert shown.isascii() and "\x1b" not in shown  # escaped by the JSON encoding
    row = json.loads(shown)
    assert row["environment_key"] == odd and row["watch"] == ["caf\u00e9\x07"]
    (listed,) = [json.loads(line) for line in run("profiles", "list", "--json").stdout.splitlines()
                 if '"odd"' in line]  # fmt: skip
    assert listed["environment_key"] == odd
    text = run("profiles", "show", "odd").stdout
    assert "\x1b" not in text and "prod\\x1b[31m" in text  # made safe to print


def test_a_reader_already_gone_ends_any_command_quietly_with_0() -> None:
    # `togul-monitor profiles list | head -0`: the first write meets a closed pipe.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = profiles_list_into(write_end)
    finally:
        os.close(write_end)
    assert done.returncode == 0 and done.stderr == ""
