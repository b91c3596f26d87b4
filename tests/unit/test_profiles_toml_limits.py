"""profiles.toml that no parser limit turns into a traceback: nesting hundreds deep, numbers of
thousands of digits, keys of thousands of dotted parts. Each is a configuration error (exit 2)
that names the file and the line; scripts/fuzz_profiles.py runs 100,000 such inputs."""

from __future__ import annotations

import time
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from togul_monitor.cli import cli
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.paths import profiles_file
from togul_monitor.config.profiles import parse_document

PROFILE = """\
# a comment
[profiles.prod]
base_url = "https://api.togul.io"
environment_key = "production"
api_key_env = "TOGUL_KEY"
"""


def _list_with(text: str) -> tuple[int, str]:
    path = profiles_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    result = CliRunner().invoke(cli, ["profiles", "list"])
    assert path.read_text() == text  # never rewritten
    return result.exit_code, result.output


def test_deep_nesting_is_a_configuration_error_at_its_line(isolated_home: Path) -> None:
    # Before: 497 levels raised RecursionError out of tomllib: a traceback and exit 1.
    for opener, closer in (("[", "]"), ("{a = ", "}")):
        inner = "1" if opener != "[" else ""
        deep = f"context = {opener * 600}{inner}{closer * 600}\n"
        code, output = _list_with(PROFILE + deep)
        assert code == 2, output
        assert f"{profiles_file()}:6: arrays or inline tables are nested too deeply" in output
        assert "Traceback" not in output and "RecursionError" not in output


def test_a_number_of_thousands_of_digits_is_a_configuration_error_at_its_line(
    isolated_home: Path,
) -> None:
    # Before: Python's int-conversion limit escaped as a ValueError traceback.
    digits_in_a_string = 'context = { a = "' + "7" * 5000 + '" }\n'
    code, output = _list_with(PROFILE + digits_in_a_string + f"heartbeat_seconds = {'9' * 5000}\n")
    assert code == 2, output
    assert f"{profiles_file()}:7: a number too long to read" in output


def test_a_key_of_thousands_of_parts_is_refused_quickly(isolated_home: Path) -> None:
    # Before: tomllib took time quadratic in the parts (about 4 s for 10,000).
    started = time.perf_counter()
    code, output = _list_with(PROFILE + ".".join(["x"] * 10_000) + " = 1\n")
    assert code == 2, output
    assert f"{profiles_file()}:6: more than 200 dotted key parts" in output
    assert time.perf_counter() - started < 1.0


_PIECES = st.sampled_from(["[", "]", "{", "}", "a = ", "a.", '"s"', "'", "1", ",", "\n", "#", "="])


@st.composite
def hostile_documents(draw: st.DrawFn) -> str:
    depth = draw(st.integers(min_value=0, max_value=2000))
    opener = draw(st.sampled_from(["[", "{a = ", "{a.b = "]))
    closer = "]" if opener == "[" else "}"
    inner = "" if opener == "[" else "1"
    nested = opener * depth + inner + closer * draw(st.integers(min_value=0, max_value=depth))
    junk = "".join(draw(st.lists(_PIECES, max_size=40)))
    where = draw(st.sampled_from(["context = ", "x = ", "watch = "]))
    return PROFILE + where + nested + "\n" + junk


@settings(derandomize=True, max_examples=40, deadline=None)
@given(hostile_documents())
def test_no_document_escapes_as_anything_but_a_configuration_error(text: str) -> None:
    path = Path("/nowhere/profiles.toml")
    started = time.perf_counter()
    try:
        parse_document(text, path)
    except ConfigError as error:
        assert str(error).startswith(str(path))
    assert time.perf_counter() - started < 1.0
