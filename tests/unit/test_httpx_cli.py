"""httpx's command-line tool (and the rich and pygments it imports) stays out of every start,
and `httpx.main` still runs the real tool (client/httpx_cli.py)."""

from __future__ import annotations

import os
import subprocess
import sys

# httpx's help is written by rich: plain text, whatever colour the test run forces.
_PLAIN = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
_PLAIN["NO_COLOR"] = "1"


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env=_PLAIN,
    )


def test_the_client_imports_httpx_without_its_command_line_tool() -> None:
    done = _run(
        "import sys, togul_monitor.client.stream, httpx\n"
        "print(sorted(m for m in ('rich', 'pygments') if m in sys.modules))\n"
        "print(type(sys.modules['httpx._main']).__name__, httpx.main.__name__)\n"
        "import importlib.util; print(importlib.util.find_spec('httpx._main').name)"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == ["[]", "module _main", "httpx._main"]


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


def test_the_tuis_modules_import_no_http_client() -> None:
    """The TUI paints its first frame before the monitor's thread connects: httpx (some 35 ms
    on a slow machine) is imported there, never by the screens' modules."""
    done = _run("import sys, togul_monitor.ui.app\nprint('httpx' in sys.modules)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
