"""One drained batch of monitor updates: into the feed store first, then what to paint.

The screen drains the monitor when woken (at most `paint_hz` times a second) and hands the list
here. `take_batch` hands every row (event or marker) to the FeedStore in log order and sorts the
rest into a `Batch`: the values to diff into the table, the rows to flash, the watched flags'
transitions (`view/rings.py` decides which ring), the status changes; configuration diffs go to
the store's `diffs` (`view/config_diffs.py`); flags the monitor forgot (deleted flags past its
bound, core/deleted_flags.py) leave the values and the maps the view keeps by flag, not the
feed's rows (they are history). The main screen then paints the batch inside one
`batch_update()`. Nothing
here touches a widget, so the sorting is the same whichever pane shows it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import msgspec

from togul_monitor.domain.events import (
    ConnectionState,
    FlagEvent,
    Malformed,
    Outage,
    OutageProven,
    PossibleGap,
    Status,
)
from togul_monitor.domain.history import FoundDiff, HistoryEntry
from togul_monitor.domain.values import FlagValue, ValueTransition
from togul_monitor.ui.view.feed_store import FeedStore
from togul_monitor.ui.view.rows import FeedItem, RunStart, Unwatched

if TYPE_CHECKING:  # the monitor's modules load after the first frame (ui/app.py)
    from togul_monitor.core import EvaluatorStatus
    from togul_monitor.core.updates import ConfigsStopped


class Batch(msgspec.Struct):
    """What one drain changed, for the widgets; the store already holds the rows."""

    values: list[FlagValue] = msgspec.field(default_factory=list)
    flash: set[str] = msgspec.field(default_factory=set)  # flags whose value just changed
    repaint_rows: bool = False  # a transition arrived: feed rows show before → after
    rings: list[ValueTransition] = msgspec.field(default_factory=list)  # of watched flags, in order
    signals: list[Status | EvaluatorStatus] = msgspec.field(default_factory=list)  # in order
    # New history rows of the selected flag, added to its pane in memory: the journal is read
    # once per selection, not once per event (a flush and a SQLite query each time).
    history: list[HistoryEntry] = msgspec.field(default_factory=list)
    unknown_environment: bool = False  # an event of an environment id the view cannot name
    diff_selected: bool = False  # a configuration diff of the selected flag: its history says it
    configs_stopped: ConfigsStopped | None = None  # the token was refused: diffs stop (say it)
    # Flags the monitor forgot, (context, keys) in order: the values pane drops them.
    forgotten: list[tuple[str, tuple[str, ...]]] = msgspec.field(default_factory=list)


def take_batch(
    updates: Iterable[object],
    store: FeedStore,
    *,
    environment_names: dict[str, str],
    selected: str | None,
    watched: set[str],
    row_budget: int | None = None,
) -> Batch:
    """Append `updates` to `store` in order; return what the widgets must show for them.

    With `row_budget`, at most that many rows (the newest) go into the view: the events before
    them are counted, received and trimmed (`FeedStore.skip`), without the work a shown row
    costs, so a paint costs about the same at any rate. The log still holds them (a refilter or
    an export finds them), and every other update of the batch (values, transitions, markers,
    statuses) is taken as usual, in order: an outage is never lost in a burst."""
    # Imported here, at the first batch: the first frame paints before the monitor's modules
    # load (ui/app.py). Once loaded, an import is a lookup.
    from togul_monitor.core.updates import (
        ConfigChanged,
        ConfigsStopped,
        Dropped,
        EvaluatorStatus,
        FlagsForgotten,
        RecorderStopped,
        TransitionRecorded,
        ValueUpdated,
    )

    updates = updates if isinstance(updates, list) else list(updates)
    batch = Batch()
    answers = store.answers
    # (flag, context, last event) the update before answered
    answered: tuple[str, str, FlagEvent] | None = None
    diffs = store.diffs
    last_event, events = diffs.event, 0
    values: dict[tuple[str, str], FlagValue] = {}  # the last of each flag's and context's
    # Paused, rows wait in `pending` and cost no paint: the budget is for the view only.
    skip_until = 0 if store.paused else _skip_before(updates, row_budget, store)
    skipped = 0
    hides = store.predicate
    filtering = hides.text_filter is not None or bool(hides.hidden_types)
    for index, update in enumerate(updates):
        just_answered, answered = answered, None
        if type(update) is FlagEvent:
            if update.environment_id not in environment_names:
                batch.unknown_environment = True  # the monitor's snapshot may name it
            if update.flag_key == selected:
                batch.history.append(update)
            if index < skip_until:
                # Counted, not shown: what a burst costs per event is these few lookups (the
                # inventory's last change stays right for every flag). It still waits for its
                # answer: the value that comes belongs to it, not to an older row of the flag.
                answers.event(update)
                last_event(update)
                events += 1
                if filtering and not hides.matches(update):
                    if skipped:  # the log's order, as for a shown row
                        store.skip(skipped, skipped, burst=True)
                        skipped = 0
                    store.add_row(update)  # hidden by the filter: counted as filtered
                else:
                    skipped += 1
                continue
            if skipped:
                store.skip(skipped, skipped, burst=True)
                skipped = 0
            store.add_row(update)
            answers.event(update)
            last_event(update)  # the inventory's last change (at most `max_flags` flags)
            events += 1
        elif isinstance(update, ValueUpdated):
            value = update.value
            values.pop((value.flag_key, value.context), None)  # to the end: arrival order
            values[value.flag_key, value.context] = value
            last = answers.value(value)
            if last is not None:
                batch.repaint_rows = True  # rows that were evaluating say what it answered
                answered = (value.flag_key, value.context, last)
        elif isinstance(update, TransitionRecorded):
            key, context = update.transition.flag_key, update.transition.context
            # The change belongs to the event the value just published (in the same call,
            # core/evaluation.py) answered, in the same context: without ids that is all there
            # is; with ids it says which event of the id the change is of, as a restarted
            # server numbers its events from 1 again (view/event_changes.py checks the id).
            # Where events have ids, a change naming none was asked for no event (`r`, an
            # outage): no event explains it, as the journal says (domain/change_owners.py),
            # and it is a row of its own (view/found.py), which `e` writes as `found`, as
            # `export` does.
            owner = None
            if just_answered is not None and just_answered[:2] == (key, context):
                event = just_answered[2]
                if (event.event_id is None) == (update.transition.event_id is None):
                    owner = event
            store.add_transition(update.transition, owner)
            batch.flash.add(key)
            batch.repaint_rows = True
            if key == selected:
                batch.history.append(update.transition)
            if update.watched or key in watched:
                batch.rings.append(update.transition)
        elif isinstance(update, (Status, EvaluatorStatus)):
            batch.signals.append(update)
            if isinstance(update, EvaluatorStatus):
                answers.halted = update.credentials_rejected and not update.ok
                batch.repaint_rows = True
        elif isinstance(update, (Outage, Malformed, PossibleGap)):
            if skipped:  # the log's order: the events before the marker first
                store.skip(skipped, skipped, burst=True)
                skipped = 0
            store.add_row(update)
            if isinstance(update, Outage):
                told_again(store, update)
                if selected is not None:
                    batch.history.append(update)
        elif isinstance(update, OutageProven):
            revise_outage(store, update)
            batch.repaint_rows = True
            if selected is not None:  # it takes the place of the outage as reported
                batch.history.append(update.outage)
        elif isinstance(update, ConfigChanged):
            diffs.add(update)  # the row of its event says it (view/config_diffs.py)
            batch.repaint_rows = True
            diff = update.diff
            batch.diff_selected |= diff.flag_key == selected
            if diff.flag_key == selected and diff.found_by_refetch:
                batch.history.append(FoundDiff(diff, update.at))  # a row of its own
        elif isinstance(update, Dropped):
            if skipped:
                store.skip(skipped, skipped, burst=True)
                skipped = 0
            store.skip(update.rows, update.events)
        elif isinstance(update, RecorderStopped):
            late_window(store, update.watched_until)
        elif isinstance(update, ConfigsStopped):
            batch.configs_stopped = update
        elif isinstance(update, FlagsForgotten):
            forgotten = (update.context, update.keys)
            drop_forgotten(values, (forgotten,))  # drained before it: no row comes back
            store.answers.forget(update.keys, update.context)
            diffs.forget(update.keys)
            batch.forgotten.append(forgotten)
        # Heartbeat: nothing to paint, the status bar reads its age from the snapshot.
    if skipped:
        store.skip(skipped, skipped, burst=True)
    if answers.settle():
        batch.repaint_rows = True
    if events:
        diffs.version += 1
    # One cell update per flag and context, whatever the rate: a burst publishes many values of
    # a flag, and only its last is what the table shows.
    batch.values.extend(values.values())
    return batch


def drop_forgotten(
    held: dict[tuple[str, str], FlagValue], forgotten: Iterable[tuple[str, Sequence[str]]]
) -> None:
    """The values `held` (by flag and context) for the table, less those of flags forgotten
    since (`Batch.forgotten`): the values before a flag's forgetting would bring its row back."""
    for context, keys in forgotten:
        for key in keys:
            held.pop((key, context), None)


def revise_outage(store: FeedStore, proven: OutageProven) -> None:
    """The rows of the outage as reported, in the view and among those held while paused, take
    those of the outage proved whole, in place (as many: view/rows.py `outage_text`)."""
    reported = proven.reported
    revised = store.marker_rows(proven.outage)
    for rows in (store.view, store.pending):
        at = [
            i for i, row in enumerate(rows) if isinstance(row, FeedItem) and row.source == reported
        ]
        for index, item in zip(at, revised, strict=False):
            rows[index] = item


def late_window(store: FeedStore, watched_until: float) -> None:
    """The journal's recorder, taken as live when this run began, had stopped watching at
    `watched_until`: the window nobody watched from there to this run's start joins the
    boundary's rows (`export_rows` writes it), in the view where `attach` would have put it,
    under the row where this run begins. Once: the snapshot the screen attached with may have
    had the mark already."""
    boundary = store.boundary
    start = boundary[0].source if boundary else None
    if not isinstance(start, RunStart) or any(type(i.source) is Unwatched for i in boundary):
        return  # cleared since, another process records, or the window is there already
    window = start.window(watched_until)
    if window:
        store.boundary = [*boundary, *window]
        store.insert_after(boundary[-1], window)


def told_again(store: FeedStore, outage: Outage) -> None:
    """An outage that began before this run and ends where it begins or later says the time the
    boundary's window nobody watched (`Unwatched`) says: a reader that showed that window late
    took the journal over before its stream was live, and its first live connection's outage
    runs from the gone recorder's mark (core/intake.py `unwatched_from`), as the journal holds
    it. So the window leaves the boundary and the view, and with them what `e` exports: the
    time is shown once, as the outage the journal holds. A later outage begins after this run
    did and leaves the window as it is."""
    for item in store.boundary:
        if type(item.source) is Unwatched:
            began = item.source.outage.ended_at  # where this run begins
            if outage.started_at < began <= outage.ended_at:
                store.boundary = [i for i in store.boundary if i is not item]
                store.remove(item)
                return


#: The updates that are rows of the feed but not events (the markers the event log keeps).
_MARKERS = (Outage, Malformed, PossibleGap)


def _skip_before(updates: list[object], row_budget: int | None, store: FeedStore) -> int:
    """Where the newest `row_budget` rows of `updates` the view would show begin (0: all of them
    fit). Walks back from the end, so it costs the budget, not the batch; with a filter in
    force, the rows it hides do not count, so a filtered view still shows the newest rows that
    match rather than none."""
    if row_budget is None or len(updates) <= row_budget:
        return 0
    predicate = store.predicate
    matches = None if predicate.text_filter is None and not predicate.hidden_types else predicate
    kept = 0
    for index in range(len(updates) - 1, -1, -1):
        update = updates[index]
        if type(update) is FlagEvent:
            if matches is not None and not matches.matches(update):
                continue
        elif type(update) not in _MARKERS:
            continue
        kept += 1
        if kept == row_budget:
            return index
    return 0


def credentials_signal(signal: Status | EvaluatorStatus) -> tuple[bool, str, bool]:
    """(rejected, detail, cleared) for a connection or evaluate status: a 401/403 shows the
    credentials notice; the stream going live, or an evaluate answering, hides it."""
    if isinstance(signal, Status):
        stopped = signal.state is ConnectionState.STOPPED
        detail = signal.error or "the server answered 401/403"
        return stopped and signal.credentials_rejected, detail, signal.state is ConnectionState.LIVE
    detail = signal.message or "evaluate answered 401/403: values cannot be shown"
    return signal.credentials_rejected, detail, signal.ok
