"""`togul-monitor profiles add/edit --context-set NAME KEY=VALUE[,...]`, `--context-remove
NAME`, and `profiles show/list` showing every context (no server involved: CliRunner)."""

from __future__ import annotations

import json

from click.testing import CliRunner, Result

from togul_monitor.cli import cli
from togul_monitor.config import paths
from togul_monitor.config.profiles import load_config


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def add_prod(*extra: str) -> Result:
    return run(
        "profiles", "add", "prod", "--url", "https://api.togul.io", "--environment",
        "production", "--api-key-env", "PROD_KEY", *extra,
    )  # fmt: skip


def test_add_edit_remove_named_contexts_and_show_them() -> None:
    result = add_prod(
        "--context", "user_id=monitor",
        "--context-set", "premium", "plan=premium,user_id=u-1",
        "--context-set", "free", "plan=free",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "contexts premium, free" in result.stdout
    entry = load_config().profiles["prod"]
    assert entry.context == {"user_id": "monitor"}
    assert entry.contexts == {
        "premium": {"plan": "premium", "user_id": "u-1"},
        "free": {"plan": "free"},
    }

    result = run(
        "profiles", "edit", "prod", "--context-set", "premium", "plan=enterprise",
        "--context-set", "eu", "country=DE,user_id=u-3", "--context-remove", "free",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert load_config().profiles["prod"].contexts == {
        "premium": {"plan": "enterprise"},  # replaced whole: user_id is gone
        "eu": {"country": "DE", "user_id": "u-3"},
    }

    result = run("profiles", "show", "prod")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    at = lines.index("  contexts (evaluated in this order):")
    assert [line.split() for line in lines[at + 1 :]] == [
        ["default", "user_id=monitor"],
        ["premium", "plan=enterprise"],
        ["eu", "country=DE,", "user_id=u-3"],
    ]
    shown = json.loads(run("profiles", "show", "prod", "--json").stdout)
    assert shown["evaluated_contexts"] == ["default", "premium", "eu"]
    assert shown["contexts"]["eu"] == {"country": "DE", "user_id": "u-3"}

    rows = [json.loads(line) for line in run("profiles", "list", "--json").stdout.splitlines()]
    assert rows[0]["contexts"] == shown["contexts"]
    table = run("profiles", "list").stdout.splitlines()
    assert table[0].split()[-1] == "CONTEXTS" and table[1].endswith("default, premium, eu")

    result = run("profiles", "edit", "prod", "--context-set", "empty", "")
    assert result.exit_code == 0 and load_config().profiles["prod"].contexts["empty"] == {}


def test_a_json_object_sets_values_holding_commas() -> None:
    assert add_prod().exit_code == 0
    result = run(
        "profiles", "edit", "prod",
        "--context-set", "beta", '{"segments": "a,b", "emails": "x@a.io, y@b.io", "k": "="}',
        "--context-set", "plain", "plan=pro",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert load_config().profiles["prod"].contexts == {
        "beta": {"segments": "a,b", "emails": "x@a.io, y@b.io", "k": "="},
        "plain": {"plan": "pro"},
    }
    assert json.loads(run("profiles", "show", "prod", "--json").stdout)["contexts"]["beta"] == {
        "segments": "a,b",
        "emails": "x@a.io, y@b.io",
        "k": "=",
    }


def test_show_prints_a_value_holding_a_comma_as_it_is_typed_back() -> None:
    """`emails=x@a.com, y@b.com` would read as two attributes: such a context is printed as the
    JSON object `--context-set` takes, and reads back as the same attributes."""
    odd = {"emails": "x@a.com, y@b.com", "pad": " x ", "q": 'say "hi"', "tab": "a\tb"}
    assert add_prod("--context", "plan=pro").exit_code == 0
    assert run("profiles", "edit", "prod", "--context-set", "odd", json.dumps(odd)).exit_code == 0
    lines = run("profiles", "show", "prod").stdout.splitlines()
    at = lines.index("  contexts (evaluated in this order):")
    assert lines[at + 1 :] == [
        "    default  plan=pro",
        """    odd      {"emails": "x@a.com, y@b.com", "pad": " x ", "q": "say \\"hi\\"", """
        """"tab": "a\\tb"}""",
    ]
    shown = lines[at + 2].split(None, 1)[1]
    assert run("profiles", "edit", "prod", "--context-set", "again", shown).exit_code == 0
    assert load_config().profiles["prod"].contexts["again"] == odd


def test_the_demo_profiles_show_their_contexts() -> None:
    result = run("profiles", "show", "demo-production")
    assert result.exit_code == 0, result.output
    assert "profile 'demo-production' (built-in)" in result.stdout
    shown = [" ".join(line.split()) for line in result.stdout.splitlines()]
    for line in ("default user_id=demo-user,", "free user_id=demo-free, plan=free,"):
        assert any(row.startswith(line) for row in shown), shown
    result = run("profiles", "show", "demo-prodution")
    assert result.exit_code == 2 and "did you mean 'demo-production'" in result.stderr


def test_malformed_options_are_usage_errors_before_the_file_is_touched() -> None:
    assert add_prod().exit_code == 0
    before = paths.profiles_file().read_text()
    for args, fragment in [
        (("--context-set", "bad name", "a=b"), "a context name is 1-32 letters"),
        (("--context-set", "premium", "plan"), "expected KEY=VALUE, got 'plan'"),
        (("--context-set", "premium", "a=1,a=2"), "attribute 'a' given twice"),
        (("--context-set", "p", "a=1", "--context-set", "p", "a=2"), "context 'p' given twice"),
        (("--context-set", "p", "a=1", "--context-remove", "p"), "both set and removed"),
        (("--context-set", "p"), "requires 2 arguments"),
        (
            ("--context-set", "p", "segments=a,b"),
            """got 'b'; a value holding a comma is given as a JSON object: '{"segments": "a,b"}'""",
        ),
        (("--context-set", "p", '{"a": 1}'), "attribute 'a' must be a JSON string, not an integer"),
        (("--context-set", "p", '{"a": "1", "a": "2"}'), "attribute 'a' given twice"),
        (("--context-set", "p", '{"a": "1"'), "not valid JSON: Expecting ',' delimiter"),
        (("--context-set", "p", '{"a": "1"} x'), "not valid JSON: Extra data at character 12"),
        (("--context-set", "p", '{" ": "1"}'), "an attribute name cannot be empty"),
        (
            ("--context-set", "p", '{" plan ": "1"}'),
            "attribute ' plan ' has spaces around its name: write 'plan'",
        ),
        # What is not text (a lone surrogate, a command-line byte that is not UTF-8) cannot be
        # written to the file: said, never a traceback.
        (("--context-set", "p", '{"a": "\\ud800"}'), "its value holds a character that is not"),
        (("--context-set", "p", "a=\udcff"), "its value holds a character that is not text"),
        (("--context", "\udcffb=1"), "its name holds a character that is not text"),
    ]:
        result = run("profiles", "edit", "prod", *args)
        assert result.exit_code == 2, (args, result.output)
        assert fragment in result.output, (args, result.output)
    assert paths.profiles_file().read_text() == before


def test_what_the_file_refuses_is_a_configuration_error_exit_2() -> None:
    assert add_prod("--context", "user_id=m").exit_code == 0
    before = paths.profiles_file().read_text()
    result = run("profiles", "edit", "prod", "--context-set", "default", "plan=p")
    assert result.exit_code == 2
    assert "key 'contexts.default'" in result.stderr and "single `context`" in result.stderr
    result = run("profiles", "edit", "prod", "--context-remove", "nope")
    assert result.exit_code == 2 and "no context named 'nope'" in result.stderr
    many = [arg for i in range(8) for arg in ("--context-set", f"c{i}", "a=b")]
    result = run("profiles", "edit", "prod", *many)
    assert result.exit_code == 2 and "9 contexts" in result.stderr and "at most 8" in result.stderr
    result = run("profiles", "edit", "demo-production", "--context-set", "x", "a=b")
    assert result.exit_code == 2 and "built-in" in result.stderr
    assert paths.profiles_file().read_text() == before


def test_help_documents_the_form() -> None:
    for command in ("add", "edit"):
        text = run("profiles", command, "--help").output
        assert "--context-set NAME KEY=VALUE[,KEY=VALUE...]|JSON" in text
        assert """'{"segments": "a,b", "plan": "pro"}'""" in " ".join(text.split())
        assert "at most 8 contexts" in " ".join(text.split())
    assert "--context-remove NAME" in run("profiles", "edit", "--help").output


def test_a_byte_that_is_not_utf8_in_any_option_is_refused_and_nothing_written() -> None:
    assert add_prod().exit_code == 0
    before = paths.profiles_file().read_text()
    for args in (("--watch", "w\udcff"), ("--environment", "ab\udcffc")):
        result = run("profiles", "edit", "prod", *args)
        assert result.exit_code == 2, (args, result.output)
        assert "holds a character that is not text" in result.output, result.output
    assert paths.profiles_file().read_text() == before
