"""The texts the main screen repaints a few times a second: the status bar, and the values
pane's titles (the empty panes' hints are ui/view/empty_panes.py's).

Both come from state the screen already has (the view's counters, the connection status, the
monitor's snapshot); building them here keeps the screen to deciding *when* to paint. The
view's modes (paused, filter, time format) are not here: the status bar is bound to them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import msgspec
from rich.cells import cell_len

from togul_monitor.config.profiles import Profile
from togul_monitor.domain.events import ConnectionState, Status
from togul_monitor.domain.values import FlagValue
from togul_monitor.protocol import EVENT_TYPES
from togul_monitor.support.plain_errors import PlainError, plain_words
from togul_monitor.ui.view.change import cut_cells, share
from togul_monitor.ui.view.doubt import Doubt
from togul_monitor.ui.view.feed_store import FeedStore

if TYPE_CHECKING:  # the monitor's modules load after the first frame (ui/app.py)
    from togul_monitor.core import MonitorSnapshot


class Note(msgspec.Struct, frozen=True):
    """One fact of the third line: its text, a shorter one for narrow bars, its style."""

    text: str
    short: str
    style: str = "yellow"


class StatusInfo(msgspec.Struct):
    """Everything the status bar shows: from the snapshot and the view (its modes are bound to
    the main screen's reactives, `widgets/status_bar.py`)."""

    profile: str = ""
    environment: str = ""
    environment_verified: bool = True  # False: the profile's name for it, not checked
    state: ConnectionState = ConnectionState.CONNECTING
    retry_in: float | None = None
    # The stream's error in plain words (support/plain_errors.py): its `brief` on the bar, the
    # reason kept whole when the room is short; its `text`, as `tail` says it, in the empty feed.
    error: PlainError | None = None
    # Connecting again after a failure: the failed attempt's error, shown until the stream is
    # live again (`keep_last_error`): the bar keeps its place for it.
    last_error: PlainError | None = None
    rate: Sequence[int] = ()
    heartbeat_age: float | None = None
    silent: float | None = None  # a live stream silent for longer than it should be (`silence`)
    # Connecting this long with no answer yet (from NO_ANSWER_SHOWN on): a server that took the
    # connection and says nothing is given up only at the read timeout. Counted from
    # `connecting_since`: the profile's start, through its checks and on into the first attempt;
    # a new attempt (`r`: the stream's reconnect count moved) counts anew.
    no_answer: float | None = None
    connecting_since: float | None = None
    connecting_attempt: int | None = None  # the stream's reconnect count then (None: no stream)
    lag: float | None = None
    malformed: int = 0
    duplicates: int = 0
    trimmed: int = 0
    dropped: int = 0
    filtered: int = 0
    shown: int = 0
    paused: bool = False
    pending: int = 0  # the events held while paused: the newest `paused_new`
    paused_new: int = 0  # every one that came since the pause (`pending` when none was trimmed)
    filter_text: str = ""
    hidden_types: tuple[str, ...] = ()  # in EVENT_TYPES order
    time_mode: str = "local"
    switching: bool = False
    notes: tuple[Note, ...] = ()  # the third line (none: the bar has two lines)


NOT_RECORDING = "not recording: "
_ASIDE = re.compile(r"\s*\([^()]*\)")


def short_form(text: str) -> str:
    """`text` without its parenthesised asides, for narrow bars."""
    return _ASIDE.sub("", text).strip() or text


def paused_label(new: int, kept: int, narrow: bool = False) -> str:
    """`+N new` while paused: every event that came since the pause. The feed holds only the
    newest of them (a view's worth, view/feed_store.py), the rest counted as trimmed: then it
    says how many it kept, so shown + kept + filtered + trimmed adds up to what was received."""
    if new <= kept:
        return f"+{new:,} new"
    return f"+{new:,} new, {kept:,} kept" if narrow else f"+{new:,} new, the latest {kept:,} kept"


def hidden_label(hidden: Sequence[str], narrow: bool) -> str:
    """The event types hidden with `1`–`6`, named: `flag.created, rule.*` (a whole family as
    `family.*`); narrow: `hidden f.created r.*`."""
    names: list[str] = []
    for family in dict.fromkeys(t.split(".")[0] for t in EVENT_TYPES):
        members = [t for t in EVENT_TYPES if t.startswith(family + ".")]
        if all(t in hidden for t in members):
            names.append(f"{family}.*")
        else:
            names.extend(t for t in members if t in hidden)
    names.extend(t for t in hidden if t not in EVENT_TYPES)
    if narrow:
        return "hidden " + " ".join(name[0] + name[name.index(".") :] for name in names)
    return "hidden: " + ", ".join(names)


def journal_notes(snapshot: MonitorSnapshot) -> list[Note]:
    """Not recording (and why), an unreadable journal replaced, rows the journal dropped."""
    notes: list[Note] = []
    notice = snapshot.journal_notice
    if not snapshot.recording:
        from togul_monitor.store.reading import READ_ONLY_NOTICE  # not on the first frame's path

        if snapshot.recorder_busy and notice == READ_ONLY_NOTICE:  # a shared journal, read
            notes.append(Note(READ_ONLY_NOTICE, "reading the shared journal", "bold yellow"))
        elif snapshot.recorder_busy:  # expected, not a failure: another process records
            notes.append(
                Note(
                    "not recording: another process records this profile",
                    "not recording: recorded elsewhere",
                    "bold yellow",
                )
            )
        elif notice:
            reason = notice.removeprefix(NOT_RECORDING)
            notes.append(
                Note(NOT_RECORDING + reason, NOT_RECORDING + short_form(reason), "bold red")
            )
        else:
            notes.append(Note("not recording", "not recording", "bold yellow"))
    elif snapshot.journal_moved_aside:
        notes.append(
            Note(
                "journal damaged or unreadable: moved aside (bytes kept), a new one started",
                "journal replaced (old file moved aside)",
            )
        )
    if snapshot.journal_dropped:
        dropped = snapshot.journal_dropped
        notes.append(
            Note(f"journal dropped {dropped} (writer behind)", f"jrnl drop {dropped}", "red")
        )
    return notes


def status_notes(snapshot: MonitorSnapshot, now: float) -> tuple[Note, ...]:
    """The status bar's third line: the journal, evaluate failures, the flag limit, the plan's
    notes."""
    notes = journal_notes(snapshot)
    evaluator = snapshot.evaluator
    # Rejected credentials have a panel of their own (NoticePanel).
    if evaluator is not None and not evaluator.ok and not evaluator.credentials_rejected:
        message = evaluator.text(now) or "evaluate is failing: values may be stale"
        notes.append(Note(message, short_form(message)))
    if snapshot.unmonitored_events:
        notes.append(over_limit_note(snapshot.max_flags, snapshot.unmonitored_events))
    notes.extend(Note(text, short_form(text)) for text in snapshot.notices)
    return tuple(notes)


def over_limit_note(max_flags: int, events: int) -> Note:
    """More flag keys than the monitor keeps values for: their events are in the feed only."""
    return Note(
        f"flag limit ({max_flags:,}) reached: {events:,} events of further flags shown, "
        "not evaluated",
        f"flag limit: {events:,} not evaluated",
    )


def status_info(
    *,
    profile: Profile,
    status: Status,
    switching: bool,
    store: FeedStore,
    snapshot: MonitorSnapshot | None,
    now: float,
    before: StatusInfo | None = None,
) -> StatusInfo:
    """The status bar's content; `snapshot` (Monitor.snapshot()) is None without a monitor.
    `before`: the bar's until now, for what it keeps: whether the last monitor vouched for the
    environment, once none runs (a profile that could not be opened stopped it, and its name for
    the environment is still not checked); the last failed attempt's error (`last_error`)."""
    info = StatusInfo(
        profile=profile.name,
        environment=profile.environment_key,
        state=status.state,
        switching=switching,
        pending=store.pending_events,
        paused_new=store.paused_new,
        filtered=store.filtered,
        trimmed=store.trimmed,
        shown=store.shown,
        environment_verified=True if before is None else before.environment_verified,
    )
    if snapshot is not None:
        info.state = snapshot.status.state
        info.environment_verified = snapshot.environment_verified
        if snapshot.status.next_try_at is not None:
            info.retry_in = snapshot.status.next_try_at - now
        info.rate = snapshot.events_per_second
        if snapshot.last_heartbeat_at is not None:
            info.heartbeat_age = now - snapshot.last_heartbeat_at
        info.malformed = snapshot.counters.malformed
        info.duplicates = snapshot.counters.duplicates
        info.dropped = snapshot.dropped_updates
        info.notes = status_notes(snapshot, now)
        info.silent = silence(snapshot, profile.heartbeat_seconds, now)
        if info.state is ConnectionState.LIVE and info.silent is None:
            # The last event's: a stream silent or down has measured none since, and its last
            # `<1s` would vouch for a stream that may be far behind.
            info.lag = snapshot.last_lag_seconds
        if snapshot.configs_stopped is not None:  # first: it says what to do, before a cut
            from togul_monitor.ui.view.config_stop import stopped_note

            text, short = stopped_note(snapshot.configs_stopped, profile, now)
            info.notes = (Note(text, short, "bold yellow"), *info.notes)
    if snapshot is None and before is not None:
        # No monitor runs (a profile that could not be opened stopped the one before): the
        # rows shown are still that one's, and these are their counts.
        info.malformed, info.duplicates = before.malformed, before.duplicates
        info.dropped = before.dropped
    error = status.error if snapshot is None else snapshot.status.error
    if error:  # as `tail` words it; the bar leads with the reason: a cut loses the host, not it
        info.error = plain_words(error, profile.base_url)
    if info.state is ConnectionState.CONNECTING and not info.error and not switching:
        since = _count_no_answer(info, status, snapshot, before)
        info.no_answer = now - since if now - since >= NO_ANSWER_SHOWN else None
    if before is not None:
        keep_last_error(info, before)
    if store.skipped:
        # Rows a paint left out under a burst sit between two rows of the feed, unseen: say so,
        # and where they are (a refilter or an export reads them from the log).
        text = (
            f"{store.skipped:,} events of a burst not painted (in the log: a new filter or an "
            "export shows them)"
        )
        info.notes = (Note(text, f"{store.skipped:,} not painted", "bold yellow"), *info.notes)
    return info


def _count_no_answer(
    info: StatusInfo, status: Status, snapshot: MonitorSnapshot | None, before: StatusInfo | None
) -> float:
    """Since when the profile has waited for an answer (`StatusInfo.no_answer`), kept in
    `info` for the next call: the stream's status's time, or the screen's (`status`) while no
    monitor runs yet."""
    since = status.at if snapshot is None else snapshot.status.at
    info.connecting_attempt = None if snapshot is None else snapshot.counters.reconnects
    if before is not None and before.connecting_since is not None and not before.switching:
        same_attempt = before.connecting_attempt in (None, info.connecting_attempt)
        if before.profile == info.profile and same_attempt:
            since = min(since, before.connecting_since)
    info.connecting_since = since
    return since


def keep_last_error(info: StatusInfo, before: StatusInfo) -> None:
    """While the stream connects again after a failure, the failed attempt's error stays
    (`before`'s, the bar's until now): else each attempt took it away and the next failure
    brought it back, the bar's height changing every cycle. Until the stream is live, or
    another profile's status comes."""
    if (
        info.state is not ConnectionState.CONNECTING
        or info.switching
        or before.switching
        or before.profile != info.profile
    ):
        return
    if before.error and before.state in (ConnectionState.RETRYING, ConnectionState.STOPPED):
        info.last_error = before.error
    else:
        info.last_error = before.last_error


#: Seconds an attempt (or the start's checks) may wait for the server before the bar says so.
NO_ANSWER_SHOWN = 3.0
HEARTBEAT_SLACK = 5.0  # beyond the heartbeat interval, at most (a heartbeat late on the wire)


def silence(snapshot: MonitorSnapshot, heartbeat: float, now: float) -> float | None:
    """How long the live stream has sent nothing at all (no event, no heartbeat, no marker),
    once a heartbeat is overdue; None otherwise, and while it is not live (the bar says that).
    A stall shows here long before the read timeout ends it (3 heartbeats: 90 s by default).
    Not sooner after a burst: the server owes nothing but its heartbeat when the changes stop,
    and the end of every deploy's changes would read as a stall."""
    at = snapshot.last_alive_at
    if at is None or snapshot.status.state is not ConnectionState.LIVE:
        return None
    silent = now - at
    return silent if silent > heartbeat + min(HEARTBEAT_SLACK, heartbeat / 2) else None


def contexts_of(profile: Profile, snapshot: MonitorSnapshot | None) -> tuple[str, ...]:
    """The contexts the monitor evaluates for, in order: the snapshot's (what its values say),
    the profile's before there is one."""
    if snapshot is not None and snapshot.contexts:
        return tuple(snapshot.contexts)
    return tuple(profile.evaluation_contexts)


def snapshot_values(snapshot: MonitorSnapshot) -> list[FlagValue]:
    """Every context's values in the snapshot (the first context's alone when the monitor
    fills only `values`)."""
    if not snapshot.context_values:
        return list(snapshot.values.values())
    return [value for values in snapshot.context_values.values() for value in values.values()]


def values_titles(
    contexts: Sequence[str],
    snapshot: MonitorSnapshot | None,
    shown: int = 0,
    width: int = 0,
    *,
    doubt: Doubt | None = None,
) -> tuple[str, str]:
    """The values pane's border title and subtitle. While the values may be out of date
    (`doubt`: the stream silent or not live, or no monitor running, view/doubt.py) the title
    first says so: first, since a border title is cut at its end. With several contexts it
    then counts them (and how many have a column, when the pane is too narrow for all); the
    subtitle says which are left out and how to see them (fitted to `width` cells when given:
    `not_shown`), then the evaluate requests sent so far (one per flag and context: they grow
    with the contexts) when there is room. One context: `values`."""
    title = "values" + (f" · {doubt.note}" if doubt is not None else "")
    if len(contexts) <= 1:
        return title, ""
    requests = snapshot.evaluate_requests if snapshot is not None else 0
    plural = "" if requests == 1 else "s"
    subtitle = f"{requests:,} evaluate request{plural}"
    title += f" · {len(contexts)} contexts"
    if 0 < shown < len(contexts):
        title += f" ({shown} shown)"
        # Names the profile's (checked against CONTEXT_NAME_PATTERN: never markup).
        hidden = not_shown(contexts[shown:], width)
        whole = f"{hidden} · {subtitle}"
        subtitle = whole if width <= 0 or cell_len(whole) <= width else hidden
    return title, subtitle


NAME_LEAST = 4  # cells of a cut context name (`ver…`): fewer say nothing of it


def not_shown(hidden: Sequence[str], width: int = 0) -> str:
    """The contexts without a column, and how to see them, in `width` cells (0: no limit):
    `not shown: c, d (widen, or y copies all)`; where that is too long, the count, the names
    (long ones cut to share the room, the last ones left to `…`) and the copy key:
    `3 not shown: verylongcon…, us, x (y copies all)`. A border's text cut at its end lost
    the other names and the way to see them."""
    whole = f"not shown: {', '.join(hidden)} (widen, or y copies all)"
    if width <= 0 or cell_len(whole) <= width:
        return whole
    count, hint = f"{len(hidden)} not shown", " (y copies all)"
    for kept in range(len(hidden), 0, -1):
        names = list(hidden[:kept])
        rest = ", …" if kept < len(hidden) else ""
        room = width - cell_len(f"{count}: {hint}{rest}") - 2 * (kept - 1)
        needs = [cell_len(name) for name in names]
        widths = share(needs, room)
        if all(got >= min(need, NAME_LEAST) for got, need in zip(widths, needs, strict=True)):
            cut = [cut_cells(name, got) for name, got in zip(names, widths, strict=True)]
            return f"{count}: {', '.join(cut)}{rest}{hint}"
    return cut_cells(count + hint, width)
