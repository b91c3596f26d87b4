"""`tail --json` writes each outage it says on stderr to stdout too, as an `outage` line in
order with the events (cli/tail_output.py `OutageCauses`, cli/render.py `TailPrinter.note`): a
program reading the JSON learns that the stream had a gap, and what an `outage_proven` line
after it proves."""

from __future__ import annotations

import io
import json

from togul_monitor.cli.history_lines import history_json
from togul_monitor.cli.render import TailPrinter
from togul_monitor.cli.tail_output import OutageCauses
from togul_monitor.domain.events import (
    ConnectionState,
    FlagEvent,
    Outage,
    OutageProven,
    Status,
)

T0 = 1_700_000_000.0
URL = "http://h/s"
LIVE, RETRYING = ConnectionState.LIVE, ConnectionState.RETRYING


def printer(as_json: bool = True) -> tuple[TailPrinter, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return TailPrinter(out, err, as_json=as_json, environment_names={}, url=URL), out, err


def event(version: int, at: float) -> FlagEvent:
    return FlagEvent("flag.updated", "checkout", "env-1", version, at, str(version), at)


def test_a_lost_connection_is_a_line_between_the_events_with_what_lost_it() -> None:
    tail, out, err = printer()
    tail.note(Status(LIVE, at=T0))
    tail.events([event(1, T0 + 1)])
    # What lost the connection, then why it stayed down: the first is the cause.
    tail.note(Status(RETRYING, at=T0 + 2, attempt=1, error="server ended the stream"))
    tail.note(Status(RETRYING, at=T0 + 3, attempt=2, error="HTTP 503 from the server"))
    tail.note(Status(LIVE, at=T0 + 5))
    outage = Outage(T0 + 2, T0 + 5, 1, True, T0 + 5.5)
    tail.note(outage)
    tail.events([event(2, T0 + 4)])  # the event the server replayed for it
    tail.flush()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["kind"] for line in lines] == ["event", "outage", "event"]
    assert lines[1] == {
        "kind": "outage",
        "started_at": T0 + 2,
        "ended_at": T0 + 5,
        "replayed": 1,
        "may_have_missed": True,
        "received_at": T0 + 5.5,
        "cause": "connection_lost",
        "error": "server ended the stream",
    }
    # The names and the times of history --json's outage, where they overlap.
    assert history_json(outage).items() <= lines[1].items()
    # stderr says it as it always did.
    assert sum("outage " in line for line in err.getvalue().splitlines()) == 1


def test_a_recording_runs_time_between_runs_is_not_watched() -> None:
    causes = OutageCauses()
    causes.status(Status(ConnectionState.CONNECTING, at=T0 + 100), None, None)
    causes.status(Status(LIVE, at=T0 + 101), ConnectionState.CONNECTING, None)
    # The earlier run stopped watching at T0: the outage ends when this run was first live.
    between = causes.line(Outage(T0, T0 + 101, 3, False, T0 + 101.2))
    assert (between["cause"], between["error"], between["replayed"]) == ("not_watched", None, 3)
    causes.status(Status(ConnectionState.CONNECTING, at=T0 + 200), LIVE, None)  # a restart
    causes.status(Status(LIVE, at=T0 + 201), ConnectionState.CONNECTING, None)
    restarted = causes.line(Outage(T0 + 200, T0 + 201, None, True, T0 + 202))
    assert (restarted["cause"], restarted["error"]) == ("connection_lost", None)


def test_each_outage_names_only_what_lost_its_own_connection() -> None:
    causes = OutageCauses()
    causes.status(Status(LIVE, at=T0), None, None)
    causes.status(Status(RETRYING, at=T0 + 1, error="x"), LIVE, "timed out")
    causes.status(Status(LIVE, at=T0 + 2), RETRYING, None)
    assert causes.line(Outage(T0 + 1, T0 + 2, None, True, T0 + 3))["error"] == "timed out"
    causes.status(Status(ConnectionState.CONNECTING, at=T0 + 4), LIVE, None)
    causes.status(Status(LIVE, at=T0 + 5), ConnectionState.CONNECTING, None)
    assert causes.line(Outage(T0 + 4, T0 + 5, None, True, T0 + 6))["error"] is None


def test_the_proof_follows_the_outage_line_it_proves() -> None:
    tail, out, _ = printer()
    tail.note(Status(LIVE, at=T0))
    tail.note(Status(RETRYING, at=T0 + 1, error="server ended the stream"))
    tail.note(Status(LIVE, at=T0 + 2))
    reported = Outage(T0 + 1, T0 + 2, 0, True, T0 + 3)
    tail.note(reported)
    tail.note(OutageProven(Outage(T0 + 1, T0 + 2, 0, False, T0 + 3, proven_at=T0 + 9)))
    tail.flush()
    first, proof = (json.loads(line) for line in out.getvalue().splitlines())
    assert (first["kind"], proof["kind"]) == ("outage", "outage_proven")
    naming = ("started_at", "ended_at", "received_at")
    assert [first[name] for name in naming] == [proof[name] for name in naming]


def test_text_tail_keeps_outages_on_stderr_only() -> None:
    tail, out, err = printer(as_json=False)
    tail.note(Status(LIVE, at=T0))
    tail.note(Outage(T0 - 50, T0, None, True, T0 + 1))
    tail.flush()
    assert out.getvalue() == ""
    assert "outage " in err.getvalue()
