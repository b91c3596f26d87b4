"""What the TUI says while the flags' configurations are no longer followed: the server refused
the token mid-run (it expired with no refresh token to renew it, or the server restarted and no
longer knows it; core/config_refusal.py).

Nothing else would show it: rows simply stop saying what changed in a flag's configuration,
and the inventory's rules and defaults would read as current. So the status bar's third line
says it for as long as it lasts, a notification says it once when it starts (`notice`), and the
inventory's header says when its configuration columns were last read (`stale_configs`): not
when the refusal came, since an event met by the refusal left its flag's columns as they were
before it. Those rows are marked one by one (`OLD_MARK`, `older_than_change`), and so are those
whose value a re-evaluation found changed with no event to say it (`found_since_read`). All
three go when the server takes the token again (after `R`, or an outage, tries once more); a
new token from `togul-monitor login` is read when the profile is opened again (`p`, `enter`).

Server text is escaped where it is shown (the bar's notes, `notify(markup=False)`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from togul_monitor.config.profiles import Profile
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import ValueTransition
from togul_monitor.ui.view.format import fmt_age

if TYPE_CHECKING:  # the monitor's modules load after the first frame (ui/app.py)
    from togul_monitor.core.updates import ConfigsStopped

TITLE = "Configuration diffs stopped"
#: Before a row's default and rule summary while diffs are stopped: the flag had an event after
#: its configuration was last read, so what the row shows predates that change.
OLD_MARK = "⚠"


def _fix_and_why(stopped: ConfigsStopped, profile: Profile) -> tuple[str, list[str]]:
    """(what to do, why: the token's expiry, whether it could be renewed). The monitor's hint
    ends with what to do (client/tokens.py `rejection_hint`): said first here, so a bar cut at
    its edge still shows it."""
    from togul_monitor.core.tokens import login_hint

    fix = login_hint(profile)
    return fix, [part for part in stopped.hint.split("; ") if part and part != fix]


def stopped_note(stopped: ConfigsStopped, profile: Profile, now: float) -> tuple[str, str]:
    """The status bar's note while diffs are stopped: (its text, the short one for narrow
    bars)."""
    fix, why = _fix_and_why(stopped, profile)
    age = fmt_age(now - stopped.at)
    return (
        f"configuration diffs stopped {age} ago: {fix} ({'; '.join([*why, stopped.error])})",
        f"config diffs stopped {age} ago: {fix}",
    )


def notice(stopped: ConfigsStopped, profile: Profile, reopen: str, retry: str) -> str:
    """The notification, once when diffs stop: what stopped, why (the server's answer when
    nothing says more: the status bar has it too), and how to resume."""
    fix, why = _fix_and_why(stopped, profile)
    again = f", then reopen the profile ({reopen}, enter)" if profile.source_file else ""
    return (
        f"The server refused the token: {'; '.join(why or [stopped.error])}. Feed rows no "
        "longer say what changed in a flag's configuration, and the inventory's rules and "
        f"defaults stay as last read. To resume, {fix}{again}; {retry} tries again."
    )


def older_than_change(event: FlagEvent | None, read_at: float | None, environment: str) -> bool:
    """Whether a flag's configuration of `environment`, asked for at `read_at`
    (core/config_reads.py), predates the flag's last `event`: an event received before the
    request is in its answer. An event of another environment changes not this configuration."""
    if event is None or event.environment_id != environment:
        return False
    return read_at is None or event.received_at > read_at


#: A value change found by a re-evaluation of everything (view/found.py) this long before the
#: refusal was found with the re-fetch the refusal met: they are asked together (after an
#: outage, core/stream_effects.py), and the answers come within seconds of each other.
MET_WITHIN = 10.0


def found_since_read(
    found: ValueTransition | None, read_at: float | None, stopped: ConfigsStopped
) -> bool:
    """Whether the value change `found` (no event's) shows that the flag changed after its
    configuration was asked for at `read_at`: the change the refusal met, or one since. Not an
    earlier one: its re-evaluation was asked with a re-fetch that may have answered (a start's
    loads, an outage's), and an answer is timed by its arrival, not by when it was asked."""
    if found is None or found.at < stopped.at - MET_WITHIN:
        return False
    return read_at is None or found.at > read_at


def stale_configs(
    stopped: ConfigsStopped | None, last_read: float | None, now: float, older: int = 0
) -> str:
    """The inventory header's note on its configuration columns ("" while they are current):
    how long ago they were last read (`last_read`: the newest read, from before the refusal),
    and how many rows show a configuration older than their flag's last change."""
    if stopped is None:
        return ""
    if last_read is None:
        note = "no rules and defaults read (diffs stopped)"
    else:
        note = f"rules and defaults last read {fmt_age(now - last_read)} ago (diffs stopped)"
    if older:
        flags = f"{older:,} flag{'' if older == 1 else 's'}"
        note += f" · {OLD_MARK} {flags} changed since read"
    return note
