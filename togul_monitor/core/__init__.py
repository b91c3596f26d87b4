"""The monitor core: stream items in, state and updates out, for the TUI and the CLI alike."""

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
