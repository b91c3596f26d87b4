from click.testing import CliRunner

from togul_monitor.cli import cli


def test_help_lists_every_subcommand() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in ("serve", "tail", "profiles", "history", "export"):
        assert name in result.output
