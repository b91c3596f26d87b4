"""`export | head`: the reader going away ends the export quietly (found by a hostile test)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.journal_helpers import import_events
from togul_monitor.domain.events import FlagEvent
from togul_monitor.store.journal import Journal, journal_path


def test_export_into_a_closed_pipe_exits_0_without_an_error(isolated_home: Path) -> None:
    journal = Journal.open(journal_path("rec"))
    try:
        # Far more than a pipe buffer holds, so the writer meets the closed pipe.
        import_events(
            journal,
            (
                FlagEvent(
                    "flag.updated", f"flag-{i:05d}-" + "x" * 80, "env-1", 1, 1e9 + i, str(i), 1e9
                )
                for i in range(3000)
            ),
        )
    finally:
        journal.close()
    env = {**os.environ, "TOGUL_MONITOR_HOME": str(isolated_home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "togul_monitor", "export", "--profile", "rec", "--format", "csv"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b"id,type,flag_key")
    proc.stdout.close()  # `head -1` has what it wanted
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=30) == 0, err
    assert "Error" not in err and "Traceback" not in err
