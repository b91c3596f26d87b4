"""A server that restarts numbers its events from 1 again, stamped in the second of the last event
the client saw (whole seconds): over a real loopback socket, none of them is taken for a replay,
and the restarted server's own replays still are."""

from __future__ import annotations

from tests.integration.rawserver import RawServer, Reply
from tests.integration.test_stream_client_raw import STOP, ev, events, make_client, run
from togul_monitor.domain.events import Outage

T = 1_700_000_000


async def test_a_restarted_servers_events_of_the_same_second_reach_the_client() -> None:
    first_life = [ev(1, "a", 1, T - 5), ev(2, "b", 4, T - 2), ev(3, "a", 2, T), ev(4, "b", 5, T)]
    second_life = [
        ev(1, "a", 3, T),
        ev(2, "c", 1, T, etype="flag.created"),
        ev(3, "b", 6, T, etype="flag.deleted"),
    ]
    script = [
        Reply(body=first_life, end="eof"),
        Reply(body=second_life, end="eof"),
        # The restarted server replays its own events and goes on.
        Reply(body=[*second_life, ev(4, "a", 4, T + 1)], end="eof"),
        STOP,
    ]
    async with RawServer(script) as server:
        client, _ = make_client(server)
        items = await run(client)
    got = [(e.event_id, e.flag_key, e.version) for e in events(items)]
    assert got == [
        ("1", "a", 1),
        ("2", "b", 4),
        ("3", "a", 2),
        ("4", "b", 5),
        ("1", "a", 3),
        ("2", "c", 1),
        ("3", "b", 6),
        ("4", "a", 4),
    ]
    assert client.counters.duplicates == 3
    assert [request.header("last-event-id") for request in server.requests[:3]] == [
        None,
        b"4",
        b"3",
    ]
    # The restart's outage may have lost events (the ids did not go on from 4); the replay's did
    # not (the first new event is 4, after the 3 asked for).
    outages = [item for item in items if isinstance(item, Outage)]
    assert [outage.may_have_missed for outage in outages] == [True, False]
