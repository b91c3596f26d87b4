"""What a failed stream task's journal holds and its log lacks is not journalled again when the
restart replays it (core/held_events.py); another journal (a takeover's) gets the replay whole."""

from __future__ import annotations

from typing import Any, cast

from togul_monitor.core.held_events import HeldEvents
from togul_monitor.domain.events import FlagEvent


class _Journal:
    def __init__(self) -> None:
        self.appended: list[FlagEvent] = []

    def append_events(self, events: list[FlagEvent]) -> None:
        self.appended.extend(events)


def _event(n: int, received_at: float = 10.0) -> FlagEvent:
    return FlagEvent("flag.updated", f"f{n}", "env", n, 5.0, str(n), received_at)


def test_the_replay_of_the_held_events_is_left_out_until_one_comes_that_is_not_held() -> None:
    journal, other = _Journal(), _Journal()
    held = HeldEvents(cast(Any, journal), [_event(2), _event(3)])
    # Replayed: received again later, the server's fields the same.
    assert held.append_unheld(cast(Any, journal), [_event(2, 20.0)]) is held
    assert journal.appended == []
    assert held.append_unheld(cast(Any, journal), [_event(3, 20.0), _event(4, 20.0)]) is None
    assert journal.appended == [_event(4, 20.0)]
    # A journal taken over since was never handed them.
    assert (
        HeldEvents(cast(Any, journal), [_event(2)]).append_unheld(
            cast(Any, other), [_event(2, 20.0)]
        )
        is None
    )
    assert other.appended == [_event(2, 20.0)]
