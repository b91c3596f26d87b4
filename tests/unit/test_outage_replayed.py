"""What an outage's `replayed` counts: events the server re-sent after `Last-Event-ID`, never
a restarted server's new events (their ids start again, not above the id sent)."""

from __future__ import annotations

from togul_monitor.client.outages import OutageTracker
from togul_monitor.domain.events import FlagEvent, Outage, StreamItem

DOWN, BACK = 1_000.0, 1_010.4  # lost, then live again in the reconnect's second (1010)


def event(event_id: str, stamped: float) -> FlagEvent:
    return FlagEvent("flag.updated", "f", "env-prod", 3, stamped, event_id, BACK + 0.1)


def decided(batch: list[StreamItem], sent_id: str = "40") -> Outage:
    tracker = OutageTracker(lambda items: None, clock=lambda: BACK)
    tracker.live(0.0, None, None)  # the first connection: nothing lost yet
    tracker.lost(DOWN)
    tracker.live(BACK, sent_id, 40)
    outage = tracker.decide(batch, BACK + 0.1)
    tracker.cancel()
    assert isinstance(outage, Outage)
    return outage


async def test_a_restarted_servers_first_event_is_not_counted_as_replayed() -> None:
    # SIGKILL and restart: the new life numbers from 1 and has nothing after id 40 to replay.
    # Its first event, stamped in the reconnect's second, is live, not re-sent.
    outage = decided([event("1", 1010.0), event("2", 1010.0)])
    assert outage.replayed == 0
    assert outage.may_have_missed


async def test_events_after_the_id_sent_stamped_by_the_reconnect_are_counted() -> None:
    outage = decided([event("41", 1004.0), event("42", 1009.0), event("43", 1012.0)])
    assert outage.replayed == 2  # the live one stamped after the reconnect is not
    assert not outage.may_have_missed
