"""httpx without its command-line tool at import time.

`import httpx` imports `httpx._main`, the code of httpx's own `httpx` command, and with it
rich's console, progress bars and syntax highlighting (pygments): about 35 ms of CPU at every
start of togul-monitor, the TUI's and each headless command's, for a tool it never runs.
`defer_httpx_cli()`, called before httpx is first imported (client/__init__.py: every import
of httpx in this package is under client/), registers a stand-in for `httpx._main` whose
`main` imports the real module when called, so `httpx.main` still works for whoever calls it.
httpx is pinned below its next minor version (pyproject.toml); tests/unit/test_httpx_cli.py
checks both halves.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import threading
import types
from typing import Any

_CLI = "httpx._main"
_SWAP = threading.Lock()  # two first calls at once: one swaps the module, the other waits


def _main(*args: Any, **kwargs: Any) -> Any:
    """`httpx.main` as the stand-in has it: the real one, imported now."""
    with _SWAP:
        if getattr(sys.modules.get(_CLI), "main", None) is _main:
            del sys.modules[_CLI]  # the stand-in makes way for the real module
        real = importlib.import_module(_CLI)
    return real.main(*args, **kwargs)


def defer_httpx_cli() -> None:
    if "httpx" in sys.modules or _CLI in sys.modules:
        return  # httpx is imported already: nothing left to save
    stand_in = types.ModuleType(_CLI, "Stands in for httpx's command-line tool until it runs.")
    stand_in.__spec__ = importlib.machinery.ModuleSpec(_CLI, None)  # what importlib expects
    stand_in.main = _main  # type: ignore[attr-defined]
    sys.modules[_CLI] = stand_in
