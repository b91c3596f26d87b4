"""What every command shares: the target options, the group's choices, the exit codes, and the
one way a configuration error is reported.

The options, the exit codes and the precedence between the group's options and a command's are
the user-facing contract in README.md ("Headless commands"): 0 done, 1 runtime failure, 2 usage
or configuration error, 3 credentials rejected, 130 interrupted (Ctrl-C, the shell's convention
for SIGINT).
"""

from __future__ import annotations

import asyncio
import functools
import re
import signal
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final, NoReturn, TypeVar, cast

import click
import msgspec

from togul_monitor.config.entry import Profile
from togul_monitor.config.errors import ConfigError
from togul_monitor.support.text import cell_width, mask_secret, safe_text

if TYPE_CHECKING:
    from togul_monitor.domain.filters import Filter

F = TypeVar("F", bound=Callable[..., Any])

PROGRAM: Final = "togul-monitor"

EXIT_OK: Final = 0  # done: --count reached, the reader closed the pipe
EXIT_FAILED: Final = 1  # a runtime failure: the stream stopped, no journal, a write failed
# A ConfigError carries its code so the configuration stage is testable without the CLI: the
# number is stated there once, and named here for every other usage error.
EXIT_USAGE: Final = ConfigError.exit_code
EXIT_CREDENTIALS: Final = 3  # the server rejected the credentials
EXIT_INTERRUPTED: Final = 130  # Ctrl-C: 128 + SIGINT, what a shell reports for it
EXIT_TERMINATED: Final = 143  # 128 + SIGTERM: `kill`, `timeout`, a service manager stopped it


# --- the target -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Which server a command talks to, as the command line says it (not yet resolved)."""

    demo: bool = False
    profile_name: str | None = None
    url: str | None = None
    api_key: str | None = field(default=None, repr=False)  # repr: never print a secret
    token: str | None = field(default=None, repr=False)
    environment: str | None = None

    @property
    def chosen(self) -> bool:
        """These options pick a server (`--demo`, `--profile` or `--url`)."""
        return self.demo or bool(self.profile_name) or bool(self.url)

    def over(self, group: Target) -> Target:
        """This command's target, with the group's `--demo`/`--profile` when it picks none.

        A command's own choice wins whole: `togul-monitor --profile b tail --demo` tails the
        demo rather than refusing two choices; the other options always pass through."""
        if self.chosen:
            return self
        return replace(self, demo=group.demo, profile_name=group.profile_name)


class GroupChoices(msgspec.Struct, frozen=True):
    """`ctx.obj`: the options given before the subcommand (`togul-monitor --profile b tail`)."""

    target: Target = msgspec.field(default_factory=Target)


def group_choices() -> GroupChoices:
    """The group's choices, or none when a command runs without the group (a test)."""
    ctx = click.get_current_context(silent=True)
    found = ctx.find_object(GroupChoices) if ctx is not None else None
    return found if found is not None else GroupChoices()


def command_target(own: Target) -> Target:
    """The target a command acts on: its own options over the group's."""
    return own.over(group_choices().target)


# Each target option, declared once: (parameter declarations, click.option attributes).
_TARGET_OPTIONS: Final[dict[str, tuple[tuple[str, ...], dict[str, Any]]]] = {
    "demo": (
        ("--demo",),
        {"is_flag": True, "help": "The built-in demo (an emulator on a free loopback port)."},
    ),
    "profile_name": (
        ("--profile", "profile_name"),
        {"metavar": "NAME", "help": "A saved profile."},
    ),
    "url": (
        ("--url",),
        {"metavar": "URL", "help": "Base URL of a Togul server (with a key or a token)."},
    ),
    "api_key": (
        ("--api-key",),
        {
            "metavar": "KEY",
            "help": "X-API-Key (sdk or stream scope). Visible to other users in the process "
            "list: prefer --api-key-file or TOGUL_API_KEY.",
        },
    ),
    "api_key_file": (
        ("--api-key-file",),
        {"metavar": "PATH", "help": "Read the API key from PATH (`-`: stdin, hidden prompt)."},
    ),
    "token": (
        ("--token",),
        {
            "metavar": "JWT",
            "help": "Bearer token: the organisation-wide stream. Visible in the process list: "
            "prefer --token-file or TOGUL_TOKEN.",
        },
    ),
    "token_file": (
        ("--token-file",),
        {"metavar": "PATH", "help": "Read the Bearer token from PATH (`-`: stdin)."},
    ),
    "environment": (
        ("--environment",),
        {"metavar": "KEY", "help": "Environment key of the target."},
    ),
}
TARGET_PARAMETERS: Final = tuple(_TARGET_OPTIONS)


def target_options(*names: str, help_text: Mapping[str, str] | None = None) -> Callable[[F], F]:
    """Declare target options on a command or the group: those `names` (parameter names, see
    `TARGET_PARAMETERS`), all of them when none is named. `help_text` rewords an option's help
    for one command; the option itself stays the same everywhere."""
    chosen = names or TARGET_PARAMETERS
    unknown = set(chosen) - set(TARGET_PARAMETERS)
    if unknown:
        raise ValueError(f"not a target option: {', '.join(sorted(unknown))}")

    def decorate(func: F) -> F:
        for name in reversed(chosen):  # click lists options in the order they are applied
            declarations, attributes = _TARGET_OPTIONS[name]
            if help_text and name in help_text:
                attributes = {**attributes, "help": help_text[name]}
            func = click.option(*declarations, **attributes)(func)
        return func

    return decorate


@contextmanager
def open_target(target: Target, *, demo_fallback: bool = False) -> Iterator[Profile]:
    """The profile `target` names, ready to connect (the demo's emulator runs meanwhile);
    `demo_fallback`: the demo when no profile is configured (the TUI only)."""
    from togul_monitor.config.resolve import open_target as resolve_target

    with resolve_target(
        demo=target.demo,
        profile_name=target.profile_name,
        url=target.url,
        api_key=target.api_key,
        token=target.token,
        environment=target.environment,
        demo_fallback=demo_fallback,
    ) as profile:
        check_ca_files(profile.base_url)
        yield profile


def check_ca_files(base_url: str) -> None:
    """A ConfigError, before anything connects, when `SSL_CERT_FILE` or `SSL_CERT_DIR` names
    what cannot be used for an `https://` `base_url`: every client made would raise."""
    from togul_monitor.client.tls import ca_problem

    problem = ca_problem(base_url)
    if problem is not None:
        raise ConfigError(safe_text(problem))


def target_name(target: Target, *, demo_fallback: bool = False) -> str | None:
    """The name of the profile `target` picks, by the same rules as `open_target`, without
    connecting or starting anything (None: an ad-hoc `--url` target). Reads and validates the
    profile file: a broken file is a configuration error for every command."""
    from togul_monitor.config.profiles import load_config
    from togul_monitor.config.resolve import choose_target

    return choose_target(
        load_config(),
        demo=target.demo,
        profile_name=target.profile_name,
        url=target.url,
        environment=target.environment,
        demo_fallback=demo_fallback,
    )


# --- errors ---------------------------------------------------------------------------------


def command_name() -> str:
    """`tail`, `profiles add`: the running command without the program's name."""
    ctx = click.get_current_context(silent=True)
    words = ctx.command_path.split()[1:] if ctx is not None else []
    return " ".join(words) or PROGRAM


def rejected_words(secret: str | None, profile_name: str, why: str) -> str:
    """What `tail` and `wait` say, once, when the server rejected the credentials (exit 3): the
    one it was sent, masked, the profile, and the server's reason (`why`, safe text)."""
    return (
        f"the server rejected the credentials {mask_secret(secret)} "
        f"(profile {safe_text(profile_name)}): {why}"
    )


def stream_rejected_words(profile: Profile, error: str | None) -> str:
    """`rejected_words` for a stream the server refused: the credential the stream sent."""
    from togul_monitor.client.credentials import stream_credentials

    used = stream_credentials(profile)
    return rejected_words(used.api_key or used.token, profile.name, safe_text(error or "stopped"))


def report_config_error(error: ConfigError, command: str | None = None) -> NoReturn:
    """How every command reports a ConfigError: `<command>: <message>` on stderr, exit 2."""
    click.echo(f"{command or command_name()}: {error}", err=True)
    sys.exit(EXIT_USAGE)


def reports_config_errors(func: F) -> F:
    """Decorate a command so a ConfigError from it is reported by `report_config_error`."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as error:
            report_config_error(error)

    return cast(F, wrapper)


def parse_filter_option(text: str | None, command: str | None = None) -> Filter | None:
    """`--filter QUERY` parsed, or None when not given. An invalid filter is a usage error
    reported the same way by every command: the message (which names the position once), the
    query, a caret under the term at fault (counted in terminal cells: a wide character before
    the term takes two); exit 2."""
    if not text:
        return None
    from togul_monitor.domain.filters import FilterError, parse_filter

    try:
        return parse_filter(text)
    except FilterError as exc:
        name = command or command_name()
        click.echo(f"{name}: invalid --filter: {safe_text(str(exc))}", err=True)
        # The caret's column: the cells of what is printed before the term (escapes included).
        column = cell_width(safe_text(text[: exc.position]))
        click.echo(f"  {safe_text(text)}\n  {' ' * column}^", err=True)
        sys.exit(EXIT_USAGE)


# --- durations ------------------------------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def duration_seconds(text: str) -> float | None:
    """`90s`, `15m`, `2h`, `7d`, `1w` in seconds; None when `text` is not one of those (a
    number needs its unit here: `export --since 1700000000` is a Unix time, not a duration)."""
    match = _DURATION.match(text)
    if match is None:
        return None
    return float(match.group(1)) * _UNITS[match.group(2)]


def duration_option(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """A click option callback for a span of time: `30s`, `5m`, `2h` (a bare number is
    seconds); in seconds, None when the option is not given."""
    if value is None:
        return None
    seconds = duration_seconds(value)
    if seconds is None:
        try:
            seconds = float(value)
        except ValueError:
            seconds = None
    if seconds is None or not 0 < seconds < float("inf"):
        raise click.BadParameter(f"{safe_text(value)!r} is not a duration: use e.g. 30s, 5m, 2h")
    return seconds


def check_context_names(profile: Profile, names: Sequence[str]) -> None:
    """A usage error (exit 2) naming each of `names` (`--context`) that is no context of the
    profile, and listing the ones it has, so the fix is on the screen."""
    known = list(profile.evaluation_contexts)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise click.UsageError(
            f"unknown context {', '.join(safe_text(n) for n in unknown)}: profile "
            f"{safe_text(profile.name)} evaluates for {', '.join(safe_text(n) for n in known)}",
            ctx=click.get_current_context(silent=True),
        )


@contextmanager
def cancelled_by_terminate() -> Iterator[list[int]]:
    """SIGTERM or SIGHUP (`kill`, `timeout`, a service manager) cancel the running task, so it
    ends through its own cleanup (its output written, its journal closed); the list holds the
    signals that came. Only the main thread's loop can take signals: elsewhere, nothing."""
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    came: list[int] = []

    def terminate(signum: int) -> None:
        came.append(signum)
        if task is not None:
            task.cancel()

    installed = []
    for signum in (signal.SIGTERM, signal.SIGHUP):
        with suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, terminate, signum)
            installed.append(signum)
    try:
        yield came
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
