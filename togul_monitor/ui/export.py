"""`e`: write the events the filter in force shows as JSONL (run on a thread worker)."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Sequence
from pathlib import Path

from togul_monitor.domain.event_log import Row
from togul_monitor.domain.events import FlagEvent
from togul_monitor.store import export as store_export
from togul_monitor.support.files import atomic_write
from togul_monitor.ui.view.feed_store import FeedPredicate


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


def write_jsonl(items: Sequence[Row], predicate: FeedPredicate, path: Path) -> int:
    """Write every event of `items` that `predicate` keeps (markers are not events).

    The same JSONL as `togul-monitor export` (one writer, `store.export`: ASCII escapes, so a
    lone surrogate in a flag key is written, not raised), replaced atomically: a failure
    leaves no half-written file.
    """
    events = [item for item in items if type(item) is FlagEvent and predicate.matches(item)]
    out = io.StringIO()
    # The screen's environment names (the predicate shares them): each event's key, by id.
    names = dict(predicate.environment_names or {})
    count = store_export.write_jsonl(events, out, names)
    atomic_write(path, out.getvalue().encode("utf-8"), mode=0o644)
    return count
