"""A monitor's start cancelled while a thread opens its journal (Ctrl-C, `tail
--give-up-after`): the journal the thread opens anyway is closed, its writer thread not left
running with nobody to stop it (core/recording.py)."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from togul_monitor.core import recording

from ..waits import until


async def test_a_journal_opened_after_its_start_was_cancelled_is_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = threading.Event(), threading.Event()
    closed: list[object] = []
    real_open = recording._open

    def slow_open(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        release.wait(10)  # the disk is slow: the start is cancelled meanwhile
        journal = real_open(*args, **kwargs)
        real_close = journal.close

        def close(timeout: float = recording.CLOSE_TIMEOUT) -> None:
            closed.append(journal)
            real_close(timeout)

        journal.close = close
        return journal

    monkeypatch.setattr(recording, "_open", slow_open)
    opening = asyncio.create_task(recording.open_journal("p", tmp_path, time.time, {}, 10, None))
    await until(entered.is_set, "the thread opening the journal")
    opening.cancel()
    with pytest.raises(asyncio.CancelledError):
        await opening
    release.set()
    await until(lambda: closed, "the journal closed")
