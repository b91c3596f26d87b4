"""The monitors a headless command starts, as a test sees them: `core.run_headless` wrapped so
that each monitor it starts is listed (the commands look it up in `core` when they run)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from togul_monitor.core import Monitor


def spy_on_monitors(
    monkeypatch: pytest.MonkeyPatch, check: Callable[[dict[str, Any]], None] | None = None
) -> list[Monitor]:
    """The list the monitors started from now on are appended to; `check` sees each start's
    keyword arguments (`record`, say)."""
    from togul_monitor import core

    started: list[Monitor] = []
    real_run_headless = core.run_headless

    @contextlib.asynccontextmanager
    async def spy(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        if check is not None:
            check(kwargs)
        async with real_run_headless(*args, **kwargs) as pair:
            started.append(pair[0])
            yield pair

    monkeypatch.setattr(core, "run_headless", spy)
    return started
