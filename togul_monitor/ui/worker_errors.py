"""One place that turns a failed thread worker into a notification.

Every worker of the TUI runs with `exit_on_error=False`, so an exception it does not catch
would otherwise vanish: the app and the screens that start workers hand their
`Worker.StateChanged` here (the message does not bubble, so each node that runs workers
listens), and the user is told what failed, by the worker's name.
"""

from __future__ import annotations

import logging

from textual.dom import DOMNode
from textual.worker import Worker, WorkerState

from togul_monitor.support.text import safe_text

log = logging.getLogger(__name__)

#: What each named worker was doing, as the notification's title.
WORKER_TITLES: dict[str, str] = {
    "monitor": "Starting or stopping the monitor failed",
    "refilter": "Refiltering the view failed",
    "export": "Export failed",
    "history": "Reading the flag's history failed",
    "transition": "Looking up the value change failed",
    "profile-save": "Saving the profile failed",
    "profile-load": "Reading the profiles failed",
    "keymap": "Reading the keymap failed",
}


def failure_text(worker: Worker[object]) -> tuple[str, str] | None:
    """(title, message) when `worker` ended in ERROR, else None."""
    if worker.state is not WorkerState.ERROR:
        return None
    title = WORKER_TITLES.get(worker.name, f"Background task {worker.name or '?'} failed")
    error = worker.error
    detail = f"{type(error).__name__}: {error}" if error is not None else "unknown error"
    return title, safe_text(detail)


def report_worker_error(node: DOMNode, event: Worker.StateChanged) -> bool:
    """Notify (and log) a worker that failed; True if it did."""
    failure = failure_text(event.worker)
    if failure is None:
        return False
    title, detail = failure
    log.error("%s: %s", title, detail, exc_info=event.worker.error)
    node.app.notify(detail, title=title, severity="error", markup=False)
    return True
