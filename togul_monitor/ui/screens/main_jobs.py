"""What the main screen runs off the event loop, as plain functions of their inputs.

`start` runs one in a thread worker of the screen; it answers with a message (messages.py),
painted on the UI thread, and touches no widget. `post` is the thread-safe `post_message` of
the screen that paints the answer (the main screen, or the detail screen for a value change).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path

from rich.text import Text
from textual.dom import DOMNode
from textual.message import Message
from textual.worker import get_current_worker

from togul_monitor.domain.event_log import Row
from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.history import HistoryEntry
from togul_monitor.ui.export import ExportedCounts, ViewExport, write_view
from togul_monitor.ui.handle import MonitorHandle
from togul_monitor.ui.messages import ExportDone, HistoryLoaded, RefilterDone, TransitionLoaded
from togul_monitor.ui.screens.event_detail import NO_CONTEXTS, ContextWords, detail_text
from togul_monitor.ui.view.feed_predicate import FeedPredicate
from togul_monitor.ui.view.feed_store import FeedStore
from togul_monitor.ui.view.refilter import MarkerRows

Post = Callable[[Message], object]

HISTORY_LIMIT = 200  # rows read from the journal per selected flag


def start(
    node: DOMNode, name: str, job: Callable[..., None], *args: object, exclusive: bool = True
) -> None:
    """Run `job(*args)` in a thread worker of `node` named `name` (see worker_errors.py), one
    at a time when `exclusive` (a newer one cancels the older)."""
    node.run_worker(
        partial(job, *args),
        thread=True,
        exclusive=exclusive,
        group=name,
        exit_on_error=False,
        name=name,
    )


def read_history(post: Post, monitor: MonitorHandle, flag_key: str, request: int) -> None:
    """The flag's history from the journal (a flush and a SQLite query), and which of its
    events were evaluated with the next change (one query more)."""
    entries: list[HistoryEntry] = []
    with_next: Mapping[FlagEvent, tuple[str, ...]] = {}
    try:
        entries = list(monitor.history(flag_key, limit=HISTORY_LIMIT))
        with_next = monitor.evaluated_with_next(flag_key, entries)
    finally:  # always answer, so the latest request is known to be answered
        post(HistoryLoaded(flag_key, entries, request, with_next))


def refilter(
    post: Post,
    predicate: FeedPredicate,
    rows: Sequence[Row],
    upto: int,
    clears: int,
    marker_rows: MarkerRows,
) -> None:
    """`predicate` over a large view's rows; dropped if a newer refilter replaced this one."""
    result = FeedStore.compute_refilter(rows, predicate, upto, marker_rows)
    result.clears = clears
    if not get_current_worker().is_cancelled:
        post(RefilterDone(result))


def look_up_transition(
    post: Post,
    monitor: MonitorHandle,
    event: FlagEvent,
    time_mode: str,
    environment_names: Mapping[str, str],
    config: Text | None = None,
    contexts: ContextWords = NO_CONTEXTS,
    replayed: Outage | None = None,
) -> None:
    """The value changes `event` caused (one per context), from the journal (may take seconds
    under backlog), as the detail screen's new body (with `config`, its configuration section,
    `contexts`, what each context without a change said then, and `replayed`, as they were)."""
    transitions = tuple(monitor.transitions_for(event))
    body = detail_text(
        event,
        transitions,
        time_mode,
        environment_names,
        config=config,
        contexts=contexts,
        replayed=replayed,
    )
    post(TransitionLoaded(event, transitions, body))


def export(post: Post, view: ViewExport, predicate: FeedPredicate, path: Path) -> None:
    try:
        counts = write_view(view, predicate, path)
    except (OSError, ValueError) as error:  # the folder, the disk; nothing half-written
        post(ExportDone(None, ExportedCounts(0), str(error)))
        return
    post(ExportDone(path, counts))
