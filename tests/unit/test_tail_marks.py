"""What `tail`'s text lines add under an event (cli/tail_marks.py, cli/render.py): that the
server replayed it after an outage (the rule of `history`: domain/history.py `Replays`).
`--json` is left as it was."""

from __future__ import annotations

import io
import json

from togul_monitor.cli.render import TailPrinter, clock
from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.values import Evaluation, FlagValue

T = 1_700_000_000.0  # the outage: down from T to T + 60, decided at T + 60.2
OUTAGE = Outage(T, T + 60, 2, False, T + 60.2)
NAMES = {"env-p": "production", "env-s": "staging"}
ON = Evaluation(True, "boolean", "default", True)


def printer(
    as_json: bool = False, contexts: tuple[str, ...] = ("default",)
) -> tuple[TailPrinter, io.StringIO]:
    out = io.StringIO()
    p = TailPrinter(
        out,
        io.StringIO(),
        as_json=as_json,
        environment_names=NAMES,
        url="http://h/s",
        environment_key="production",
        contexts=contexts,
    )
    return p, out


def event(
    version: int,
    timestamp: float,
    received_at: float,
    *,
    flag: str = "checkout-v2",
    env: str = "env-p",
    kind: str = "rule.updated",
) -> FlagEvent:
    return FlagEvent(kind, flag, env, version, timestamp, str(version), received_at)


def value(stale: bool, flag: str = "checkout-v2", context: str = "default") -> FlagValue:
    return FlagValue(flag, ON, None, T, None, stale, False, None, context)


def lines(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


# --- replayed ----------------------------------------------------------------------------------


def test_a_replayed_event_says_so_under_its_line_with_the_servers_time() -> None:
    p, out = printer()
    p.note(OUTAGE)
    p.events([event(16, T + 30, T + 60.3), event(17, T + 60, T + 60.3)])
    p.event(event(18, T + 59, T + 70))  # received past the replay's window: live
    replayed, live, late = [line for line in lines(out) if not line.startswith("  ↳ ")]
    assert lines(out) == [
        replayed,
        f"  ↳ replayed: server time {clock(T + 30)}; received {clock(T + 60.3)}",
        live,  # stamped in the reconnect's second: it may be a live change
        late,
    ]
    assert replayed.startswith(f"{clock(T + 60.3)}", 11) and replayed.endswith("v16")
    assert max(len(line) for line in lines(out)) <= 80


def test_without_an_outage_that_replayed_events_nothing_is_marked() -> None:
    p, out = printer()
    p.note(Outage(T, T + 60, 0, True, T + 60.2))  # nothing replayed: nothing re-sent
    p.note(Outage(T, T + 60, None, True, T + 60.2))  # no Last-Event-ID: nothing replayed
    p.event(event(16, T + 30, T + 60.3))
    assert len(lines(out)) == 1


def test_json_lines_are_left_as_they_were() -> None:
    p, out = printer(as_json=True)
    p.note(OUTAGE)
    p.events([event(16, T + 30, T + 60.3)])
    p.events([event(17, T + 61, T + 60.4)])
    p.flush()
    assert [json.loads(line)["kind"] for line in lines(out)] == ["event", "event"]
