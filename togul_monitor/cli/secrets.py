"""Where a secret given to a command comes from, without putting it where others can read it.

A command line is visible to every local user (`ps`, /proc/PID/cmdline) for as long as the
command runs, and it lands in shell history. So a secret is best given:
- by an environment variable (`TOGUL_API_KEY`, `TOGUL_TOKEN`; a saved profile names its own with
  `api_key_env`);
- from a file: `--api-key-file PATH` / `--token-file PATH` (the secret alone in it; a trailing
  newline is fine);
- from standard input: `--api-key-file -`, which asks for it without echo when stdin is a
  terminal, and otherwise reads the pipe (`pass show togul | togul-monitor tail ... -`).

`--api-key KEY` and `--token JWT` keep working, with a warning on stderr that the secret is
visible in the process list. No message here ever contains the secret itself.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

import click
import msgspec

from togul_monitor.cli.common import EXIT_INTERRUPTED
from togul_monitor.config.errors import ConfigError
from togul_monitor.support.text import credential_problem, safe_text

STDIN: Final = "-"
MAX_SECRET_BYTES: Final = 64 * 1024  # a key or a JWT is well under 4 KB: this stops /dev/zero


class SecretKind(msgspec.Struct, frozen=True):
    """One kind of secret: how it is named in messages, its options, its variable."""

    what: str  # "API key"
    option: str  # "--api-key"
    file_option: str  # "--api-key-file"
    variable: str  # "TOGUL_API_KEY"


API_KEY: Final = SecretKind("API key", "--api-key", "--api-key-file", "TOGUL_API_KEY")
TOKEN: Final = SecretKind("token", "--token", "--token-file", "TOGUL_TOKEN")


def visible_warning(kind: SecretKind) -> str:
    return (
        f"warning: {kind.option} puts the {kind.what} in the command line, where every local "
        f"user can read it (ps) and your shell history keeps it; use {kind.file_option} PATH, "
        f"{kind.file_option} - (stdin) or the {kind.variable} variable instead"
    )


def choose_secrets(
    api_key: str | None, api_key_file: str | None, token: str | None, token_file: str | None
) -> tuple[str | None, str | None]:
    """The API key and the token a command was given (`choose_secret` for each). Standard input
    holds one secret: both read from it would leave the second empty."""
    if api_key_file == STDIN and token_file == STDIN:
        raise ConfigError(
            f"{API_KEY.file_option} - and {TOKEN.file_option} - both read standard input, which "
            "holds one secret: give one of them a file"
        )
    return choose_secret(API_KEY, api_key, api_key_file), choose_secret(TOKEN, token, token_file)


def choose_secret(kind: SecretKind, literal: str | None, file: str | None) -> str | None:
    """The secret from `literal` (`--api-key`, warned about) or from `file` (`--api-key-file`);
    None when neither is given. ConfigError for both, or for a file that gives no secret."""
    if literal is not None and file is not None:
        raise ConfigError(f"give {kind.option} or {kind.file_option}, not both")
    if literal is not None:
        click.echo(visible_warning(kind), err=True)
        return literal
    if file is None:
        return None
    return read_secret(kind, file)


def read_secret(kind: SecretKind, source: str) -> str:
    """The secret in the file `source` (`-`: stdin, asked for without echo on a terminal)."""
    if source == STDIN and stdin_is_terminal():
        return _prompt(kind)
    where = "standard input" if source == STDIN else safe_text(source)
    try:
        if source == STDIN:
            raw = sys.stdin.buffer.read(MAX_SECRET_BYTES + 1) if sys.stdin is not None else b""
        else:
            with Path(source).open("rb") as handle:
                raw = handle.read(MAX_SECRET_BYTES + 1)
    except OSError as exc:
        raise ConfigError(
            f"cannot read the {kind.what} from {where}: {exc.strerror or exc}"
        ) from None
    if len(raw) > MAX_SECRET_BYTES:
        raise ConfigError(f"{where} is too large to hold the {kind.what} ({kind.file_option})")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{where} is not UTF-8 text ({kind.file_option})") from None
    lines = text.strip().splitlines()
    secret = lines[0].strip() if lines else ""
    if not secret:
        raise ConfigError(f"{where} holds no {kind.what} ({kind.file_option})")
    if len(lines) > 1:
        # Several lines are most likely the wrong file: say so rather than send line one.
        raise ConfigError(
            f"{where} holds more than one line: put the {kind.what} alone in it "
            f"({kind.file_option})"
        )
    return _checked(kind, secret, f"read from {where}")


def _checked(kind: SecretKind, secret: str, where: str) -> str:
    """`secret` unless it cannot be sent in a header: checked here, where it is known to come
    from the file option (config/resolve.py checks it again, but as the literal option's)."""
    problem = credential_problem(secret)
    if problem:
        raise ConfigError(f"the {kind.what} {where} {problem}", key=kind.file_option)
    return secret


def stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _prompt(kind: SecretKind) -> str:
    text = ask(f"{kind.what} (input hidden)", hide_input=True).strip()
    if not text:
        raise ConfigError(f"no {kind.what} given")
    return _checked(kind, text, "typed at the prompt")


def ask(label: str, *, hide_input: bool = False) -> str:
    """`click.prompt` on stderr, where Ctrl-C exits 130 like every other interruption (click
    says "Aborted!" and exits 1) and end of input is no answer ("")."""
    try:
        return str(click.prompt(label, hide_input=hide_input, err=True))
    except click.Abort as exc:
        # click raises Abort "from None" for both, but keeps the original as the context.
        if isinstance(exc.__context__, KeyboardInterrupt):
            raise SystemExit(EXIT_INTERRUPTED) from None
        return ""
