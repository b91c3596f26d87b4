"""What the main screen's painter asks that needs none of its state: whether input waits (the
paint lets it go first), how the status bar names a profile, whether a profile evaluates."""

from __future__ import annotations

from textual import events
from textual.app import App

from togul_monitor.config.profiles import Profile
from togul_monitor.core.plan import not_evaluated


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
