"""A bounded wait on a condition, for async tests that have no server's helpers of their own
(integration tests wait with tests/integration/test_monitor.py `wait_for`, UI tests with
tests/ui/helpers.py `wait_for`). Polls rather than `asyncio.timeout`, which Python 3.10 lacks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def until(
    condition: Callable[[], object],
    what: str = "the condition",
    timeout: float = 10.0,
    poll: float = 0.005,
) -> None:
    """Return once `condition()` is true; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(poll)


def wait_until(
    condition: Callable[[], object], what: str = "the condition", timeout: float = 20.0
) -> None:
    """`until` for a test that runs no loop of its own (another process, a server thread)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)
