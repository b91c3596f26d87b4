"""A profile may hold a refresh token: `refresh_token_env = "VAR"`, or a literal in the 0600
file; validated like the other secrets, set by `profiles add/edit --refresh-token-env`."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from togul_monitor.cli import cli
from togul_monitor.config import paths
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.profiles import load_config
from togul_monitor.config.resolve import resolve_profile

REFRESH = "tgl_rt_0123456789abcdef0123456789abcdef0123"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_profiles_add_and_edit_take_a_refresh_token_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, err = run(
        "profiles", "add", "org", "--url", "https://api.togul.io", "--environment",
        "production", "--token-env", "ORG_TOKEN", "--refresh-token-env", "ORG_REFRESH",
    )  # fmt: skip
    assert code == 0, err
    assert "refresh token $ORG_REFRESH" in out
    assert load_config().profiles["org"].refresh_token_env == "ORG_REFRESH"
    monkeypatch.setenv("ORG_TOKEN", "a.b.c")
    monkeypatch.setenv("ORG_REFRESH", REFRESH)
    profile = resolve_profile("org")
    assert profile.refresh_token == REFRESH and profile.file_literals == frozenset()
    assert REFRESH not in repr(profile)

    code, out, err = run("profiles", "edit", "org", "--refresh-token-env", "OTHER_REFRESH")
    assert code == 0, err
    assert load_config().profiles["org"].refresh_token_env == "OTHER_REFRESH"
    rows = [json.loads(line) for line in run("profiles", "list", "--json")[1].splitlines()]
    assert rows[0]["credentials"] == "token $ORG_TOKEN, refresh token $OTHER_REFRESH"


def test_a_refresh_token_is_validated_like_the_other_secrets() -> None:
    path = paths.profiles_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    head = '[profiles.p]\nbase_url = "https://api.togul.io"\nenvironment_key = "e"\n'
    cases = {
        f'api_key = "tgl_sdk_x"\nrefresh_token = "{REFRESH}"\n': "give token or token_env too",
        f'token = "a.b.c"\nrefresh_token = "{REFRESH}"\nrefresh_token_env = "R"\n': "not both",
        'token = "a.b.c"\nrefresh_token_env = "not a name"\n': "not an environment variable",
        'token = "a.b.c"\nrefresh_token = ""\n': "must not be empty",
        'token = "a.b.c"\nrefresh_tokn = "x"\n': "did you mean 'refresh_token'?",
    }
    for body, says in cases.items():
        path.write_text(head + body, encoding="utf-8")
        with pytest.raises(ConfigError, match=says):
            load_config()
    path.write_text(head + f'token = "a.b.c"\nrefresh_token = "{REFRESH}"\n', encoding="utf-8")
    entry = load_config().profiles["p"]
    assert entry.credential_summary() == "token …, refresh token tgl_rt_…0123"
    profile = resolve_profile("p")
    assert profile.source_file == path and profile.file_literals == {"token", "refresh_token"}
