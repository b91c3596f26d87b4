"""Journal exports: JSONL (one `FlagEvent.to_json()` object per line, as `tail --json` writes)
and CSV (the same fields as columns), and reading JSONL back (re-import).

JSON is written with `ensure_ascii=True`: every control or non-ASCII character of a flag key is
an escape, so an export printed to a terminal can never move the cursor, and it round-trips.
CSV written to stdout (a terminal or a pipe) has its text made safe to print; written to a
file with `-o` it is exact.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import IO

from togul_monitor.domain.events import FlagEvent
from togul_monitor.support.text import safe_text

CSV_COLUMNS = ("id", "type", "flag_key", "environment_id", "version", "timestamp", "received_at")


def write_jsonl(events: Iterable[FlagEvent], out: IO[str]) -> int:
    n = 0
    for event in events:
        out.write(json.dumps(event.to_json(), ensure_ascii=True, separators=(",", ":")))
        out.write("\n")
        n += 1
    return n


def write_csv(events: Iterable[FlagEvent], out: IO[str], *, for_terminal: bool = False) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    n = 0
    for event in events:
        row = event.to_json()
        cells = [row[c] for c in CSV_COLUMNS]
        if for_terminal:
            cells = [safe_text(c) if isinstance(c, str) else c for c in cells]
        writer.writerow(["" if c is None else c for c in cells])
        n += 1
    return n


class ImportError_(ValueError):
    """A JSONL line that is not an exported event (with its 1-based line number)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line


def _num(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def read_jsonl(lines: Iterable[str]) -> Iterator[FlagEvent]:
    """Events from an export, in order; blank lines skipped; a bad line raises ImportError_."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise ImportError_(number, f"not JSON ({exc})") from None
        if not isinstance(data, dict):
            raise ImportError_(number, "not a JSON object")
        for name in ("type", "flag_key", "environment_id"):
            if not isinstance(data.get(name), str):
                raise ImportError_(number, f"{name} must be a string")
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise ImportError_(number, "version must be an integer")
        if not _num(data.get("timestamp")) or not _num(data.get("received_at")):
            raise ImportError_(number, "timestamp and received_at must be numbers")
        event_id = data.get("id")
        if event_id is not None and not isinstance(event_id, str):
            raise ImportError_(number, "id must be a string or null")
        yield FlagEvent(
            type=data["type"],
            flag_key=data["flag_key"],
            environment_id=data["environment_id"],
            version=version,
            timestamp=data["timestamp"],
            event_id=event_id,
            received_at=data["received_at"],
        )
