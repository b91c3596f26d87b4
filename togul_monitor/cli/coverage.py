"""`togul-monitor coverage FLAG`: what share of synthetic users of each context gets each value,
next to the rollout percentages the flag's rules configure.

Samples `--samples` users per context (200; at most 2,000), paced (core/coverage.py: at most 50
requests a second, 4 at once), with the profile's API key. With a token too, the flag's
configuration is read (the management API) so each percentage rule's configured share stands
beside the observed one; without, only the observed shares are printed, and stderr says so.
How "reached" is decided and its limits: docs/coverage.md.

stdout: a line per context (`premium: true 48.5 %, false 51.5 % (200 samples)`) and under it a
line per percentage rule (`rule 2: 50 % configured, 48.5 % observed for premium (200 samples)`);
`--json`: one object. With a token the configuration is read again after the last answer: when
it changed during the run, that is said first (`checkout-v2 changed during the run (version 7 →
8): ...`) and no rule's configured share is set beside the observed one. Exit codes
(cli/common.py): 0 done, 1 stopped early (quota, no such flag, failures) or the configuration
changed during the run, 2 usage or configuration error, 3 credentials rejected, 130 Ctrl-C.
"""

from __future__ import annotations

import asyncio
import json
import sys
from functools import partial
from typing import TextIO

import click

from togul_monitor.cli.common import (
    EXIT_CREDENTIALS,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Target,
    check_context_names,
    command_target,
    open_target,
    report_config_error,
    target_options,
)
from togul_monitor.cli.secrets import choose_secrets
from togul_monitor.client.management import ManagementError
from togul_monitor.config.entry import Profile
from togul_monitor.config.errors import ConfigError
from togul_monitor.core.coverage import (
    DEFAULT_SAMPLES,
    MAX_RATE,
    MAX_SAMPLES,
    ReadConfig,
    coverage_problem,
    open_client,
    read_flag_config,
    sample_coverage,
)
from togul_monitor.core.environment import refuse_other_environment
from togul_monitor.core.tokens import ProfileTokens
from togul_monitor.domain.coverage import CoverageResult
from togul_monitor.domain.coverage_change import change_words
from togul_monitor.domain.coverage_words import recheck_words, result_lines, result_to_json
from togul_monitor.domain.flag_config import FlagConfig
from togul_monitor.support.text import safe_text

__all__ = ["coverage", "run_coverage"]


def choose_contexts(profile: Profile, names: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """The profile's contexts, or those `names` chooses (in the profile's order); an unknown
    name is a usage error that lists the known ones."""
    check_context_names(profile, names)
    known = profile.evaluation_contexts
    return {name: attrs for name, attrs in known.items() if not names or name in names}


def _note(err: TextIO, text: str) -> None:
    err.write(f"coverage: {safe_text(text)}\n")


def _reader(profile: Profile, flag_key: str, tokens: ProfileTokens) -> ReadConfig:
    """Reads the flag's configuration with the profile's token, renewed after a 401 (this
    command owns its token: ProfileTokens writes a rotated pair back, as the monitor does)."""
    keeper = tokens.keeper
    assert keeper is not None  # a token: ProfileTokens keeps it

    async def read() -> FlagConfig | None:
        return await read_flag_config(profile, flag_key, lambda: keeper.token, keeper.renew)

    return read


async def _first_read(read: ReadConfig, flag_key: str, err: TextIO) -> FlagConfig | None:
    """The configuration before the run; None (said on stderr) when the environment does not
    list the flag or the read fails."""
    try:
        config = await read()
    except ManagementError as exc:
        _note(err, f"the flag's configuration was not read ({exc}): observed shares only")
        return None
    if config is None:
        _note(err, f"the environment does not list {flag_key}: observed shares only")
    return config


async def run_coverage(
    profile: Profile,
    flag_key: str,
    *,
    samples: int,
    contexts: tuple[str, ...] = (),
    seed: int | None = None,
    as_json: bool,
    out: TextIO,
    err: TextIO,
) -> int:
    """Sample, print, return the exit code. A profile that cannot evaluate is a ConfigError."""
    problem = coverage_problem(profile)
    if problem is not None:
        raise ConfigError(problem, profile=profile.name)
    chosen = choose_contexts(profile, contexts)
    # A key of another environment is the profile's mistake (exit 2), as for every command.
    await refuse_other_environment(profile, flag_key)
    if not profile.token:
        err.write(
            "coverage: no token: observed shares only (the configured percentages come from "
            "the management API, which needs a token: token_env, --token-file or TOGUL_TOKEN)\n"
        )
    # Open for the whole run: the configuration is read before it and again after it.
    tokens = ProfileTokens(profile, note=partial(_note, err)) if profile.token else None
    try:
        read = _reader(profile, flag_key, tokens) if tokens is not None else None
        config = await _first_read(read, flag_key, err) if read is not None else None
        result = await _sample(profile, flag_key, chosen, config, samples, seed, read, err)
    finally:
        if tokens is not None:
            await tokens.aclose()
    if as_json:
        # ensure_ascii: server text is escaped, never printed raw.
        out.write(json.dumps(result_to_json(result), sort_keys=True) + "\n")
    else:
        for line in result_lines(result):
            out.write(line + "\n")
    # Said on stderr too: stdout may be a script's JSON.
    if result.config_changed is not None:
        err.write(f"coverage: {change_words(flag_key, result.config_changed)}\n")
    if result.recheck_failed is not None:
        err.write(f"coverage: {recheck_words(result.recheck_failed)}\n")
    if result.stopped:
        err.write(f"coverage: stopped: {safe_text(result.stopped)}\n")
    if result.stop_kind == "rejected":
        return EXIT_CREDENTIALS
    # A run the flag changed under measured no one configuration: a failure, as a stop is.
    failed = result.stopped is not None or result.config_changed is not None
    return EXIT_FAILED if failed else EXIT_OK


async def _sample(
    profile: Profile,
    flag_key: str,
    chosen: dict[str, dict[str, str]],
    config: FlagConfig | None,
    samples: int,
    seed: int | None,
    read: ReadConfig | None,
    err: TextIO,
) -> CoverageResult:
    total = samples * len(chosen)
    err.write(
        f"coverage: {total} evaluate requests ({samples} per context × {len(chosen)}), "
        f"at most {MAX_RATE:g} a second\n"
    )
    client = open_client(profile)
    try:
        return await sample_coverage(
            client, flag_key, chosen, config=config, samples=samples, seed=seed, reread=read
        )
    finally:
        await client.aclose()


@click.command()
@target_options(
    help_text={
        "demo": "Measure on the built-in demo (an emulator on loopback).",
        "profile_name": "Measure with a saved profile: its API key, environment and contexts.",
        "environment": "Environment key of the target (evaluate needs one).",
    }
)
@click.argument("flag_key", metavar="FLAG")
@click.option(
    "--samples",
    type=click.IntRange(1, MAX_SAMPLES),
    default=DEFAULT_SAMPLES,
    show_default=True,
    help=f"Synthetic users per context (at most {MAX_SAMPLES}).",
)
@click.option(
    "--context",
    "context_names",
    multiple=True,
    metavar="NAME",
    help="Only this named context of the profile (repeatable); default: every one.",
)
@click.option(
    "--seed", type=int, default=None, help="Fix the synthetic user ids (repeatable runs)."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def coverage(
    demo: bool,
    profile_name: str | None,
    url: str | None,
    api_key: str | None,
    api_key_file: str | None,
    token: str | None,
    token_file: str | None,
    environment: str | None,
    flag_key: str,
    samples: int,
    context_names: tuple[str, ...],
    seed: int | None,
    as_json: bool,
) -> None:
    """Measure FLAG's rollout: the share of synthetic users of each context that gets each
    value, and each percentage rule's configured share against the observed one.

    Each context's attributes are kept and its bucketing attribute (the rules' bucket_by,
    user_id by default) varied: SAMPLES evaluate requests per context, at most 50 a second.
    With a token, the configured percentages are read too; without, only the observed shares.
    With a token the configuration is read again after the run too: when the flag changed
    during it, the output says so and the rules are not compared.
    Exit codes: 0 done, 1 stopped early (quota, no such flag, failures) or the flag's
    configuration changed during the run, 2 usage or configuration error, 3 credentials
    rejected, 130 Ctrl-C.
    """
    code = EXIT_OK
    try:
        if not flag_key:
            raise ConfigError("FLAG must not be empty")
        api_key, token = choose_secrets(api_key, api_key_file, token, token_file)
        target = command_target(Target(demo, profile_name, url, api_key, token, environment))
        with open_target(target) as profile:
            code = asyncio.run(
                run_coverage(
                    profile,
                    flag_key,
                    samples=samples,
                    contexts=context_names,
                    seed=seed,
                    as_json=as_json,
                    out=sys.stdout,
                    err=sys.stderr,
                )
            )
    except ConfigError as exc:
        report_config_error(exc)
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    sys.exit(code)
