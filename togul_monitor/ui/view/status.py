"""The texts the app repaints a few times a second: the status bar and the empty-pane hints.

Both come from state the app already has (the view's counters, the connection status, the
monitor's snapshot); building them here keeps the app to deciding *when* to paint.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from togul_monitor.config.profiles import Profile
from togul_monitor.domain.events import ConnectionState, Status
from togul_monitor.ui.view.feed_store import FeedStore
from togul_monitor.ui.widgets.status_bar import StatusInfo


def status_info(
    *,
    profile: Profile,
    status: Status,
    switching: bool,
    store: FeedStore,
    filter_text: str,
    hidden_types: int,
    time_mode: str,
    snapshot: Any,
    now: float,
) -> StatusInfo:
    """The status bar's content; `snapshot` (MonitorThread.snapshot()) is None without a monitor."""
    info = StatusInfo(
        profile=profile.name,
        environment=profile.environment_key,
        state=status.state,
        error=status.error,
        switching=switching,
        paused=store.paused,
        pending=store.pending_events,
        filter_text=filter_text,
        hidden_types=hidden_types,
        time_mode=time_mode,
        filtered=store.filtered,
        trimmed=store.trimmed,
        shown=store.shown,
    )
    if snapshot is not None:
        info.state = snapshot.status.state
        info.error = snapshot.status.error
        if snapshot.status.next_try_at is not None:
            info.retry_in = snapshot.status.next_try_at - now
        info.rate = snapshot.events_per_second
        if snapshot.last_heartbeat_at is not None:
            info.heartbeat_age = now - snapshot.last_heartbeat_at
        info.lag = snapshot.last_lag_seconds
        info.malformed = snapshot.counters.malformed
        info.duplicates = snapshot.counters.duplicates
        info.dropped = snapshot.dropped_updates
    return info


def feed_empty_message(
    switching: bool, state: ConnectionState, store: FeedStore, environment: str
) -> str:
    """What the empty feed says, so an empty pane never looks like a broken one."""
    if switching:
        return "Switching profile…"
    if state is ConnectionState.LIVE:
        if store.received and not store.view:
            return "No event matches the filter in force (see the status bar counts)."
        return f"Live. No changes in {environment} yet: they appear here as they happen."
    if state is ConnectionState.RETRYING:
        return "Disconnected: retrying (see the status bar)."
    if state is ConnectionState.STOPPED:
        return "The stream stopped."
    return "Connecting…"


def values_empty_text(environment: str) -> Text:
    return Text(
        f"No flag values yet for {environment}: flags appear here when they change "
        "or when watched.",
        style="italic",
    )
