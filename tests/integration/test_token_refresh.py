"""Tokens expire: the emulator's token lifetime, the monitor's refresh (before the expiry and once
after a 401), the write-back of a rotated pair, the expired-token message, and `login`."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from togul_monitor.cli import cli
from togul_monitor.cli.serve import print_banner
from togul_monitor.client.stream import StreamClient
from togul_monitor.client.tokens import TokenKeeper, jwt_times
from togul_monitor.config.entry import Profile
from togul_monitor.config.paths import profiles_file
from togul_monitor.config.profiles import load_config
from togul_monitor.config.resolve import resolve_profile
from togul_monitor.core import Monitor
from togul_monitor.domain.events import ConnectionState, FlagEvent, Status
from togul_monitor.emulator.harness import EmulatorHandle, running_emulator
from togul_monitor.support.text import mask_secret

from .test_monitor import wait_for

TTL = 3.0


@pytest.fixture
def short_lived() -> Iterator[EmulatorHandle]:
    """An emulator whose access tokens (the org token's too) live TTL seconds."""
    with running_emulator(seed=0, heartbeat=0.2, token_ttl=TTL) as emu:
        yield emu


def expired(token: str) -> Callable[[], bool]:
    """True once the server refuses `token` for sure (its `exp` is truncated to the second)."""
    _, exp = jwt_times(token)
    assert exp is not None
    return lambda: time.time() > exp + 1.0


def projects_status(emu: EmulatorHandle, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(f"{emu.base_url}/api/v1/projects", headers=headers).status_code


def log_in(emu: EmulatorHandle) -> tuple[str, str]:
    creds = emu.credentials
    body = {"username": creds.username, "password": creds.password}
    session = httpx.post(f"{emu.base_url}/api/v1/login", json=body).json()
    return session["token"], session["refresh_token"]


def test_the_emulators_tokens_expire_and_the_org_token_has_a_refresh_token(
    short_lived: EmulatorHandle,
) -> None:
    creds = short_lived.credentials
    issued_at, expires_at = jwt_times(creds.org_token)
    assert issued_at is not None and expires_at is not None
    assert expires_at - issued_at == TTL  # the org token's claims tell its real lifetime
    assert projects_status(short_lived, creds.org_token) == 200
    renewed = httpx.post(
        f"{short_lived.base_url}/api/v1/refresh-token",
        json={"refresh_token": creds.org_refresh_token},
    ).json()
    assert projects_status(short_lived, renewed["token"]) == 200
    assert renewed["refresh_token"] != creds.org_refresh_token  # rotated
    again = httpx.post(
        f"{short_lived.base_url}/api/v1/refresh-token",
        json={"refresh_token": creds.org_refresh_token},
    )
    assert again.status_code == 401
    deadline = time.monotonic() + 10
    while not expired(creds.org_token)():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert projects_status(short_lived, creds.org_token) == 401


def test_serve_prints_the_org_tokens_refresh_token(
    short_lived: EmulatorHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    print_banner(short_lived, 0.0)
    out = capsys.readouterr().out
    refresh = short_lived.credentials.org_refresh_token
    assert refresh.startswith("tgl_rt_")
    assert f"refresh      {refresh}" in out  # in full, like every secret of the banner
    assert f"tokens live  {TTL:g} s" in out


async def test_a_token_profile_keeps_streaming_across_a_token_expiry(
    short_lived: EmulatorHandle,
) -> None:
    creds = short_lived.credentials
    profile = Profile(
        name="org",
        base_url=short_lived.base_url,
        environment_key="production",
        token=creds.org_token,
        refresh_token=creds.org_refresh_token,
        heartbeat_seconds=0.2,
    )
    monitor = Monitor(profile, record=False)
    updates = monitor.updates()
    seen: list[object] = []

    async def collect() -> None:
        async for item in updates:
            seen.append(item)

    await monitor.start()
    reader = asyncio.get_running_loop().create_task(collect())
    try:
        await wait_for(lambda: short_lived.open_streams == 1, what="the stream")
        # Past the first token's expiry: the server refuses it now.
        await wait_for(expired(creds.org_token), what="the first token's expiry")
        assert await asyncio.to_thread(projects_status, short_lived, creds.org_token) == 401
        # The connection drops: the stream must come back with a renewed token...
        short_lived.faults.cut_streams()
        await wait_for(lambda: short_lived.open_streams == 0, what="the cut")
        await wait_for(lambda: short_lived.open_streams == 1, what="the reconnection")
        await asyncio.to_thread(
            short_lived.world.update_flag, "production", "checkout-v2", enabled=False
        )
        # ...and the events after the expiry arrive.
        await wait_for(
            lambda: any(isinstance(i, FlagEvent) and i.flag_key == "checkout-v2" for i in seen),
            what="an event after the expiry",
        )
        stopped = [i for i in seen if isinstance(i, Status) and i.state is ConnectionState.STOPPED]
        assert stopped == []
        assert monitor.snapshot().status.state is ConnectionState.LIVE
    finally:
        await monitor.stop()
        reader.cancel()


async def test_a_401_on_the_stream_refreshes_once_and_connects(
    short_lived: EmulatorHandle,
) -> None:
    token, refresh = await asyncio.to_thread(log_in, short_lived)
    await wait_for(expired(token), what="the token's expiry")
    keeper = TokenKeeper(short_lived.base_url, token, refresh)
    client = StreamClient(short_lived.base_url, token=token, tokens=keeper, read_timeout=2.0)
    states: list[ConnectionState] = []
    try:
        async for item in client.items():
            if isinstance(item, Status):
                states.append(item.state)
                if item.state in (ConnectionState.LIVE, ConnectionState.STOPPED):
                    break
    finally:
        await client.aclose()
    assert states == [ConnectionState.CONNECTING, ConnectionState.LIVE]
    assert keeper.refreshes == 1 and keeper.token != token


def write_profile(emu: EmulatorHandle, token: str, refresh: str | None = None) -> Path:
    path = profiles_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "# my profiles",
        'default_profile = "p"',
        "",
        "# the token profile",
        "[profiles.p]",
        f'base_url = "{emu.base_url}"',
        'environment_key = "production"',
        f'token = "{token}"',
    ]
    if refresh is not None:
        lines.append(f'refresh_token = "{refresh}"')
    lines.append("heartbeat_seconds = 0.2")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def test_an_expired_token_without_a_refresh_token_says_when_and_how_to_log_in(
    short_lived: EmulatorHandle,
) -> None:
    token, _ = log_in(short_lived)
    write_profile(short_lived, token)
    deadline = time.monotonic() + 10
    while not expired(token)():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    result = CliRunner().invoke(cli, ["tail", "--profile", "p", "--no-record"])
    assert result.exit_code == 3, result.output
    assert "the token expired at" in result.stderr
    assert "togul-monitor login --profile p" in result.stderr
    assert token not in result.output


async def test_a_rotated_refresh_token_is_written_back_to_the_file_it_came_from(
    short_lived: EmulatorHandle,
) -> None:
    token, refresh = await asyncio.to_thread(log_in, short_lived)
    path = write_profile(short_lived, token, refresh)
    profile = resolve_profile("p")
    monitor = Monitor(profile, record=False)
    await monitor.start()
    try:
        await wait_for(
            lambda: load_config().profiles["p"].refresh_token != refresh,
            what="the rotated refresh token in the file",
        )
    finally:
        await monitor.stop()
    entry = load_config().profiles["p"]
    assert entry.token != token and entry.refresh_token != refresh
    text = path.read_text(encoding="utf-8")
    assert "# my profiles" in text and "# the token profile" in text  # comments kept
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    # The file holds the newest refresh token: the server takes it (and the first one is dead).
    status = httpx.post(
        f"{short_lived.base_url}/api/v1/refresh-token", json={"refresh_token": refresh}
    ).status_code
    assert status == 401
    status = httpx.post(
        f"{short_lived.base_url}/api/v1/refresh-token",
        json={"refresh_token": entry.refresh_token},
    ).status_code
    assert status == 200


async def test_a_refresh_token_from_a_variable_is_kept_in_memory_only(
    short_lived: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, refresh = await asyncio.to_thread(log_in, short_lived)
    path = write_profile(short_lived, token)
    text = path.read_text(encoding="utf-8").replace(
        "heartbeat_seconds", 'refresh_token_env = "ORG_REFRESH"\nheartbeat_seconds'
    )
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("ORG_REFRESH", refresh)
    monkeypatch.setenv("TOGUL_TOKEN", token)  # the token from a variable too: nothing literal
    profile = resolve_profile("p")
    assert profile.refresh_token == refresh and "refresh_token" not in profile.file_literals
    monitor = Monitor(profile, record=False)
    await monitor.start()
    try:
        await wait_for(expired(token), what="the first token's expiry")
        await wait_for(lambda: short_lived.open_streams == 1, what="the stream")
        short_lived.faults.cut_streams()
        await wait_for(lambda: short_lived.open_streams == 0, what="the cut")
        await wait_for(lambda: short_lived.open_streams == 1, what="the reconnection")
    finally:
        await monitor.stop()
    assert path.read_text(encoding="utf-8") == text  # untouched: the variable is not the file's


def test_login_stores_both_tokens_and_prints_neither(short_lived: EmulatorHandle) -> None:
    write_profile(short_lived, "placeholder.token.value")
    creds = short_lived.credentials
    result = CliRunner().invoke(
        cli, ["login", "--profile", "p"], input=f"{creds.username}\n{creds.password}\n"
    )
    assert result.exit_code == 0, result.output
    entry = load_config().profiles["p"]
    assert entry.token and entry.token != "placeholder.token.value"
    assert entry.refresh_token and entry.refresh_token.startswith("tgl_rt_")
    assert entry.token not in result.output and entry.refresh_token not in result.output
    assert creds.password not in result.output  # asked for without echo
    assert "now holds a token" in result.stdout
    assert projects_status(short_lived, entry.token) == 200
    assert stat.S_IMODE(os.stat(profiles_file()).st_mode) == 0o600

    wrong = CliRunner().invoke(
        cli, ["login", "--profile", "p", "--email", creds.username], input="wrong\n"
    )
    assert wrong.exit_code == 3
    assert "refused" in wrong.stderr and load_config().profiles["p"].token == entry.token


def test_login_creates_the_profile_it_is_given_the_url_and_environment_of(
    short_lived: EmulatorHandle,
) -> None:
    """Before, `login --profile org` on a fresh setup said to `profiles add` first, which
    refused a profile without a credential: the README's step could not be followed."""
    creds = short_lived.credentials
    login = ["login", "--profile", "org"]
    bare = CliRunner().invoke(cli, login, input=f"{creds.username}\n{creds.password}\n")
    assert bare.exit_code == 2, bare.output
    assert "togul-monitor login --profile org --url URL --environment KEY" in bare.stderr
    where = ["--url", short_lived.base_url, "--environment", "production"]
    refused = CliRunner().invoke(cli, [*login, *where], input=f"{creds.username}\nwrong\n")
    assert refused.exit_code == 3 and "org" not in load_config().profiles  # nothing half-made
    result = CliRunner().invoke(
        cli, [*login, *where], input=f"{creds.username}\n{creds.password}\n"
    )
    assert result.exit_code == 0, result.output
    entry = load_config().profiles["org"]
    assert (entry.base_url, entry.environment_key) == (short_lived.base_url, "production")
    assert entry.token and entry.refresh_token and projects_status(short_lived, entry.token) == 200
    assert entry.token not in result.output and "now holds a token" in result.stdout
    other = ["--url", short_lived.base_url, "--environment", "staging"]
    again = CliRunner().invoke(cli, [*login, *other], input=f"{creds.username}\n{creds.password}\n")
    assert again.exit_code == 2 and "profiles edit org" in again.stderr, again.output


def test_tail_names_the_credential_the_server_rejected(short_lived: EmulatorHandle) -> None:
    # A server key cannot stream, so the token does; when the token dies, the message names it
    # (masked), not the key beside it.
    creds = short_lived.credentials
    server_key = creds.keys["production"]["server"]

    def cut_once_expired() -> None:
        if short_lived.wait_for_streams(1, timeout=10):
            deadline = time.monotonic() + 10
            while not expired(creds.org_token)() and time.monotonic() < deadline:
                time.sleep(0.05)
            short_lived.faults.cut_streams()

    cutter = threading.Thread(target=cut_once_expired, daemon=True)
    cutter.start()
    args = ["tail", "--url", short_lived.base_url, "--environment", "production"]
    args += ["--api-key", server_key, "--token", creds.org_token]
    result = CliRunner().invoke(cli, args)
    cutter.join()
    assert result.exit_code == 3, result.output
    assert f"rejected the credentials {mask_secret(creds.org_token)}" in result.stderr
    assert mask_secret(server_key) not in result.stderr
    assert "the token expired at" in result.stderr
    assert "give a fresh token (--token-file or TOGUL_TOKEN)" in result.stderr


async def test_tail_says_when_a_token_refused_mid_run_ends_the_configuration_diffs(
    short_lived: EmulatorHandle,
) -> None:
    """The API key streams on; the token (no refresh token to renew it) expires, and the diffs
    would just stop. stderr says so once."""
    import io

    from togul_monitor.cli.tail import run_tail

    from .test_monitor import make_profile

    profile = make_profile(short_lived, token=short_lived.credentials.org_token, watch=())
    out, err = io.StringIO(), io.StringIO()
    tail = asyncio.create_task(
        run_tail(profile, query=None, count=2, as_json=False, out=out, err=err, record=False)
    )
    try:
        await wait_for(lambda: short_lived.open_streams == 1, what="the stream")
        await wait_for(expired(short_lived.credentials.org_token), what="the token expired")
        world = short_lived.world
        await asyncio.to_thread(
            world.update_rule, "production", "checkout-v2", 1, rollout_percentage=50
        )
        said = "configuration diffs are no longer shown"
        await wait_for(lambda: said in err.getvalue(), what="the diffs said to stop")
        assert "401" in err.getvalue().split(said)[1].splitlines()[0]
        await asyncio.to_thread(world.update_flag, "production", "checkout-v2", enabled=False)
        assert await asyncio.wait_for(tail, 10) == 0, err.getvalue()
        assert err.getvalue().count(said) == 1  # once, not per refused fetch
        assert short_lived.credentials.org_token not in out.getvalue() + err.getvalue()
    finally:
        tail.cancel()


def test_a_piped_password_is_read_without_the_terminals_warnings(
    short_lived: EmulatorHandle,
) -> None:
    write_profile(short_lived, "placeholder.token.value")
    creds = short_lived.credentials
    done = subprocess.run(
        [sys.executable, "-m", "togul_monitor", "login", "--profile", "p"]
        + ["--email", creds.username],
        input=f"{creds.password}\n",
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and "getpass" not in done.stderr
    assert creds.password not in done.stdout + done.stderr


def test_a_pipe_without_the_password_says_which_lines_it_needs(
    short_lived: EmulatorHandle,
) -> None:
    write_profile(short_lived, "placeholder.token.value")
    result = CliRunner().invoke(cli, ["login", "--profile", "p"], input="admin@acme.test\n")
    assert result.exit_code == 2
    assert "reads the email and the password from standard input, a line each" in result.stderr
    assert "Email for" not in result.stderr  # no prompt on a pipe
