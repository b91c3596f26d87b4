"""Validation errors name file, profile, key and line; resolution order and overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from togul_monitor import demo
from togul_monitor.config import paths
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.profiles import Profile, load_config
from togul_monitor.config.resolve import (
    adhoc_profile,
    choose_profile_name,
    list_profiles,
    open_target,
    resolve_profile,
)
from togul_monitor.config.validate import check_url, display_url, is_loopback

SECRET = "tgl_sdk_s3cr3tvalue0123456789abcd9f2c"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.payload-secret.signature-secret"

GOOD = f"""\
default_profile = "prod"

[profiles.prod]
base_url = "https://api.togul.io"
environment_key = "production"
api_key_env = "PROD_KEY"
heartbeat_seconds = 10

[profiles.literal]
base_url = "http://127.0.0.1:8080"
environment_key = "staging"
api_key = "{SECRET}"
"""


@pytest.fixture(autouse=True)
def demo_offered() -> None:
    """The demo's profiles, offered as the command line offers them at start."""
    demo.register()


def write(text: str) -> Path:
    path = paths.profiles_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def error_for(text: str) -> ConfigError:
    write(text)
    with pytest.raises(ConfigError) as info:
        load_config()
    return info.value


PROFILE_HEAD = '[profiles.p]\nbase_url = "https://a.example"\nenvironment_key = "prod"\n'


@pytest.mark.parametrize(
    ("body", "key", "line", "fragment"),
    [
        ('token_env = "T"\nenviroment = "x"\n', "enviroment", 5, "did you mean 'environment_key'"),
        ('token_env = "T"\nwacth = ["a"]\n', "wacth", 5, "did you mean 'watch'"),
        ('token_env = "T"\nheartbeat_seconds = "5"\n', "heartbeat_seconds", 5, "not a string"),
        ('token_env = "T"\nheartbeat_seconds = 0\n', "heartbeat_seconds", 5, "more than 0"),
        ('token_env = "T"\ncontext = { plan = 3 }\n', "context.plan", 5, "not an integer"),
        ('token_env = "T"\nwatch = "a"\n', "watch", 5, "an array"),
        ('token_env = "T"\nallow_insecure = "yes"\n', "allow_insecure", 5, "true or false"),
        ('token_env = "T"\nmax_flags = 0\n', "max_flags", 5, "at least 1"),
        ('token_env = "T"\nmax_flags = 2.5\n', "max_flags", 5, "whole number"),
        ("", None, 1, "missing credential"),
        ('api_key = "k"\napi_key_env = "K"\n', "api_key_env", 5, "not both"),
        ('token_env = "NOT A VAR"\n', "token_env", 4, "not an environment variable name"),
    ],
)
def test_profile_errors_are_precise(body: str, key: str | None, line: int, fragment: str) -> None:
    exc = error_for(PROFILE_HEAD + body)
    assert exc.profile == "p"
    assert exc.key == key
    assert exc.line == line
    assert fragment in exc.message
    assert str(paths.profiles_file()) in str(exc)
    assert exc.exit_code == 2


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("ftp://a.example", "scheme must be http or https"),
        ("https://", "no host"),
        ("https://a.example:99999", "malformed URL"),
        ("https://a.example/?x=1", "no ?query"),
        ("not a url", "malformed URL"),
    ],
)
def test_malformed_urls(url: str, fragment: str) -> None:
    exc = error_for(
        f'[profiles.p]\nbase_url = "{url}"\nenvironment_key = "prod"\ntoken_env = "T"\n'
    )
    assert exc.key == "base_url" and exc.line == 2
    assert fragment in exc.message


def test_empty_environment_key() -> None:
    exc = error_for('[profiles.p]\nbase_url = "https://a.example"\nenvironment_key = " "\n')
    assert exc.key == "environment_key" and exc.line == 3 and "must not be empty" in exc.message


def test_unknown_top_level_key_and_default() -> None:
    exc = error_for('default_profle = "p"\n')
    assert "did you mean 'default_profile'" in exc.message and exc.line == 1
    exc = error_for('default_profile = "prdo"\n' + GOOD.split("\n", 1)[1])
    assert "did you mean 'prod'" in exc.message


def test_plain_http_only_to_loopback_unless_allowed() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("[::1]")
    assert is_loopback("127.8.9.10") and not is_loopback("10.0.0.1")
    assert check_url("http://localhost:8080", allow_insecure=False) is None
    assert check_url("http://[::1]:8080", allow_insecure=False) is None
    assert "refused" in (check_url("http://togul.internal", allow_insecure=False) or "")
    assert check_url("http://togul.internal", allow_insecure=True) is None
    exc = error_for(
        '[profiles.p]\nbase_url = "http://togul.internal"\nenvironment_key = "e"\ntoken_env = "T"\n'
    )
    assert "allow_insecure = true" in exc.message
    write(
        '[profiles.p]\nbase_url = "http://togul.internal"\nenvironment_key = "e"\n'
        'token_env = "T"\nallow_insecure = true\n'
    )
    assert load_config().profiles["p"].allow_insecure


def test_url_credentials_never_shown_in_errors() -> None:
    exc = error_for(
        '[profiles.p]\nbase_url = "ftp://user:hunter2@a.example"\nenvironment_key = "e"\n'
        'token_env = "T"\n'
    )
    assert "hunter2" not in str(exc) and "a.example" in str(exc)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:18555/?api_key=QuerySecretXYZ123456", "https://a.example/#QuerySecretXYZ"],
)
def test_a_secret_in_a_urls_query_or_fragment_is_never_shown(url: str) -> None:
    said = check_url(url, allow_insecure=False) or ""
    assert "QuerySecret" not in said and "no ?query or #fragment" in said
    assert "a.example/#…" in said or "127.0.0.1:18555/?…" in said
    assert display_url("https://bob:pw@a.example/?k=QSECRET99") == "https://a.example/?…"


def test_secrets_never_in_errors_or_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    exc = error_for(GOOD.replace('environment_key = "staging"', 'environment_key = ""'))
    assert SECRET not in str(exc)
    write(GOOD)
    monkeypatch.setenv("PROD_KEY", SECRET)
    profile = resolve_profile("prod")
    assert profile.api_key == SECRET
    assert SECRET not in repr(profile)
    assert SECRET not in repr(load_config())


def test_unset_env_variable_is_reported_when_connecting() -> None:
    write(GOOD)
    with pytest.raises(ConfigError) as info:
        resolve_profile("prod")
    exc = info.value
    assert exc.profile == "prod" and exc.key == "api_key_env"
    assert "PROD_KEY is not set" in str(exc)
    # Listing still works without it (the switcher shows the profile, secret unknown).
    listed = {p.name: p for p in list_profiles()}
    assert listed["prod"].api_key is None
    assert listed["literal"].api_key == SECRET
    assert {"demo-production", "demo-staging"} <= set(listed)
    assert all(p.builtin for n, p in listed.items() if n.startswith("demo-"))


def test_read_timeout_is_three_heartbeats(monkeypatch: pytest.MonkeyPatch) -> None:
    write(GOOD)
    monkeypatch.setenv("PROD_KEY", SECRET)
    assert resolve_profile("prod").read_timeout == 30.0
    assert Profile("x", "https://a", "e").read_timeout == 90.0


def test_max_flags_comes_from_the_profile_and_reaches_the_monitor() -> None:
    from togul_monitor.core import Monitor

    write(PROFILE_HEAD + 'token_env = "T"\nmax_flags = 25\n')
    entry = load_config().profiles["p"]
    assert entry.max_flags == 25 and entry.to_table()["max_flags"] == 25
    profile = entry.resolve({"T": "x.y.z"})
    assert Monitor(profile, record=False)._evaluations.max_flags == 25
    assert Profile("x", "https://a", "e").max_flags == 10_000


def test_environment_overrides_win_over_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    write(GOOD)
    monkeypatch.setenv("PROD_KEY", "tgl_sdk_fromfilevariable000000000")
    monkeypatch.setenv("TOGUL_BASE_URL", "https://override.example")
    monkeypatch.setenv("TOGUL_API_KEY", SECRET)
    monkeypatch.setenv("TOGUL_TOKEN", TOKEN)
    with open_target() as profile:
        assert profile.name == "prod"
        assert profile.base_url == "https://override.example"
        assert profile.api_key == SECRET
        assert profile.token == TOKEN
    # Command-line values win over the variables.
    with open_target(profile_name="literal", api_key="tgl_sdk_cli", environment="qa") as profile:
        assert profile.api_key == "tgl_sdk_cli" and profile.environment_key == "qa"
    monkeypatch.setenv("TOGUL_BASE_URL", "http://remote.example")
    with pytest.raises(ConfigError, match="TOGUL_BASE_URL"):
        with open_target():
            pass


def test_profile_choice_order(monkeypatch: pytest.MonkeyPatch) -> None:
    empty = load_config()
    # No file: the demo for the TUI, an error for the other commands.
    assert choose_profile_name(empty, None, demo_fallback=True) == "demo-production"
    with pytest.raises(ConfigError, match="no profile configured"):
        choose_profile_name(empty, None)
    write(GOOD)
    config = load_config()
    assert choose_profile_name(config, None) == "prod"  # default_profile
    monkeypatch.setenv("TOGUL_MONITOR_PROFILE", "literal")
    assert choose_profile_name(config, None) == "literal"
    assert choose_profile_name(config, "prod") == "prod"  # --profile wins
    monkeypatch.delenv("TOGUL_MONITOR_PROFILE")
    write(GOOD.replace('default_profile = "prod"\n', ""))
    with pytest.raises(ConfigError, match="several profiles and no default_profile"):
        choose_profile_name(load_config(), None)
    write(GOOD.replace('default_profile = "prod"\n', "").split("[profiles.literal]")[0])
    assert choose_profile_name(load_config(), None) == "prod"  # the only one


def test_unknown_profile_suggests() -> None:
    write(GOOD)
    with pytest.raises(ConfigError, match="did you mean 'literal'"):
        with open_target(profile_name="litteral"):
            pass
    with pytest.raises(ConfigError, match="only one of"):
        with open_target(demo=True, profile_name="prod"):
            pass


def test_adhoc_url_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    with open_target(url="http://127.0.0.1:9999", token=TOKEN) as profile:
        assert profile.base_url == "http://127.0.0.1:9999"
        assert profile.token == TOKEN and profile.environment_key == ""
        assert profile.name == "url-127.0.0.1-9999"
    with pytest.raises(ConfigError, match="needs a credential") as missing:
        adhoc_profile(url="https://a.example")
    # The options it names keep the secret out of the process list.
    assert "--api-key-file or --token-file" in str(missing.value)
    with pytest.raises(ConfigError, match="refused"):
        adhoc_profile(url="http://a.example", api_key=SECRET)
    # No file, no name, TOGUL_BASE_URL set: an ad-hoc target from the variables.
    monkeypatch.setenv("TOGUL_BASE_URL", "https://env.example")
    monkeypatch.setenv("TOGUL_API_KEY", SECRET)
    with open_target(environment="production") as profile:
        assert profile.base_url == "https://env.example" and profile.api_key == SECRET
        assert profile.environment_key == "production"


def test_broken_file_fails_every_target_but_the_demo(capsys: pytest.CaptureFixture[str]) -> None:
    path = write('[profiles.p\nbase_url = "x"\n')
    for kwargs in ({}, {"url": "https://a.example", "token": TOKEN}):
        with pytest.raises(ConfigError) as info:
            with open_target(**kwargs):  # type: ignore[arg-type]
                pass
        assert f"{path}:1:" in str(info.value)
    # The demo needs no file: it starts, and the broken file is still reported (stderr).
    with open_target(demo=True) as profile:
        assert profile.builtin
    assert f"{path}:1:" in capsys.readouterr().err
