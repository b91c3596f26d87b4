"""A configuration read ahead of the stream is held for its event (core/config_ahead.py), but
not once the stream is read no further (`hurry`, at `tail --count`): then it is due at once."""

from __future__ import annotations

from collections import deque

from togul_monitor.core.config_ahead import AheadAnswers, Held
from togul_monitor.core.config_fetch import Fetched
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_config import FlagConfig


def event(version: int) -> FlagEvent:
    return FlagEvent("flag.updated", "f", "env-1", version, 1.0, str(version), 1.0)


def read(version: int) -> Fetched:
    config = FlagConfig("id-f", "f", "env-1", "f", None, "boolean", True, False, (), None, version)
    return Fetched(config, asked_at=2.0)


async def test_hurry_makes_what_is_held_due_and_holds_nothing_after() -> None:
    due: list[tuple[str, Held]] = []
    ahead = AheadAnswers(lambda key, held: due.append((key, held)))
    trigger = event(3)
    pending = deque([trigger])
    assert ahead.tie("f", pending, trigger, read(5), False, True, 0.5) == (False, None)
    assert ahead and due == []  # held for the event of version 5
    ahead.hurry()
    assert not ahead and [(key, held.config.version) for key, held in due] == [("f", 5)]
    kept, _ = ahead.tie("f", deque([trigger]), trigger, read(6), False, True, 0.5)
    assert kept and not ahead  # ahead of the stream, but nothing more will be read
