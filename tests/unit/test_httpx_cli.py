"""httpx's command-line tool (and the rich and pygments it imports) stays out of every start,
and `httpx.main` still runs the real tool (client/httpx_cli.py)."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )


def test_the_client_imports_httpx_without_its_command_line_tool() -> None:
    done = _run(
        "import sys, togul_monitor.client.stream, httpx\n"
        "print(sorted(m for m in ('rich', 'pygments') if m in sys.modules))\n"
        "print(type(sys.modules['httpx._main']).__name__, httpx.main.__name__)"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["[]", "module _main"]


def test_httpx_main_still_runs_the_real_tool() -> None:
    done = _run("import togul_monitor.client.stream, httpx; httpx.main(['--help'])")
    assert done.returncode == 0, done.stderr
    assert "Usage: httpx <URL> [OPTIONS]" in done.stdout
    assert "A next generation HTTP client." in done.stdout


def test_httpx_imported_first_keeps_its_own_tool() -> None:
    done = _run(
        "import sys, httpx, togul_monitor.client.stream\n"
        "print(httpx.main.__module__, sys.modules['httpx._main'].__file__.endswith('_main.py'))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["httpx", "True"]
