"""`e`: write what the filter in force shows as JSONL: its events, with the outages, value
changes and configuration diffs of their window (each diff after its own event,
view/config_diffs.py), and the value changes no event explains that the feed shows as rows of
their own (`found`, view/found.py); an event its row says was evaluated with its flag's next
change (view/answers.py: live, or by the journal's answers for the rows of earlier runs, as
`history` says it) has its contexts, `"evaluated_with_next"`, as `togul-monitor export` writes
them. What the view holds is copied on the UI thread (`view_export`), and written on a thread
worker (`write_jsonl`)."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec

from togul_monitor.domain.event_log import Row
from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.values import ValueTransition
from togul_monitor.store import export as store_export
from togul_monitor.store.export_window import Tied, outage_words
from togul_monitor.store.model import StoredDiff
from togul_monitor.support.files import atomic_write
from togul_monitor.ui.view.feed_predicate import FeedPredicate
from togul_monitor.ui.view.feed_store import FeedStore
from togul_monitor.ui.view.found import FoundChange


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


class ViewExport(msgspec.Struct, frozen=True):
    """What the view holds for `e`, copied on the UI thread (`view_export`): the worker reads it
    while the UI thread goes on adding to the view. `found`: the feed's rows of value changes
    no event explains; `environment`: the profile's environment, theirs (its id, or until that
    is known its key in the profile); `with_next`: the contexts an event's row says it was
    evaluated with its flag's next change in."""

    rows: Sequence[Row]
    transitions_for: Callable[[FlagEvent], tuple[ValueTransition, ...]]
    diff_for: Callable[[FlagEvent], StoredDiff | None]
    found: Sequence[FoundChange] = ()
    environment: str = ""
    with_next: Callable[[FlagEvent], tuple[str, ...]] = lambda _: ()


def view_export(store: FeedStore) -> ViewExport:
    """A copy of what `store` holds for `e` (on the UI thread: cheap, no filtering)."""
    found = [row for _, row in store.found.rows]
    answers = store.answers
    rows = store.export_rows()
    # A lookup per event (the answers go on changing on this thread): a few thousand at most.
    marks = {id(r): said for r in rows if type(r) is FlagEvent and (said := answers.with_next(r))}
    return ViewExport(
        rows,
        store.transitions_copy(),
        store.diffs.own_diffs(),
        found,
        answers.own_environment,
        lambda event: marks.get(id(event), ()),
    )


def write_jsonl(
    items: Sequence[Row],
    predicate: FeedPredicate,
    path: Path,
    transitions_for: Callable[[FlagEvent], tuple[ValueTransition, ...]] = lambda _: (),
    *,
    diff_for: Callable[[FlagEvent], StoredDiff | None] = lambda _: None,
    found: Sequence[FoundChange] = (),
    environment: str = "",
    with_next: Callable[[FlagEvent], tuple[str, ...]] = lambda _: (),
) -> ExportedCounts:
    """Write every event of `items` that `predicate` keeps, with what the view knows about
    their window: every outage among `items` (whatever the filter: changes made in it may be
    missing), each written event's value changes (`transitions_for`, a copy of the view's:
    it keeps those of its latest events, `2 × view_size` of them), their configuration diffs
    (`diff_for`, as many), and the changes of no event the feed shows (`found`, the rows the
    predicate keeps; `environment` theirs), each context's on a line of its own; `with_next`:
    which events were evaluated with their flag's next change (their rows say so).

    The same JSONL as `togul-monitor export` (one writer, `store.export`: a `kind` on every
    line, ASCII escapes, so a lone surrogate in a flag key is written, not raised), replaced
    atomically: a failure leaves no half-written file.
    """
    events = [item for item in items if type(item) is FlagEvent]
    outages = [item for item in items if type(item) is Outage]
    kept = [event for event in events if predicate.matches(event)]
    # The view tied each change to its event as it came: written with it, not tied again.
    tied: list[Tied] = [(e, t) for e in kept for t in transitions_for(e)]
    tied += [(e, d) for e in kept if (d := diff_for(e)) is not None]
    out = io.StringIO()
    # The screen's environment names (the predicate shares them): each event's key, by id.
    # An environment not known by id yet (the profile's, an earlier run's) is named by its key.
    names = dict(predicate.environment_names or {})
    shown: list[tuple[str | None, ValueTransition]] = []
    for row in found:
        if row.passes(predicate, environment):
            own = row.environment(environment)  # an earlier run's: the key it recorded
            if own:
                names.setdefault(own, own)
            shown += [(own or None, t) for t in row.transitions]
    count = store_export.write_jsonl(
        kept,
        out,
        names,
        all_diffs=False,
        outages=outages,
        tied=tied,
        found=shown,
        with_next=with_next,
    )
    # Private, as `togul-monitor export -o` and the journal's folder are: the change history.
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write(path, out.getvalue().encode("utf-8"), mode=0o600)
    missed = sum(outage.may_have_missed for outage in outages)
    return ExportedCounts(count, len(outages), missed)


def write_view(view: ViewExport, predicate: FeedPredicate, path: Path) -> ExportedCounts:
    """`write_jsonl` of what `view_export` copied (on the worker)."""
    return write_jsonl(
        view.rows,
        predicate,
        path,
        view.transitions_for,
        diff_for=view.diff_for,
        found=view.found,
        environment=view.environment,
        with_next=view.with_next,
    )


class ExportedCounts(msgspec.Struct, frozen=True):
    """What an export wrote: its events, and the outages of its window (`missed` of them may
    have missed changes), for the notification."""

    events: int
    outages: int = 0
    missed: int = 0


def exported_text(counts: ExportedCounts) -> str:
    """`41 events, 6 outages (4 may have missed changes)`: what the notification says."""
    text = f"{counts.events} events"
    if counts.outages:
        counted, missed = outage_words(counts.outages, counts.missed)
        text += f", {counted} ({missed})"
    return text
