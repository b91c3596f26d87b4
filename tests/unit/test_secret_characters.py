"""A secret that cannot go in an HTTP header (a newline, a control character, non-ASCII) is a
configuration error, wherever it comes from: the file (with its line), an `_env` variable,
`--api-key`/`--token` or the TOGUL_* variables. Never a stream that retries for ever."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from togul_monitor.config import paths
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.profiles import load_config
from togul_monitor.config.resolve import adhoc_profile, apply_overrides, open_target
from togul_monitor.support.text import credential_problem, secret_problem

KEY = "tgl_sdk_0123456789abcdefABCDEF9f2c"
HEAD = 'default_profile = "p"\n\n[profiles.p]\nbase_url = "https://api.togul.io"\n'


def write(text: str) -> Path:
    path = paths.profiles_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_what_a_secret_may_not_hold() -> None:
    assert secret_problem(KEY) is None
    assert "a newline at character 35" in (secret_problem(KEY + "\n") or "")
    assert "control character (U+0000)" in (secret_problem("a\x00b") or "")
    assert "non-ASCII character (U+00E9)" in (secret_problem("caf\u00e9") or "")
    assert "starts or ends with a space" in (secret_problem(" " + KEY) or "")
    assert "a space at character 9" in (credential_problem("tgl_sdk_ 0123") or "")
    assert 'starts with "Bearer "' in (credential_problem("Bearer eyJhbGciOi.x.y") or "")
    assert 'starts with "Bearer "' in (credential_problem("bearer eyJhbGciOi.x.y") or "")
    assert credential_problem("eyJhbGciOi.eyJzdWIi.c2ln") is None
    assert "a newline" in (credential_problem(KEY + "\n") or "")  # every header rule too
    assert secret_problem("sqlite:///Users/me/Application Support/j.sqlite3") is None  # a path
    for bad in (KEY + "\n", "a\x00b", "caf\u00e9"):
        assert bad.strip() not in (secret_problem(bad) or "")  # the secret is never quoted


@pytest.mark.parametrize(
    ("line", "key"),
    [
        (f'api_key = "{KEY}\\n"', "api_key"),
        (f'token = "eyJ.{KEY}.\\u00e9"', "token"),
        (f'api_key = "{KEY}\\t"', "api_key"),
    ],
)
def test_a_bad_secret_in_the_file_is_named_with_its_line(line: str, key: str) -> None:
    path = write(HEAD + 'environment_key = "production"\n' + line + "\n")
    with pytest.raises(ConfigError) as info:
        load_config()
    error = info.value
    assert error.file == path and error.line == 6 and error.key == key
    assert KEY not in str(error)
    assert error.exit_code == 2


def test_a_bad_refresh_token_in_the_file_too() -> None:
    write(HEAD + 'environment_key = "e"\ntoken = "a.b.c"\nrefresh_token = "tgl_rt_x\\u0007"\n')
    with pytest.raises(ConfigError) as info:
        load_config()
    assert info.value.key == "refresh_token" and info.value.line == 7


def test_a_bad_secret_in_an_env_variable_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write(HEAD + 'environment_key = "e"\napi_key_env = "MY_KEY"\n')
    monkeypatch.setenv("MY_KEY", KEY + "\n")
    with pytest.raises(ConfigError) as info:
        with open_target(profile_name="p"):
            pass
    assert "MY_KEY" in str(info.value) and "newline" in str(info.value)
    assert KEY not in str(info.value)
    # A listing does not fail on it: that secret is simply not shown.
    assert load_config().profiles["p"].resolve(strict=False).api_key is None


def test_a_bad_secret_from_the_command_line_or_togul_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ConfigError, match="--api-key"):
        adhoc_profile(url="https://a.example", api_key=KEY + "\n")
    with pytest.raises(ConfigError, match="--token"):
        adhoc_profile(url="https://a.example", token="eyJ\u00e9.a.b")
    monkeypatch.setenv("TOGUL_API_KEY", KEY + "\r")
    with pytest.raises(ConfigError, match="TOGUL_API_KEY"):
        adhoc_profile(url="https://a.example")
    write(HEAD + 'environment_key = "e"\napi_key = "' + KEY + '"\n')
    with pytest.raises(ConfigError, match="TOGUL_API_KEY"):
        with open_target(profile_name="p"):
            pass
    monkeypatch.delenv("TOGUL_API_KEY")
    profile = load_config().profiles["p"].resolve()
    with pytest.raises(ConfigError, match="--token"):
        apply_overrides(profile, token="a.b.c\n")
    monkeypatch.setenv("TOGUL_TOKEN", "a.b.\u00e9")
    with pytest.raises(ConfigError, match="TOGUL_TOKEN"):
        apply_overrides(profile)


def test_tail_exits_2_at_once_instead_of_retrying(tmp_path: Path) -> None:
    env = {**os.environ, "TOGUL_MONITOR_HOME": str(tmp_path), "TOGUL_API_KEY": KEY + "\u00e9"}
    result = subprocess.run(
        [sys.executable, "-m", "togul_monitor", "tail", "--url", "http://127.0.0.1:9"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "TOGUL_API_KEY" in result.stderr and "non-ASCII" in result.stderr
    assert KEY not in result.stderr + result.stdout
