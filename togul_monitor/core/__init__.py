"""The monitor core: stream items in, state and updates out, for the TUI and the CLI alike.

The names below are loaded when first asked for (a module `__getattr__`): importing one stage
(`togul_monitor.core.updates`, say) or this package does not import every other one, the HTTP
clients and the journal with them. `tail --help` and the update types the CLI and the views
name start fast; `from togul_monitor.core import Monitor` works as it always did.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from togul_monitor.core.monitor import Monitor
    from togul_monitor.core.runner import STOP_TIMEOUT, MonitorThread, run_headless
    from togul_monitor.core.snapshot import MonitorSnapshot
    from togul_monitor.core.updates import (
        ConfigChanged,
        Dropped,
        EvaluatorStatus,
        MonitorUpdate,
        TransitionRecorded,
        ValueUpdated,
    )

# name -> the module that defines it
_WHERE: dict[str, str] = {
    "Monitor": "togul_monitor.core.monitor",
    "STOP_TIMEOUT": "togul_monitor.core.runner",
    "MonitorThread": "togul_monitor.core.runner",
    "run_headless": "togul_monitor.core.runner",
    "MonitorSnapshot": "togul_monitor.core.snapshot",
    "ConfigChanged": "togul_monitor.core.updates",
    "Dropped": "togul_monitor.core.updates",
    "EvaluatorStatus": "togul_monitor.core.updates",
    "MonitorUpdate": "togul_monitor.core.updates",
    "TransitionRecorded": "togul_monitor.core.updates",
    "ValueUpdated": "togul_monitor.core.updates",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        # Not one of ours: `from togul_monitor.core import configs` then imports the submodule.
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later lookups find it without this function
    return value


__all__ = [
    "STOP_TIMEOUT",
    "ConfigChanged",
    "Dropped",
    "EvaluatorStatus",
    "Monitor",
    "MonitorSnapshot",
    "MonitorThread",
    "MonitorUpdate",
    "TransitionRecorded",
    "ValueUpdated",
    "run_headless",
]
