"""Where a renewed token pair goes: back into the profile only while the file's profile is still
the one the run started with; a pair another process renewed is taken from the file when ours
is refused; a refresh token from a variable is said to be spent once the server rotates it.

Each test drives `ProfileTokens` (core/tokens.py) against the emulator directly: a refresh is
asked for at once, no token has to expire."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx
import pytest

from togul_monitor.config.entry import ProfileEntry
from togul_monitor.config.profiles import ProfileChanges, ProfileStore, load_config
from togul_monitor.config.resolve import resolve_profile
from togul_monitor.core import tokens as core_tokens
from togul_monitor.core.tokens import ProfileTokens
from togul_monitor.emulator.harness import EmulatorHandle

from .test_monitor import wait_for
from .test_token_refresh import log_in, short_lived, write_profile

__all__ = ["short_lived"]


def tokens_of(name: str, notes: list[str]) -> ProfileTokens:
    return ProfileTokens(resolve_profile(name), notes.append)


async def test_a_pair_renewed_after_the_profile_was_re_created_is_not_written_into_it(
    short_lived: EmulatorHandle,
) -> None:
    token, refresh = await asyncio.to_thread(log_in, short_lived)
    write_profile(short_lived, token, refresh)
    notes: list[str] = []
    tokens = tokens_of("p", notes)
    keeper = tokens.keeper
    assert keeper is not None
    store = ProfileStore()
    store.remove("p")  # the same name, re-created for another server with a key of its own
    entry = ProfileEntry(
        name="p",
        base_url="http://127.0.0.1:9",
        environment_key="production",
        api_key_env="OTHER_KEY",
    )
    store.add(entry)
    before = store.path.read_text(encoding="utf-8")
    assert await keeper.refresh() and await keeper.refresh()
    await tokens.aclose()
    assert store.path.read_text(encoding="utf-8") == before  # no token of this server in it
    assert keeper.token != token  # the run goes on with the renewed pair, in memory
    said = [note for note in notes if "not written" in note]
    assert len(said) == 1, notes  # said once, however many renewals follow
    assert "profile 'p'" in said[0] and keeper.token not in said[0]


async def test_a_renewal_does_not_undo_a_move_of_the_secrets_to_variables(
    short_lived: EmulatorHandle,
) -> None:
    token, refresh = await asyncio.to_thread(log_in, short_lived)
    write_profile(short_lived, token, refresh)
    notes: list[str] = []
    tokens = tokens_of("p", notes)
    assert tokens.keeper is not None
    store = ProfileStore()
    store.edit("p", ProfileChanges(token_env="MY_TOK", refresh_token_env="MY_RT"))
    before = store.path.read_text(encoding="utf-8")
    assert await tokens.keeper.refresh()
    await tokens.aclose()
    assert store.path.read_text(encoding="utf-8") == before
    entry = load_config().profiles["p"]
    assert entry.token is None and entry.token_env == "MY_TOK"
    assert any("not written" in note for note in notes), notes


async def test_a_pair_another_monitor_renewed_is_taken_from_the_file(
    short_lived: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, refresh = await asyncio.to_thread(log_in, short_lived)
    write_profile(short_lived, token, refresh)
    first_notes: list[str] = []
    second_notes: list[str] = []
    first = tokens_of("p", first_notes)
    second = tokens_of("p", second_notes)  # the TUI and `tail --profile p` beside it
    assert first.keeper is not None and second.keeper is not None
    assert await first.keeper.refresh()
    await first.aclose()  # its pair is in the file now; the refresh token both began with is dead
    written = load_config().profiles["p"]
    assert written.token == first.keeper.token
    # The second one's renewal is refused: it finds the newer pair in the file and goes on.
    assert await second.keeper.refresh()
    assert second.keeper.token == written.token and second.keeper.can_refresh
    # ...and renews with it later, writing its own pair back where the first one's was.
    assert await second.keeper.refresh()
    await second.aclose()
    again = load_config().profiles["p"]
    assert again.token == second.keeper.token and again.refresh_token != written.refresh_token
    assert not any("log in" in note for note in second_notes), second_notes
    # A refused renewal with nothing newer in the file still ends in "log in again".
    monkeypatch.setattr(core_tokens, "RELOAD_WAIT", 0.3)
    third = tokens_of("p", [])
    assert third.keeper is not None
    status = await asyncio.to_thread(
        lambda: (
            httpx.post(
                f"{short_lived.base_url}/api/v1/refresh-token",
                json={"refresh_token": again.refresh_token},
            ).status_code
        )
    )
    assert status == 200  # someone spent the file's refresh token without writing the new one
    assert not await third.keeper.refresh()
    assert "log in again" in third.keeper.rejection_hint()
    await third.aclose()


async def test_a_pair_written_just_after_the_refusal_is_waited_for(
    short_lived: EmulatorHandle, caplog: pytest.LogCaptureFixture
) -> None:
    """Two monitors that read one token renew at the same moment: the loser's refusal comes
    before the winner has written its pair."""
    token, refresh = await asyncio.to_thread(log_in, short_lived)
    write_profile(short_lived, token, refresh)
    tokens = tokens_of("p", [])
    assert tokens.keeper is not None
    renewed = await asyncio.to_thread(  # the other monitor renews first, and writes later
        lambda: httpx.post(
            f"{short_lived.base_url}/api/v1/refresh-token", json={"refresh_token": refresh}
        ).json()
    )
    caplog.set_level(logging.INFO, logger="togul_monitor.core.monitor")
    renewal = asyncio.create_task(tokens.keeper.refresh())
    await wait_for(lambda: "token renewal refused" in caplog.text, what="the refusal")
    await asyncio.to_thread(
        ProfileStore().store_tokens,
        "p",
        token=renewed["token"],
        refresh_token=renewed["refresh_token"],
    )
    assert await renewal
    assert tokens.keeper.token == renewed["token"] and tokens.keeper.can_refresh
    await tokens.aclose()


async def profile_with_refresh_variable(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> str:
    """Profile `p` logged in, its refresh token in the variable MY_RT (`refresh_token_env`);
    that refresh token."""
    token, refresh = await asyncio.to_thread(log_in, emulator)
    path = write_profile(emulator, token)
    text = path.read_text(encoding="utf-8").replace(
        "heartbeat_seconds", 'refresh_token_env = "MY_RT"\nheartbeat_seconds'
    )
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("MY_RT", refresh)
    return refresh


async def test_a_refresh_token_from_a_variable_is_said_to_be_spent_once(
    short_lived: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    refresh = await profile_with_refresh_variable(short_lived, monkeypatch)
    notes: list[str] = []
    tokens = tokens_of("p", notes)
    assert tokens.keeper is not None
    assert await tokens.keeper.refresh() and await tokens.keeper.refresh()
    await tokens.aclose()
    said = [note for note in notes if "MY_RT" in note]
    assert len(said) == 1, notes
    assert "spent" in said[0] and "login --profile p" in said[0]
    assert refresh not in said[0]
    assert load_config().profiles["p"].refresh_token_env == "MY_RT"  # the variable's, still


async def test_tail_says_mid_run_that_the_variables_refresh_token_is_spent(
    short_lived: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A notice given after the start reaches `tail`'s stderr, not only the log file."""
    import io

    from togul_monitor.cli.tail import run_tail

    refresh = await profile_with_refresh_variable(short_lived, monkeypatch)
    out, err = io.StringIO(), io.StringIO()
    tail = asyncio.create_task(
        run_tail(
            resolve_profile("p"), query=None, count=1, as_json=False, out=out, err=err, record=False
        )
    )
    try:
        await wait_for(lambda: "live since" in err.getvalue(), what="the stream")
        await wait_for(lambda: "MY_RT is spent" in err.getvalue(), what="the notice")
    finally:
        tail.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tail
    assert err.getvalue().count("MY_RT is spent") == 1
    assert refresh not in err.getvalue() + out.getvalue()
