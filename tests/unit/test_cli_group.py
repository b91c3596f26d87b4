import subprocess
import sys

import pytest
from click.testing import CliRunner

from togul_monitor.cli import cli
from togul_monitor.cli.common import EXIT_USAGE, Target
from togul_monitor.config import paths


def test_help_lists_every_subcommand() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in ("serve", "tail", "profiles", "history", "export"):
        assert name in result.output


def test_a_commands_own_target_wins_over_the_groups() -> None:
    group = Target(profile_name="b")
    assert Target(environment="qa").over(group) == Target(profile_name="b", environment="qa")
    assert Target(demo=True).over(group) == Target(demo=True)
    assert Target(url="https://a.example").over(Target(demo=True)).demo is False
    assert Target().over(Target(demo=True, profile_name="b")) == Target(demo=True, profile_name="b")


def two_profiles_no_default() -> None:
    path = paths.profiles_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    table = (
        '[profiles.{}]\nbase_url = "https://a.example"\nenvironment_key = "p"\ntoken_env = "T"\n'
    )
    path.write_text(table.format("a") + "\n" + table.format("c"))


@pytest.mark.parametrize(
    ("args", "command", "fragment"),
    [
        (["tail", "--profile", "nope"], "tail", "no profile named 'nope'"),
        (["--profile", "nope", "tail"], "tail", "no profile named 'nope'"),
        (["--profile", "nope"], "togul-monitor", "no profile named 'nope'"),
        (["profiles", "edit", "nope", "--environment", "q"], "profiles edit", "no profile named"),
        (["profiles", "default", "nope"], "profiles default", "no profile named 'nope'"),
        (["history", "flag"], "history", "several profiles and no default_profile"),
        (["export", "--format", "csv"], "export", "several profiles and no default_profile"),
        (["--demo", "--profile", "a", "tail"], "tail", "only one of --demo, --profile"),
    ],
)
def test_every_command_reports_a_configuration_error_the_same_way(
    args: list[str], command: str, fragment: str
) -> None:
    two_profiles_no_default()
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == EXIT_USAGE == 2, result.output
    assert result.stderr.startswith(f"{command}: ") and fragment in result.stderr
    assert result.stdout == ""


def test_the_program_leaves_its_objects_to_reference_counting_at_exit() -> None:
    # The interpreter's teardown collects every tracked object several times over; the program
    # freezes them once its command is done (cli/__init__.py `main`). Run as a real process:
    # freezing the test process would keep every later test's garbage.
    code = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count()))\n"
        "sys.argv = ['togul-monitor', '--help']\n"
        "from togul_monitor.cli import main\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    frozen = int(done.stdout.rsplit("frozen", 1)[1])
    assert frozen > 10_000


def test_tails_help_lists_every_exit_code_the_readme_promises() -> None:
    """143 (SIGTERM or SIGHUP) was missing from `tail --help`, though tail returns it."""
    text = " ".join(CliRunner().invoke(cli, ["tail", "--help"]).output.split())
    assert "130 Ctrl-C, 143 SIGTERM or SIGHUP" in text, text
