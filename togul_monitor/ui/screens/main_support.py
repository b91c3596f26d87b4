"""What the main screen's painter asks that needs none of its state: whether input waits (the
paint lets it go first), how the status bar names a profile, whether a profile evaluates, what
a new monitor's view takes of its profile before it shows a row, and the notification that the
flags' configurations are no longer followed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events
from textual.app import App

from togul_monitor.config.profiles import Profile
from togul_monitor.core.plan import not_evaluated
from togul_monitor.ui.view.answers import ValueAnswers
from togul_monitor.ui.view.status import contexts_of

if TYPE_CHECKING:
    from togul_monitor.core import MonitorSnapshot
    from togul_monitor.core.updates import ConfigsStopped
    from togul_monitor.ui.handle import ViewHost


def input_waiting(app: App[None]) -> bool:
    """A key or a mouse event waits in the app's queue, or in the screen's or the focused
    widget's (where the app forwards it): the paint waits a tick, so what the user pressed is
    handled, and painted, first. Textual runs the timer's callback in its own task; a paint
    that started first would otherwise hold the key back for its whole length."""
    for pump in (app, app.screen_stack[-1] if app.screen_stack else None, app.focused):
        queue = getattr(pump, "_message_queue", None)
        waiting = getattr(queue, "values", ())  # textual._queue.Queue's deque (a test checks)
        # A key or a click; not a mouse move, which comes in streams and must not hold a paint.
        if any(
            isinstance(message, events.InputEvent) and not isinstance(message, events.MouseMove)
            for message in waiting
        ):
            return True
    return False


def where_of(profile: Profile) -> str:
    """`profile / environment`, as the status bar names them."""
    return f"{profile.name} / {profile.environment_key or 'all environments'}"


def evaluates(profile: Profile) -> bool:
    """Whether the monitor evaluates values for `profile` (the rule of `core/plan.py`,
    `StreamPlan.evaluate`)."""
    return not_evaluated(profile) is None


def take_profile(
    profile: Profile,
    snapshot: MonitorSnapshot,
    answers: ValueAnswers,
    names: dict[str, str],
    first: bool,
) -> None:
    """A new monitor's profile, before the feed store attaches it: the store places and filters
    the changes an earlier run found among the recorded rows as it shows them
    (view/feed_store.py `attach`), by the profile's environment, contexts and environment
    `names` (the `first` profile's are those the screen was made with)."""
    if not first:
        names.clear()
        names.update(profile.environment_names)  # in place: predicates share this dict
    env, contexts = profile.environment_key, contexts_of(profile, snapshot)
    answers.reset(evaluates=evaluates(profile), environment_key=env, contexts=contexts)


def diffs_stopped(app: App[None], host: ViewHost, stopped: ConfigsStopped | None) -> None:
    """The server refused the token: configuration diffs stop (the monitor says it once per
    stop; the status bar keeps saying it while it lasts, view/config_stop.py)."""
    if stopped is None:
        return
    from togul_monitor.ui.view.config_stop import TITLE, notice

    reopen, retry = host.key_for("profiles"), host.key_for("reconnect")
    text = notice(stopped, host.profile, reopen, retry)
    app.notify(text, title=TITLE, severity="warning", markup=False, timeout=20)
