"""How a long-running monitor process runs Python's garbage collector: the TUI (ui/app.py sets
the thresholds, ui/screens/main.py freezes what is alive once the main screen is painted), and
`benchmarks/pipeline.py`, which runs the TUI's monitor the same way.

Python's defaults (700, 10, 10) run a young collection every 700 new objects and a full one every
hundred: under a fast stream the full ones walk everything alive and were the TUI's longest
event-loop stalls. Larger thresholds collect the same garbage in fewer, short young passes
(cycles are rare here: rows are plain data). What is alive once the process is up (modules,
classes, widgets, styles) lives as long as it does: `gc.freeze()` moves it out of the
collector's reach, so its full collections walk only what came later.
"""

from __future__ import annotations

import gc

LONG_RUN_THRESHOLDS = (20_000, 20, 20)


def collect_for_a_long_run() -> tuple[int, int, int]:
    """Set `LONG_RUN_THRESHOLDS`; the thresholds before (to restore them)."""
    before = gc.get_threshold()
    gc.set_threshold(*LONG_RUN_THRESHOLDS)
    return before
