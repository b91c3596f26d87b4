"""The built-in demo: one embedded emulator per process, two built-in profiles, never saved."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from togul_monitor import demo
from togul_monitor.config import paths
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.resolve import list_profiles, open_target, resolve_profile


@pytest.fixture(autouse=True)
def fast_demo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A quick demo for tests: short heartbeat, brisk simulated activity; stopped afterwards.

    Registered as a profile source as the command line does at start: these tests call
    `config.resolve` directly."""
    demo.register()
    monkeypatch.setattr(demo, "HEARTBEAT_SECONDS", 0.2)
    monkeypatch.setattr(demo, "SIMULATE_EVENTS_PER_SECOND", 40.0)
    demo.shutdown()
    yield
    demo.shutdown()


def first_events(base_url: str, api_key: str, count: int) -> list[dict[str, object]]:
    """Read `count` events from the stream (bounded by the read timeout, never a sleep)."""
    events: list[dict[str, object]] = []
    headers = {"X-API-Key": api_key, "Accept": "text/event-stream"}
    with httpx.stream("GET", f"{base_url}/api/v1/stream", headers=headers, timeout=5) as resp:
        assert resp.status_code == 200
        for line in resp.iter_lines():
            if line.startswith("data:"):
                events.append(json.loads(line[5:]))
                if len(events) == count:
                    break
    return events


def test_no_profile_file_opens_the_demo_and_writes_nothing() -> None:
    with open_target(demo_fallback=True) as profile:  # the TUI's start
        assert profile.name == "demo-production" and profile.builtin
        assert profile.environment_key == "production"
        assert profile.context == {"user_id": "demo-user", "plan": "premium", "country": "TR"}
        assert profile.watch == ("new-dashboard",)
        assert profile.base_url.startswith("http://127.0.0.1:")
        assert profile.api_key and profile.api_key.startswith("tgl_sdk_")
        events = first_events(profile.base_url, profile.api_key, 3)
        prod_id = next(k for k, v in profile.environment_names.items() if v == "production")
        assert all(e["environment_id"] == prod_id for e in events)  # simulated activity
    assert not paths.profiles_file().exists()
    assert demo.current_server() is None  # the last user left: the emulator stopped
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{profile.base_url}/api/v1/stream", timeout=1)


def test_without_a_profile_only_the_tui_falls_back_to_the_demo() -> None:
    # `wait`, `tail`, `compare`...: a script on a machine without a profile must fail, never
    # take the demo's answers for its server's.
    with pytest.raises(ConfigError, match="no profile configured") as raised:
        with open_target():
            pass
    assert "profiles add" in (raised.value.hint or "")
    assert demo.current_server() is None  # nothing was started


@pytest.mark.parametrize(
    "args",
    [
        ["wait", "checkout-v2", "--value", "true", "--timeout", "5s"],
        ["tail", "--count", "1"],
        ["compare", "production", "staging"],
        ["history", "checkout-v2"],
    ],
)
def test_a_command_without_a_profile_exits_2_and_says_so(args: list[str]) -> None:
    from click.testing import CliRunner

    from togul_monitor.cli import cli

    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert "no profile configured" in result.stderr and result.stdout == ""
    assert demo.current_server() is None


def test_one_emulator_shared_by_both_demo_profiles() -> None:
    with open_target(demo=True) as prod, open_target(demo=True, environment="staging") as stg:
        assert stg.name == "demo-staging" and stg.environment_key == "staging"
        assert prod.base_url == stg.base_url
        assert prod.api_key != stg.api_key
        assert first_events(stg.base_url, stg.api_key or "", 2)
        listed = {p.name: p for p in list_profiles()}
        assert listed["demo-staging"].base_url == stg.base_url  # listing shows the live one
    assert demo.current_server() is None


def test_resolve_profile_pins_the_emulator_until_shutdown() -> None:
    profile = resolve_profile("demo-staging")
    with open_target(profile_name="demo-production") as prod:
        assert prod.base_url == profile.base_url
    assert demo.current_server() is not None  # pinned: still running after the block
    assert first_events(profile.base_url, profile.api_key or "", 1)
    demo.shutdown()
    assert demo.current_server() is None


def test_listing_never_starts_the_emulator() -> None:
    names = [p.name for p in list_profiles()]
    assert names[-2:] == ["demo-production", "demo-staging"]
    assert demo.current_server() is None


def test_demo_takes_no_credentials() -> None:
    from togul_monitor.config.errors import ConfigError

    with pytest.raises(ConfigError, match="take no credential"):
        with open_target(profile_name="demo-staging", api_key="tgl_sdk_x"):
            pass
    with pytest.raises(ConfigError, match="no environment 'stagign'"):
        with open_target(demo=True, environment="stagign"):
            pass


def test_tail_profile_demo_staging_count_5() -> None:
    """`togul-monitor tail --profile demo-staging --count 5` works on a fresh machine."""
    from click.testing import CliRunner

    from togul_monitor.cli import cli

    result = CliRunner().invoke(
        cli, ["tail", "--profile", "demo-staging", "--count", "5", "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    events = [line for line in lines if line["kind"] == "event"]  # the rest: value transitions
    assert len(events) == 5
    staging = resolve_profile("demo-staging")  # same process, same seed: same environment ids
    assert {e["environment_id"] for e in events} == {
        k for k, v in staging.environment_names.items() if v == "staging"
    }
    assert not paths.profiles_file().exists()  # demo profiles are never written
