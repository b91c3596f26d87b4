"""Secrets that never sit in a command line: `--api-key-file PATH`, `--api-key-file -` (stdin)
and `--token-file`, for `profiles add/edit` and `tail`; `--api-key`/`--token` still work, with a
warning that every local user can read them in the process list. No output shows a secret."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from togul_monitor.cli import cli
from togul_monitor.config.profiles import load_config
from togul_monitor.emulator.harness import EmulatorHandle

from .test_stream_tail import activity, events_of

SECRET = "tgl_sdk_fromafile0secret0value0123456789"
TOKEN_SECRET = "eyJhbGciOiJIUzI1NiJ9.from-a-file-token.sig0123456789"
ADD = ["profiles", "add", "prod", "--url", "https://api.togul.io", "--environment", "production"]


def run(args: list[str], stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, args, input=stdin, catch_exceptions=False)


def _never_shown(result: Result, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in result.output and secret[8:] not in result.output


def test_profiles_add_reads_secrets_from_a_file_and_from_stdin(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(SECRET + "\n")  # as `echo` or an editor leaves it
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN_SECRET)
    added = run([*ADD, "--api-key-file", str(key_file), "--token-file", str(token_file)])
    assert added.exit_code == 0, added.output
    assert "process list" not in added.stderr  # nothing was on the command line
    _never_shown(added, SECRET, TOKEN_SECRET)
    entry = load_config().profiles["prod"]
    assert (entry.api_key, entry.token) == (SECRET, TOKEN_SECRET)

    edited = run(["profiles", "edit", "prod", "--api-key-file", "-"], stdin=SECRET[::-1] + "\n")
    assert edited.exit_code == 0, edited.output
    _never_shown(edited, SECRET[::-1])
    assert load_config().profiles["prod"].api_key == SECRET[::-1]


def test_a_secret_on_the_command_line_works_with_a_warning(tmp_path: Path) -> None:
    added = run([*ADD, "--api-key", SECRET])
    assert added.exit_code == 0, added.output
    assert "warning: --api-key puts the API key in the command line" in added.stderr
    assert "--api-key-file" in added.stderr and "TOGUL_API_KEY" in added.stderr
    _never_shown(added, SECRET)
    assert load_config().profiles["prod"].api_key == SECRET


def test_bad_secret_sources_are_configuration_errors_that_show_no_secret(tmp_path: Path) -> None:
    two_lines = tmp_path / "two"
    two_lines.write_text(f"{SECRET}\n{SECRET}\n")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    cases = [
        ([*ADD, "--api-key-file", str(tmp_path / "missing")], "cannot read the API key from"),
        ([*ADD, "--api-key-file", str(empty)], "holds no API key"),
        ([*ADD, "--api-key-file", str(two_lines)], "holds more than one line"),
        ([*ADD, "--api-key-file", str(empty), "--api-key", SECRET], "not both"),
        ([*ADD, "--api-key-file", "-", "--token-file", "-"], "both read standard input"),
    ]
    for args, message in cases:
        result = run(args)
        assert result.exit_code == 2, result.output
        assert message in result.output
        _never_shown(result, SECRET)
    assert not load_config().exists


def test_tail_takes_its_key_from_a_file_or_stdin(emulator: EmulatorHandle, tmp_path: Path) -> None:
    key = emulator.credentials.keys["production"]["sdk"]
    key_file = tmp_path / "key"
    key_file.write_text(key + "\n")
    base = ["tail", "--url", emulator.base_url, "--environment", "production", "--json"]
    with activity(emulator):
        from_file = run([*base, "--count", "1", "--api-key-file", str(key_file)])
        from_stdin = run([*base, "--count", "1", "--api-key-file", "-"], stdin=key + "\n")
        in_argv = run([*base, "--count", "1", "--api-key", key])
    for result in (from_file, from_stdin, in_argv):
        assert result.exit_code == 0, result.output
        assert len(events_of(result.stdout)) == 1
        _never_shown(result, key)
    assert "process list" not in from_file.stderr + from_stdin.stderr
    assert "warning: --api-key puts the API key in the command line" in in_argv.stderr


def test_stdin_on_a_terminal_asks_for_the_secret_without_echo(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from togul_monitor.cli import secrets

    monkeypatch.setattr(secrets, "stdin_is_terminal", lambda: True)
    added = run([*ADD, "--api-key-file", "-"], stdin=SECRET + "\n")
    assert added.exit_code == 0, added.output
    assert "API key (input hidden):" in added.output
    _never_shown(added, SECRET)
    assert load_config().profiles["prod"].api_key == SECRET


def test_a_secret_from_a_file_with_a_bad_character_is_blamed_on_the_file(tmp_path: Path) -> None:
    bell = tmp_path / "bell"
    bell.write_text(SECRET + "\x07\n")
    result = run([*ADD, "--api-key-file", str(bell)])
    assert result.exit_code == 2, result.output
    assert f"the API key read from {bell} contains a control character (U+0007)" in result.output
    assert "'--api-key-file'" in result.output and "given by --api-key" not in result.output
    _never_shown(result, SECRET)


def test_a_token_pasted_with_its_scheme_or_a_blank_is_refused_before_it_is_stored(
    tmp_path: Path,
) -> None:
    bearer, spaced = tmp_path / "bearer", tmp_path / "spaced"
    bearer.write_text(f"Bearer {TOKEN_SECRET}\n")  # copied from a curl command's header
    spaced.write_text(f"{TOKEN_SECRET[:20]} {TOKEN_SECRET[20:]}\n")
    for path, problem in (
        (bearer, 'starts with "Bearer "'),
        (spaced, "contains a space at character 21"),
    ):
        result = run([*ADD, "--token-file", str(path)])
        assert result.exit_code == 2, result.output
        assert f"the token read from {path} {problem}" in result.output
        _never_shown(result, TOKEN_SECRET)
    assert not load_config().exists


def test_ctrl_c_at_the_login_password_prompt_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    import click

    from togul_monitor.cli import login

    def interrupted(*args: object, **kwargs: object) -> str:
        try:  # what click.prompt does with the KeyboardInterrupt of Ctrl-C
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise click.Abort() from None

    monkeypatch.setattr(login, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(click, "prompt", interrupted)
    args = ["login", "--profile", "org", "--url", "https://api.togul.io", "--email", "a@b.test"]
    result = CliRunner().invoke(cli, [*args, "--environment", "production"])
    assert result.exit_code == 130, result.output
    assert "Aborted!" not in result.output
    assert not load_config().exists


def test_ctrl_c_at_a_hidden_prompt_in_a_terminal_exits_130(tmp_path: Path) -> None:
    # A real terminal (a pseudo-terminal) and a real Ctrl-C: the prompt reads /dev/tty.
    import os
    import pty
    import select
    import sys
    import time

    home = tmp_path / "home"
    pid, master = pty.fork()
    if pid == 0:  # the child: the command, with the pty as its controlling terminal
        os.environ.update(TOGUL_MONITOR_HOME=str(home), HOME=str(home))
        try:
            command = ["-m", "togul_monitor", *ADD, "--api-key-file", "-"]
            os.execv(sys.executable, [sys.executable, *command])
        finally:
            os._exit(127)  # never back into the test runner
    output, deadline = b"", time.monotonic() + 20
    try:
        while b"(input hidden):" not in output and time.monotonic() < deadline:
            if select.select([master], [], [], 0.5)[0]:
                output += os.read(master, 1024)
        assert b"(input hidden):" in output, output
        os.write(master, b"tgl_\x03")
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if select.select([master], [], [], 0.2)[0]:
                with contextlib.suppress(OSError):
                    output += os.read(master, 1024)
        else:
            os.kill(pid, 9)
            raise AssertionError(f"still running: {output!r}")
    finally:
        os.close(master)
    assert os.waitstatus_to_exitcode(status) == 130, output
    assert b"Aborted!" not in output and b"Traceback" not in output
