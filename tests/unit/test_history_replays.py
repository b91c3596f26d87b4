"""An event the server replayed after an outage (the stream resumed after Last-Event-ID) is dated
in a flag's history when it happened, inside its outage, and said to be replayed; a live event
keeps its received time (domain/history.py `Replays`, `history`, the history pane)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from togul_monitor.cli import cli
from togul_monitor.cli.times import clock, stamp
from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.history import REPLAY_WINDOW, Replays, merge_history
from togul_monitor.store.journal import Journal, journal_path

T = 1_700_000_000.0  # the outage: down from T to T + 60, decided at T + 60.2
OUTAGE = Outage(T, T + 60, 1, False, T + 60.2)


def event(version: int, timestamp: float, received_at: float) -> FlagEvent:
    return FlagEvent(
        "rule.updated", "checkout-v2", "env-1", version, timestamp, str(version), received_at
    )


REPLAYED = event(16, T + 30, T + 60.2)  # happened half-way through, re-sent at the reconnect
BEFORE = event(15, T - 5, T - 5)  # received live before the stream went down


def test_a_replayed_event_is_placed_inside_its_outage_at_the_servers_time() -> None:
    merged = merge_history([REPLAYED, OUTAGE, BEFORE], limit=10)
    assert merged == [OUTAGE, REPLAYED, BEFORE]
    assert Replays(merged).happened_at(REPLAYED) == T + 30
    # A server clock far behind ours: still inside the outage, never before it.
    skewed = event(16, T - 600, T + 60.2)
    assert merge_history([skewed, OUTAGE, BEFORE], limit=10)[:2] == [OUTAGE, skewed]
    assert Replays([OUTAGE]).happened_at(skewed) == T


def test_live_events_keep_their_received_time() -> None:
    replays = Replays([OUTAGE])
    # Stamped by the server after the stream was back: live, even in the reconnect's batch.
    assert replays.happened_at(event(17, T + 61, T + 60.2)) is None
    # Stamped in the reconnect's second (the server's stamps are whole seconds): it may be a
    # live change made just after the stream was back, so it is not said to be replayed.
    for back in (T + 60, T + 60.5):
        outage = Outage(T, back, 1, False, back + 0.2)
        assert Replays([outage]).happened_at(event(17, T + 60, back + 0.2)) is None
        assert Replays([outage]).happened_at(event(17, T + 59, back + 0.2)) == T + 59
    # A server clock behind ours does not move an event received well after the reconnect.
    late = event(18, T + 10, T + 60.2 + REPLAY_WINDOW + 1)
    assert replays.happened_at(late) is None
    assert merge_history([late, OUTAGE], limit=10) == [late, OUTAGE]
    # Without Last-Event-ID (a stream without ids) the server replays nothing; and when the
    # client saw no replay come, an event with an early server time is a clock's, not a replay.
    for none in (None, 0):
        assert Replays([Outage(T, T + 60, none, True, T + 60.2)]).happened_at(REPLAYED) is None
    assert Replays([OUTAGE]).happened_at(BEFORE) is None


def _history_of(*entries: FlagEvent | Outage) -> list[str]:
    journal = Journal.open(journal_path("prod"))
    for entry in entries:
        if isinstance(entry, Outage):
            journal.append_outage(entry)
        else:
            journal.append_events([entry])
    journal.flush()
    journal.close()
    result = CliRunner().invoke(cli, ["history", "checkout-v2", "--profile", "prod"])
    return result.output.splitlines()


def test_history_dates_a_replayed_event_when_it_happened_and_says_so() -> None:
    lines = _history_of(BEFORE, OUTAGE, REPLAYED)
    assert [line.split()[2] for line in lines] == ["outage", "event", "event"]
    assert lines[1].startswith(f"{stamp(T + 30)}  event       rule.updated  v16")
    note = f"(replayed: server time {clock(T + 30)}; received {clock(T + 60.2)})"
    assert lines[1].endswith(f"id 16  {note}")
    assert "replayed" not in lines[2]
    as_json = CliRunner().invoke(cli, ["history", "checkout-v2", "--profile", "prod", "--json"])
    rows = [json.loads(line) for line in as_json.output.splitlines()]
    events = [row for row in rows if row["kind"] == "event"]
    assert [row["replayed"] for row in events] == [True, False]


def test_history_shows_a_replayed_event_at_the_time_it_is_listed_by() -> None:
    # The server's clock ten minutes behind ours: its time would put the event before the one
    # received live before the outage, though it is listed above it.
    skewed = event(16, T - 600, T + 60.2)
    lines = _history_of(BEFORE, OUTAGE, skewed)
    assert [line.split()[2] for line in lines] == ["outage", "event", "event"]
    assert lines[1].startswith(f"{stamp(T)}  event       rule.updated  v16")
    assert lines[1].endswith(
        f"(replayed: server time {clock(T - 600)}; received {clock(T + 60.2)})"
    )
    times = [line[:19] for line in lines]
    assert times == sorted(times, reverse=True)


def test_outages_added_one_by_one_mark_what_the_whole_list_marks() -> None:
    """The feed receives outages as they come (ui/view/feed_store.py): in any order, twice."""
    later = Outage(T + 100, T + 160, 3, True, T + 160.2)
    replays = Replays(())
    for outage in (later, OUTAGE, later, Outage(T + 200, T + 260, 0, True, T + 260.2)):
        replays.add(outage)
    whole = Replays([OUTAGE, later])
    for entry in (REPLAYED, BEFORE, event(18, T + 130, T + 160.3), event(19, T + 130, T + 170)):
        assert replays.happened_at(entry) == whole.happened_at(entry)
        assert replays.outage_of(entry) == whole.outage_of(entry)
    assert replays.outage_of(REPLAYED) == OUTAGE
