"""`togul-monitor web`: the TUI in a browser (a team screen), served by textual-serve.

textual-serve (in ui/web_server.py) runs one command per browser session and relays its terminal
over a websocket to xterm.js in the page. The command here is this program's own TUI on the
same target:
`python -m togul_monitor --profile NAME` (or `--demo`). Only the profile's *name* is on that
command line: the key or token stays where the profile keeps it (profiles.toml, or an
environment variable the session process inherits), so `ps` and the page never show a secret.

The page has no authentication and gives whoever reaches it the whole TUI (the profile's view,
the profile switcher, exports written on this machine): it listens on loopback unless
`--allow-remote` says otherwise, with the host check of `serve`.
"""

from __future__ import annotations

import socket
import sys
import time
from urllib.parse import urlsplit

import click

from togul_monitor.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    PROGRAM,
    Target,
    check_ca_files,
    command_target,
    reports_config_errors,
    target_name,
    target_options,
)
from togul_monitor.cli.serve import is_loopback, printable

# Hosts that mean "every address of this machine": no browser can open them, so the URL to
# print names the machine instead.
_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "[::]"})


def session_argv(target: Target) -> tuple[list[str], str]:
    """The arguments after `python -m togul_monitor` that open the TUI on `target` in every
    session, and a label for it. Validated here, once, so a wrong name fails at start (exit 2)
    rather than in each browser tab."""
    if target.demo:
        return ["--demo"], "the built-in demo"
    # ConfigError: a broken file, several profiles and no default. No profile: the demo, as
    # the TUI each session runs would open.
    name = target_name(target, demo_fallback=True)
    if name is None:
        # An ad-hoc profile from TOGUL_BASE_URL and the key/token variables: the sessions
        # inherit this environment and resolve it the same way, so nothing goes on the line.
        from togul_monitor.config.resolve import adhoc_profile

        check_ca_files(adhoc_profile(url=None).base_url)
        return [], "the server of TOGUL_BASE_URL"
    from togul_monitor.demo import DEMO_PROFILES

    if name not in DEMO_PROFILES:
        from togul_monitor.config.resolve import resolve_profile

        # Unknown, its secret cannot be found, a CA file that cannot be read: exit 2 now.
        check_ca_files(resolve_profile(name).base_url)
    # The name, resolved once: a later change of default_profile does not move a team screen.
    return ["--profile", name], f"profile {name}"


def public_url(host: str, port: int) -> str:
    """The URL a browser opens (and the page's websocket address is built from)."""
    if host in _WILDCARD_HOSTS:
        host = socket.gethostname()
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return f"http://{host}:{port}"


def trusted_origins(host: str, port: int, url: str) -> frozenset[str]:
    """The origins whose pages may open a session: the public URL's, and on loopback the
    machine's own names for it (a browser there may type any of them)."""
    origins = {_origin(url)}
    if is_loopback(host):
        origins |= {
            _origin(f"http://{name}:{port}") for name in ("127.0.0.1", "localhost", "[::1]")
        }
    return frozenset(origins)


def _origin(url: str) -> str:
    """`scheme://host[:port]` as a browser sends it in `Origin` (no path, no default port)."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    netloc = (parts.hostname or "").lower()
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port is not None and parts.port != default:
        netloc += f":{parts.port}"
    return f"{parts.scheme}://{netloc}"


def origin_allowed(origin: str | None, trusted: frozenset[str]) -> bool:
    """Whether a websocket from a page of `origin` may start a session. A browser lets any
    page open a websocket to any address, its own origin attached: without this check a web
    page visited on this machine could open a session on 127.0.0.1 and read the profile's view.
    No origin: not a browser page, which no website can make. The request's Host header is no
    proof of anything: a site whose name is made to resolve to this server (DNS rebinding) sends
    `Origin: http://its-name` with `Host: its-name`, so only the public URL's origin (and on
    loopback the machine's own names) is trusted, also under --allow-remote."""
    return origin is None or origin in trusted


def _stamp() -> str:
    return time.strftime("%H:%M:%S")


class _StderrSessionLog:
    """What the server says about its sessions, on stderr (ui/web_server.py `SessionLog`)."""

    def __init__(self, url: str) -> None:
        self._url = url

    def refused(self, origin: str | None, peer: str) -> None:
        click.echo(
            f"{_stamp()} refused a session for a page of {printable(origin)} "
            f"(from {printable(peer)}): not this server's page "
            f"({printable(self._url)}; --public-url names another)",
            err=True,
        )

    def opened(self, number: int, peer: str, open_now: int) -> None:
        click.echo(
            f"{_stamp()} session {number} opened from {printable(peer)} ({open_now} open)",
            err=True,
        )

    def closed(self, number: int, open_now: int) -> None:
        click.echo(f"{_stamp()} session {number} closed ({open_now} open)", err=True)


def run_web(
    target: Target, *, host: str, port: int, allow_remote: bool, url: str | None = None
) -> None:
    """Serve the TUI on `target` until Ctrl-C or SIGTERM. Exits 2 for a remote host without
    `allow_remote` (or a target that cannot open), 1 when the port cannot be bound."""
    if not is_loopback(host):
        if not allow_remote:
            click.echo(
                f"error: {printable(host)} is not a loopback address: anyone who can reach it "
                "would get the TUI in their browser, with no password; --allow-remote to "
                "listen there anyway",
                err=True,
            )
            sys.exit(EXIT_USAGE)
        click.echo(
            f"warning: listening on {printable(host)} with no authentication: anyone who can "
            "reach it gets this profile's live view, and the whole TUI with it (the profile "
            "switcher `p` too, every saved profile, and exports written on this machine)",
            err=True,
        )
    argv, label = session_argv(target)
    address = url or public_url(host, port)
    trusted = trusted_origins(host, port, address)
    # Imported here: textual-serve (aiohttp) loads only for this command.
    from togul_monitor.ui.web_server import WebServer, serve

    server = WebServer(
        [sys.executable, "-m", "togul_monitor", *argv],
        title=f"{PROGRAM} · {label}",
        host=host,
        port=port,
        url=address,
        allowed=lambda origin: origin_allowed(origin, trusted),
        log=_StderrSessionLog(address),
    )

    def announce(*_: object) -> None:
        # aiohttp calls this once the port is bound: the URL printed is one that answers.
        click.echo(f"{PROGRAM} web: the TUI on {printable(label)}, in a browser at")
        click.echo(f"  {printable(address)}/")
        click.echo(
            "Every browser tab runs its own session (a togul-monitor process on this machine)."
        )
        click.echo("Ctrl-C stops the server and every session.")

    try:
        serve(server, host=host, port=port, announce=announce)
    except OSError as exc:
        reason = printable(exc.strerror or exc)
        click.echo(f"error: cannot listen on {printable(host)}:{port}: {reason}", err=True)
        sys.exit(EXIT_FAILED)
    except KeyboardInterrupt:
        pass  # a Ctrl-C before aiohttp took over the signal: nothing was served yet
    click.echo("stopped", err=True)


@click.command()
@target_options(
    "demo",
    "profile_name",
    help_text={
        "demo": "Serve the built-in demo. Every browser session starts a demo of its own (its own "
        "emulator and simulated changes): two tabs show two different worlds.",
        "profile_name": "Serve this saved profile (default: the one the TUI opens). Only its "
        "name reaches the session's command line, never its key or token.",
    },
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port to listen on.",
)
@click.option(
    "--public-url",
    metavar="URL",
    help="The address browsers open, when not http://HOST:PORT (a proxy in front, a name for "
    "the machine); the page's websocket connects there too, and only a page of this address "
    "may open a session.",
)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow --host to be an address other than loopback. The page has no authentication: "
    "everyone who can reach it gets the TUI.",
)
@reports_config_errors
def web(
    demo: bool,
    profile_name: str | None,
    host: str,
    port: int,
    public_url: str | None,
    allow_remote: bool,
) -> None:
    """Serve the TUI to a browser (a team screen), on the same profile.

    Every browser session runs its own `togul-monitor` TUI process on this machine, on the
    profile given. One process records a profile: with its own journal file the first session
    does unless a recorder already runs, the others say they are not recording; with a shared
    (PostgreSQL) journal no session records, each reads what `togul-monitor record` writes.
    Loopback only unless --allow-remote. Ctrl-C or SIGTERM stops the server and every session.
    """
    target = command_target(Target(demo=demo, profile_name=profile_name))
    run_web(
        target,
        host=host,
        port=port,
        allow_remote=allow_remote,
        url=public_url.rstrip("/") if public_url else None,
    )
