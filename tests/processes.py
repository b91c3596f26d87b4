"""Helpers for tests that run the command line as a real process."""

from __future__ import annotations

import signal


def with_default_sigint() -> None:
    """`preexec_fn` for a child that must stop on Ctrl-C: a shell that runs the test suite in
    the background makes its children ignore SIGINT, and Python then keeps ignoring it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
