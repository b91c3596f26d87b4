"""`togul-monitor record`: an always-on, headless recorder of one or more profiles.

Each profile is an independent recording Monitor (the journal of `tail`, the TUI's history);
all of them run on one asyncio loop in the main thread. Nothing goes to stdout: stderr gets one
log line per notable thing (cli/record_log.py), and `--metrics-port` serves Prometheus metrics
read from the monitors at scrape time (cli/record_metrics.py). docs/recorder.md is the manual.

SIGTERM and SIGINT stop every monitor the same way: its stream is cancelled, its journal
commits everything queued and closes, and the process exits 0. Exit codes otherwise follow
cli/common.py; how several profiles combine into one is in `record`'s help below.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import click

from togul_monitor.cli.common import (
    EXIT_CREDENTIALS,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    group_choices,
    report_config_error,
)
from togul_monitor.cli.record_log import LOG_FORMATS, RecordLog
from togul_monitor.cli.record_metrics import MetricsServer, RecorderCollector
from togul_monitor.cli.record_profiles import choose_names, open_profiles
from togul_monitor.cli.record_run import Ending, ProfileRun
from togul_monitor.config.entry import Profile
from togul_monitor.config.errors import ConfigError
from togul_monitor.support.logs import report_log_failures

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def exit_code(endings: Sequence[Ending | None], *, signalled: bool) -> int:
    """The recorder's exit code once every profile has stopped.

    A signal is the normal end (0), whatever some profiles stopped for before it. Without one,
    every profile stopped on its own: 3 when each was for rejected credentials, 2 when each was
    for rejected credentials or a configuration error (at least one of those), else 1."""
    if signalled:
        return EXIT_OK
    if endings and all(e is Ending.CREDENTIALS for e in endings):
        return EXIT_CREDENTIALS
    if endings and all(e in (Ending.CREDENTIALS, Ending.CONFIGURATION) for e in endings):
        return EXIT_USAGE
    return EXIT_FAILED


async def run_recorder(
    profiles: Sequence[Profile],
    log: RecordLog,
    *,
    metrics_host: str = "127.0.0.1",
    metrics_port: int | None = None,
    monitor_options: Mapping[str, Any] | None = None,
) -> int:
    """Record `profiles` until a stop signal or until every one has stopped; the exit code."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    caught: list[str] = []

    def on_signal(sig: signal.Signals) -> None:
        if not caught:
            log.info("stopping", signal=sig.name)
        caught.append(sig.name)
        stop.set()

    collector = RecorderCollector()
    server: MetricsServer | None = None
    if metrics_port is not None:
        try:
            server = MetricsServer(collector, metrics_host, metrics_port)
        except OSError as error:
            log.error(
                "metrics server failed",
                host=metrics_host,
                port=metrics_port,
                error=error.strerror or str(error),
            )
            return EXIT_USAGE
        log.info("metrics listening", host=metrics_host, port=server.port, path="/metrics")
    installed: list[signal.Signals] = []
    try:
        for sig in STOP_SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
                loop.add_signal_handler(sig, on_signal, sig)
                installed.append(sig)
        log.info("recorder started", profiles=",".join(p.name for p in profiles))
        runs = [ProfileRun(p, log, collector, stop, monitor_options) for p in profiles]
        endings = await asyncio.gather(*(run.run() for run in runs))
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        if server is not None:
            server.close()
    code = exit_code(endings, signalled=stop.is_set())
    log.line("info" if code == EXIT_OK else "error", "recorder stopped", exit_code=code)
    return code


@click.command()
@click.option(
    "--profile",
    "profile_names",
    multiple=True,
    metavar="NAME",
    help="Record this saved profile (repeatable).",
)
@click.option("--all", "all_profiles", is_flag=True, help="Record every profile of profiles.toml.")
@click.option("--demo", is_flag=True, help="Record the built-in demo's two profiles.")
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    metavar="PORT",
    help="Serve Prometheus metrics on PORT (/metrics; 0: a free port, logged).",
)
@click.option(
    "--metrics-host",
    default="127.0.0.1",
    show_default=True,
    metavar="HOST",
    help="Address the metrics server listens on.",
)
@click.option(
    "--log-format",
    type=click.Choice(LOG_FORMATS),
    default="logfmt",
    show_default=True,
    help="One log line per notable thing on stderr, as logfmt or JSON.",
)
def record(
    profile_names: tuple[str, ...],
    all_profiles: bool,
    demo: bool,
    metrics_port: int | None,
    metrics_host: str,
    log_format: str,
) -> None:
    """Record one or more profiles to their journals, headless, until stopped.

    Each profile runs its own monitor (stream, re-evaluation for every named context, journal),
    all in one process; an unreachable server is retried for as long as the recorder runs.
    stdout stays empty; stderr gets one log line per notable thing (no secret, server text made
    safe). SIGTERM or SIGINT: every monitor stops, its journal commits what it queued and
    closes, exit 0. With several profiles, TOGUL_BASE_URL, TOGUL_API_KEY and TOGUL_TOKEN are
    ignored (and logged): they would point every profile at one server. docs/recorder.md has a
    systemd unit, the metrics and Grafana queries.

    \b
    Exit codes:
      0  stopped by SIGTERM or SIGINT (the normal end)
      1  every profile stopped, not all for the reasons of 2 and 3
      2  usage or configuration error at start (a metrics address that
         cannot be bound too), or every profile stopped for a
         configuration error or rejected credentials
      3  every profile stopped because its credentials were rejected

    A profile whose credentials are rejected (or whose stream proves the profile wrong) stops
    and is logged; the others go on, and the recorder ends once none is left.
    """
    log = RecordLog(sys.stderr, fmt=log_format)
    # A log file that stops taking records (a full disk) is said once, in the recorder's format.
    report_log_failures(
        lambda path, error: log.warn("log file not written", file=path, error=error)
    )
    try:
        chosen = choose_names(
            profile_names, all_profiles=all_profiles, demo=demo, group=group_choices().target
        )
        with open_profiles(chosen) as profiles:
            if chosen.ignored_overrides:
                log.warn(
                    "ignored with several profiles",
                    variables=",".join(chosen.ignored_overrides),
                )
            code = asyncio.run(
                run_recorder(profiles, log, metrics_host=metrics_host, metrics_port=metrics_port)
            )
    except ConfigError as error:
        report_config_error(error)
    finally:
        report_log_failures(None)  # tests run many commands in one process
    sys.exit(code)
