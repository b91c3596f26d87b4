"""What an empty pane says, so that it never looks like a broken one: the feed's (connecting,
retrying, filtered out, cleared, and where what was cleared is still kept) and the values
pane's (no value yet, or values that never come: why, and the fix)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from togul_monitor.config.profiles import Profile
from togul_monitor.domain.events import ConnectionState
from togul_monitor.ui.view.feed_store import FeedStore
from togul_monitor.ui.view.format import fmt_clock
from togul_monitor.ui.view.status import StatusInfo

if TYPE_CHECKING:  # the monitor's modules load after the first frame (ui/app.py)
    from togul_monitor.core import MonitorSnapshot


def feed_empty_message(
    switching: bool,
    status: StatusInfo,
    store: FeedStore,
    environment: str,
    snapshot: MonitorSnapshot | None = None,
    time_mode: str = "local",
    now: float = 0.0,
) -> str:
    """What the empty feed says, so an empty pane never looks like a broken one. While the
    stream is down, why, whole: the status bar has room for the reason only, and the words
    after it (how to trust a private CA, say) are what fixes it."""
    state = status.state
    if switching:  # only once a profile ran: the first start is "Connecting…"
        return "Switching profile…"
    if state is ConnectionState.LIVE:
        # Events a pause holds back are received, not filtered out: not the filter's doing.
        held = store.pending_events if store.paused else 0
        if store.received > held and not store.view:
            return "No event matches the filter in force (see the status bar counts)."
        if store.cleared_at is not None:
            return _cleared_message(store, snapshot, environment, time_mode, now)
        return f"Live. No changes in {environment} yet: they appear here as they happen."
    if state is ConnectionState.RETRYING:
        if status.error:
            said = status.error.text.rstrip(".")
            return f"Disconnected: {said}. Retrying (the status bar says when)."
        return "Disconnected: retrying (see the status bar)."
    if state is ConnectionState.CONNECTING and status.last_error and not status.error:
        # The next attempt: the last one's reason stays, not a bare "Connecting…" every cycle.
        return f"Disconnected: {status.last_error.text.rstrip('.')}. Connecting again…"
    if state is ConnectionState.CONNECTING and status.no_answer is not None:
        return f"Connecting… no answer for {status.no_answer:.0f} s yet."
    if state is ConnectionState.STOPPED:
        return "The stream stopped."
    return "Connecting…"


def _cleared_message(
    store: FeedStore,
    snapshot: MonitorSnapshot | None,
    environment: str,
    time_mode: str,
    now: float,
) -> str:
    """An empty view after `C`: "no changes yet" would say nothing happened before it."""
    when = fmt_clock(store.cleared_at or 0.0, time_mode, now)
    when = when if time_mode == "relative" else f"at {when}"
    events = store.cleared_events
    before = f"the {events:,} events before it" if events != 1 else "the event before it"
    kept = f" ({before}{_kept_where(events, snapshot)})" if events else ""
    return (
        f"Live. View cleared {when}{kept}. New changes in {environment} appear here as they happen."
    )


def _kept_where(events: int, snapshot: MonitorSnapshot | None) -> str:
    """Where the `events` cleared are still kept, as far as this monitor knows: the journal
    only while it records them (not when another process does, nor once its writer failed or
    dropped any), the event log only those it has not trimmed (the oldest go first, and while
    the view is empty every event of the log came before the clear)."""
    if snapshot is None:
        return ""
    journal = snapshot.recording and not snapshot.journal_dropped
    in_log = min(events, snapshot.events_in_log)
    verb = "is" if events == 1 else "are"
    if in_log == events:
        return f" {verb} kept in the event log" + (" and the journal" if journal else "")
    if not in_log:
        return f" {verb} kept in the journal" if journal else ""
    newest = "the newest" if in_log == 1 else f"the newest {in_log:,}"
    if journal:
        return f" are kept in the journal, {newest} in the event log too"
    return f": {newest} {'is' if in_log == 1 else 'are'} kept in the event log"


def values_empty_text(environment: str) -> Text:
    return Text(
        f"No flag values yet for {environment}: flags appear here when they change "
        "or when watched.",
        style="italic",
    )


def not_evaluated_note(profile: Profile, snapshot: MonitorSnapshot | None) -> str:
    """Why the profile's values are not evaluated, and the fix: the monitor's own note
    (core/plan.py), or the same words before the monitor has said it."""
    from togul_monitor.core.plan import NO_ENVIRONMENT_KEY, not_evaluated

    for notice in snapshot.notices if snapshot is not None else ():
        if "not evaluat" in notice:
            return notice
    return not_evaluated(profile) or NO_ENVIRONMENT_KEY


def not_evaluated_text(note: str, edit_key: str, switch_key: str) -> Text:
    """The values pane's top line for a profile whose values never come."""
    text = Text()  # not the whole text's style: the hint below is dim, not bold yellow
    text.append(note[:1].upper() + note[1:] + ".", style="bold yellow")
    text.append(f"\n{edit_key}: edit this profile · {switch_key}: switch profile", style="dim")
    return text


def values_hint(
    evaluates: bool,
    empty: bool,
    profile: Profile,
    snapshot: MonitorSnapshot | None,
    environment: str,
    edit_key: str,
    switch_key: str,
) -> Text | None:
    """The values pane's top line: why values never come (with the fix), or, while the table
    is `empty`, what will fill it; None: no line."""
    if not evaluates:
        return not_evaluated_text(not_evaluated_note(profile, snapshot), edit_key, switch_key)
    return values_empty_text(environment) if empty else None
