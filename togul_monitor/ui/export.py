"""`e`: write the events the filter in force shows as JSONL (run on a thread worker)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from togul_monitor.ui.feed_store import FeedPredicate, Row, row_event


def export_path(folder: Path | None, profile_name: str, now: float) -> Path:
    """`<data dir>/exports/<profile>-<UTC stamp>.jsonl`; `folder` overrides the data dir."""
    if folder is None:
        try:
            from togul_monitor.config.paths import data_dir

            folder = data_dir() / "exports"
        except Exception:  # no usable data dir: the current directory will do
            folder = Path.cwd()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", profile_name)
    return folder / f"{name}-{stamp}.jsonl"


def write_jsonl(items: list[Row], predicate: FeedPredicate, path: Path) -> int:
    """Write every event of `items` that `predicate` keeps (markers are not events)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for item in items:
            event = row_event(item)
            if event is not None and predicate.matches(event):
                out.write(json.dumps(event.to_json(), ensure_ascii=False) + "\n")
                count += 1
    return count
