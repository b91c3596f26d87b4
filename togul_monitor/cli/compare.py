"""`togul-monitor compare ENV_A ENV_B`: does one environment's configuration match another's?

Reads both environments' flags with their rules (the management API, with the profile's Bearer
token; core/env_configs.py) and compares them (domain/env_compare.py: ids, versions and times
ignored; rules aligned by order and condition). stdout: each flag that differs with its
differences (values read ENV_A → ENV_B), the flags only one environment has, and a last line
that sums it up; `--json`: one object instead. Exit codes, for a deploy pipeline: 0 they match,
1 they differ (or the comparison could not be made: stderr says why and stdout has no summary),
2 usage or configuration error (no token, an environment the token cannot see), 3 the token was
rejected, 130 Ctrl-C.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import TextIO

import click

from togul_monitor.cli.common import (
    EXIT_CREDENTIALS,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    Target,
    command_target,
    open_target,
    report_config_error,
    target_options,
)
from togul_monitor.cli.secrets import choose_secrets
from togul_monitor.client.environments import NoSuchEnvironments
from togul_monitor.client.management import ManagementError
from togul_monitor.config.entry import Profile
from togul_monitor.config.errors import ConfigError
from togul_monitor.core.env_configs import open_reader, read_project
from togul_monitor.core.tokens import ProfileTokens
from togul_monitor.domain.env_compare import EnvComparison, compare_environments
from togul_monitor.domain.env_compare_words import (
    comparison_summary,
    comparison_to_json,
    difference_line,
)
from togul_monitor.support.text import safe_text

NEEDS_TOKEN = (
    "needs a token profile: the management API lists every environment's flags and rules only "
    "with a Bearer token (token_env, --token-file or TOGUL_TOKEN)"
)


def print_comparison(comparison: EnvComparison, out: TextIO) -> None:
    a, b = comparison.env_a, comparison.env_b
    for flag in comparison.differing:
        out.write(f"{safe_text(flag.flag_key)}: differs\n")
        for difference in flag.differences:
            out.write(f"  {difference_line(difference, a, b)}\n")
    for env, keys in ((a, comparison.only_a), (b, comparison.only_b)):
        for key in keys:
            out.write(f"{safe_text(key)}: only in {safe_text(env)}\n")
    out.write(comparison_summary(comparison) + "\n")


async def run_compare(
    profile: Profile, env_a: str, env_b: str, *, as_json: bool, out: TextIO, err: TextIO
) -> int:
    """Compare and print; the exit code."""
    if not profile.token:
        err.write(f"compare: {NEEDS_TOKEN} (profile {safe_text(profile.name)})\n")
        return EXIT_USAGE

    def note(text: str) -> None:
        err.write(f"compare: {safe_text(text)}\n")

    tokens = ProfileTokens(profile, note=note)
    keeper = tokens.keeper
    assert keeper is not None  # a token: ProfileTokens keeps it
    reader = open_reader(profile, token=lambda: keeper.token, renew=keeper.renew)
    try:
        project = await read_project(
            reader, (env_a, env_b), only=(env_a, env_b), max_flags=profile.max_flags
        )
    except NoSuchEnvironments as exc:
        err.write(f"compare: {safe_text(exc)}\n")
        return EXIT_USAGE
    except ManagementError as exc:
        err.write(f"compare: {safe_text(exc)}\n")  # it may quote a server-given id
        return EXIT_CREDENTIALS if exc.status in (401, 403) else EXIT_FAILED
    finally:
        await reader.aclose()
        await tokens.aclose()
    comparison = compare_environments(project.configs, env_a, env_b)
    if as_json:
        out.write(json.dumps(comparison_to_json(comparison), ensure_ascii=True) + "\n")
    else:
        print_comparison(comparison, out)
    return EXIT_OK if comparison.matches else EXIT_FAILED


@click.command()
@target_options(
    "demo",
    "profile_name",
    "url",
    "token",
    "token_file",
    help_text={
        "demo": "Compare environments of the built-in demo.",
        "profile_name": "Compare with a saved profile's token.",
    },
)
@click.argument("env_a")
@click.argument("env_b")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def compare(
    demo: bool,
    profile_name: str | None,
    url: str | None,
    token: str | None,
    token_file: str | None,
    env_a: str,
    env_b: str,
    as_json: bool,
) -> None:
    """Compare the flags of environments ENV_A and ENV_B (keys, e.g. production staging).

    Prints each flag that differs with its differences (ENV_A → ENV_B), the flags only one
    has, and a summary. Needs a Bearer token (--token-file, TOGUL_TOKEN or a token profile).
    Exit codes: 0 they match, 1 they differ (or the comparison failed), 2 usage or
    configuration error, 3 token rejected, 130 Ctrl-C.
    """
    code = EXIT_OK
    try:
        _, token = choose_secrets(None, None, token, token_file)
        target = command_target(Target(demo, profile_name, url, None, token))
        with open_target(target) as profile:
            code = asyncio.run(
                run_compare(profile, env_a, env_b, as_json=as_json, out=sys.stdout, err=sys.stderr)
            )
    except ConfigError as exc:
        report_config_error(exc)
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    sys.exit(code)
