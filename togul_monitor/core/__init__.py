"""The monitor core: stream items in, state and updates out, for the TUI and the CLI alike."""

from togul_monitor.core.monitor import (
    EvaluatorStatus,
    Monitor,
    MonitorSnapshot,
    MonitorUpdate,
    TransitionRecorded,
    ValueUpdated,
)
from togul_monitor.core.runner import STOP_TIMEOUT, MonitorThread, run_headless

__all__ = [
    "STOP_TIMEOUT",
    "EvaluatorStatus",
    "Monitor",
    "MonitorSnapshot",
    "MonitorThread",
    "MonitorUpdate",
    "TransitionRecorded",
    "ValueUpdated",
    "run_headless",
]
