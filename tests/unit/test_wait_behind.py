"""`wait` behind its updates: the value it waits for may be among what it lost."""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest

from togul_monitor.cli.common import EXIT_OK
from togul_monitor.cli.wait import _Waiter, _watch
from togul_monitor.config.entry import Profile
from togul_monitor.core.updates import Dropped
from togul_monitor.domain.values import DEFAULT_CONTEXT, Evaluation, FlagValue


def value(raw: object) -> FlagValue:
    return FlagValue(
        "checkout-v2", Evaluation(raw, "boolean", "rule", True), None, 1.0, None, False, False, None
    )


async def test_a_value_lost_behind_the_stream_is_read_from_the_monitor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The ValueUpdated that made the flag true was dropped (the reader fell behind): the
    # `Dropped` in its place sends `wait` to the monitor's values, which hold it.
    from togul_monitor import core

    values = {DEFAULT_CONTEXT: {"checkout-v2": value(False)}}
    monitor = SimpleNamespace(snapshot=lambda: SimpleNamespace(context_values=values))

    async def updates() -> AsyncIterator[object]:
        values[DEFAULT_CONTEXT] = {"checkout-v2": value(True)}
        yield Dropped(updates=3, rows=0)

    @contextlib.asynccontextmanager
    async def fake(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        yield monitor, updates()

    monkeypatch.setattr(core, "run_headless", fake)  # where `wait` looks it up
    profile = Profile(name="prod", base_url="http://127.0.0.1:1", environment_key="production")
    waiter = _Waiter("checkout-v2", True, io.StringIO())
    assert await _watch(profile, waiter) == EXIT_OK
