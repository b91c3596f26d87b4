"""`togul-monitor serve`: the emulator as a standalone server (README.md, "The emulator")."""

from __future__ import annotations

import ipaddress
import json
import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from togul_monitor.cli.common import EXIT_FAILED, EXIT_USAGE
from togul_monitor.support.text import safe_text

if TYPE_CHECKING:
    from togul_monitor.emulator.harness import EmulatorHandle
    from togul_monitor.emulator.outbox import OutboxEvent

EPILOG = """\b
Endpoints: GET /api/v1/stream, POST /api/v1/evaluate, the management API under
/api/v1 (Bearer org token), /healthz, /readyz.
\b
Fault switches (with --faults; org token), e.g. a 5-second stall:
  curl -X POST -H "Authorization: Bearer $TOKEN" \\
       http://127.0.0.1:8080/_emulator/faults/stall -d '{"seconds": 5}'
  faults: cut-streams {clean}, cut-after {n, mid_event}, stall {seconds},
  emit-malformed {data}, forget-replay, fail-next {k, status, retry_after},
  revoke-key {secret}, fail-evaluate {k, status, retry_after}, evaluate-quota {k}
  (every route, body and answer: docs/management-api.md)
"""


_SURROGATE = re.compile("[\ud800-\udfff]")


def printable(text: object) -> str:
    """Server text is data: replace control characters before it reaches a terminal (U+FFFD
    keeps the change log's columns one character per character). A lone surrogate, which no
    terminal encoding can write, becomes U+FFFD too."""
    return _SURROGATE.sub("\ufffd", safe_text(text, escape=False))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def event_line(event: OutboxEvent, env_names: dict[str, str]) -> str:
    """One published event as a log line: time, id, type, environment, flag key, version."""
    payload = event.frame_bare.decode().removeprefix("data: ").strip()
    try:
        data = json.loads(payload)
        stamp = time.strftime("%H:%M:%S", time.localtime(data["timestamp"]))
        env = env_names.get(data["environment_id"], data["environment_id"])
        return printable(
            f"{stamp}  #{event.seq:<6} {data['type']:<13} {env:<11} "
            f"{data['flag_key']}  v{data['version']}"
        )
    except (ValueError, KeyError, TypeError):
        return printable(f"#{event.seq} (raw) {payload}")


def print_banner(emu: EmulatorHandle, simulate: float, *, seeded: bool = True) -> None:
    # The emulator's own keys are local, generated credentials: printing them is the point of
    # this command (you paste them into a client). Nothing else prints them unmasked. Every
    # other string may come from a state file: printed inert, like the event log.
    creds = emu.credentials
    click.echo(f"Togul emulator listening on {printable(emu.base_url)}")
    click.echo(
        "  credentials  the same on every run (--seed)"
        if seeded
        else "  credentials  new on every run (--seed N keeps them)"
    )
    click.echo(
        "  faults       switches on: POST /_emulator/faults/<name> with the org token"
        if emu.fault_routes
        else "  faults       switches off (--faults turns them on)"
    )
    click.echo(f"  project id   {printable(creds.project_id)}")
    click.echo(f"  login        {printable(creds.username)} / {printable(creds.password)}")
    click.echo(f"  org token    {printable(creds.org_token)}")
    click.echo(f"  refresh      {printable(creds.org_refresh_token)}")
    ttl = emu.world.auth.token_ttl
    click.echo(
        f"  tokens live  {ttl:g} s (POST /api/v1/refresh-token renews them)"
        if ttl is not None
        else "  tokens live  the org token never expires (--token-ttl 0)"
    )
    if emu.ids:
        click.echo(f"  stream       ids, retry: and replay of the last {emu.replay} events")
    else:
        click.echo("  stream       the documented form: no id:, no retry: (--ids adds them)")
    for env, scopes in creds.keys.items():
        click.echo(f"  {printable(env)} ({printable(creds.environment_ids[env])})")
        for scope, secret in scopes.items():
            click.echo(f"    {scope:<7} {printable(secret)}")
    if simulate:
        click.echo(f"  simulating {simulate:g} changes per second")
    click.echo("Ctrl-C stops the server.")


def idle(emu: EmulatorHandle) -> None:
    """Wait for Ctrl-C (KeyboardInterrupt) while the server runs (tests replace it)."""
    while True:
        time.sleep(0.5)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_server(
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    state_file: Path | None = None,
    heartbeat: float = 30.0,
    simulate: float = 0.0,
    replay: int = 1000,
    seed: int | None = None,
    ids: bool = False,
    quiet: bool = False,
    token_ttl: float | None = 3600.0,
    faults: bool = False,
    allow_remote: bool = False,
) -> None:
    """Serve in the foreground until Ctrl-C (or SIGTERM), logging each published change.
    `seed`: None for credentials of this run only. `faults`: the fault switches over HTTP.
    `allow_remote`: listening on an address other than loopback. Exits 2 on a bad state file
    or a remote address without `allow_remote`, and 1 when the port cannot be bound."""
    from togul_monitor.emulator.harness import running_emulator
    from togul_monitor.emulator.simulate import Simulator, SimulatorThread
    from togul_monitor.emulator.statefile import StateError

    if not is_loopback(host):
        if not allow_remote:
            click.echo(
                f"error: {printable(host)} is not a loopback address: anyone who can reach it "
                "could use the credentials printed at start; --allow-remote to listen there "
                "anyway",
                err=True,
            )
            sys.exit(EXIT_USAGE)
        exposed = "the management API, login, evaluate and the streams"
        if faults:
            exposed += ", and the fault switches (anyone with the org token can break the server)"
        click.echo(
            f"warning: listening on {printable(host)}: anyone who can reach it and has the "
            f"credentials printed below can use {exposed}",
            err=True,
        )
    block = running_emulator(
        seed=seed,
        heartbeat=heartbeat,
        replay=replay,
        ids=ids,
        state_file=state_file,
        host=host,
        port=port,
        token_ttl=token_ttl,
        fault_routes=faults,
    )
    try:
        emu = block.__enter__()
    except StateError as exc:
        click.echo(f"error: {printable(str(exc))}", err=True)
        sys.exit(EXIT_USAGE)
    except OSError as exc:
        reason = printable(exc.strerror or exc)
        click.echo(f"error: cannot listen on {printable(host)}:{port}: {reason}", err=True)
        sys.exit(EXIT_FAILED)
    simulator = None
    try:
        print_banner(emu, simulate, seeded=seed is not None)
        if not quiet:
            names = {env_id: key for key, env_id in emu.credentials.environment_ids.items()}
            lock = threading.Lock()

            def log(event: OutboxEvent) -> None:
                with lock:
                    click.echo(event_line(event, names))

            emu.outbox.listeners.append(log)
        # Started here rather than by the harness so the log sees the very first change.
        if simulate:
            simulator = SimulatorThread(Simulator(emu.world, emu.seed), simulate)
            simulator.start()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _interrupt)
        try:
            idle(emu)
        except KeyboardInterrupt:
            click.echo("\nstopping…", err=True)
    finally:
        if simulator is not None:
            simulator.stop()
        block.__exit__(None, None, None)


@click.command(epilog=EPILOG)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Load the whole world from this JSON file (see docs/state-file.md).",
)
@click.option(
    "--heartbeat",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=0.01),
    metavar="SECONDS",
    help="Seconds between `: heartbeat` comments on open streams.",
)
@click.option(
    "--simulate",
    default=0.0,
    show_default=True,
    type=click.FloatRange(min=0),
    metavar="EVENTS_PER_SECOND",
    help="Generate realistic changes at this rate (deterministic with --seed).",
)
@click.option(
    "--replay",
    default=1000,
    show_default=True,
    type=click.IntRange(min=0),
    metavar="N",
    help="With --ids: events kept for Last-Event-ID replay (0: no replay).",
)
@click.option(
    "--seed",
    default=None,
    type=int,
    help="Seed for the world's ids and credentials and the simulation: the same ones on every "
    "run. Without it, new credentials on every run.",
)
@click.option(
    "--faults",
    is_flag=True,
    help="Offer the fault switches over HTTP (/_emulator/faults/, org token). Off by default: "
    "a client given the org token could otherwise break the server.",
)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow --host to be an address other than loopback (everyone who can reach it and has "
    "the printed credentials can use the server).",
)
@click.option(
    "--ids/--no-ids",
    default=False,
    show_default=True,
    help="Add an id: line to every event, a retry: at connect and replay from Last-Event-ID. "
    "Off, the stream is the documented form: data lines only.",
)
@click.option(
    "--token-ttl",
    default=3600.0,
    show_default=True,
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="Lifetime of every access token, the org token's too (0: the org token never expires).",
)
@click.option("--quiet", "-q", is_flag=True, help="Do not print each published change.")
def serve(
    host: str,
    port: int,
    state_file: Path | None,
    heartbeat: float,
    simulate: float,
    replay: int,
    seed: int | None,
    faults: bool,
    allow_remote: bool,
    ids: bool,
    token_ttl: float,
    quiet: bool,
) -> None:
    """Run the built-in Togul-compatible server.

    Prints the base URL and the credentials of its world, then each change it publishes.
    Ctrl-C stops it.
    """
    run_server(
        host=host,
        port=port,
        state_file=state_file,
        heartbeat=heartbeat,
        simulate=simulate,
        replay=replay,
        seed=seed,
        ids=ids,
        quiet=quiet,
        token_ttl=token_ttl or None,
        faults=faults,
        allow_remote=allow_remote,
    )
