"""A SQLite-only run never imports psycopg (store/postgres/ imports it when it is used)."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import togul_monitor.cli.tail, togul_monitor.store.journal, togul_monitor.core
from togul_monitor.store.journal import open_reader_at
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("psycopg", "psycopg_pool"))
print(",".join(loaded))
"""


def test_importing_the_monitor_and_the_journal_imports_no_psycopg() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == ""
