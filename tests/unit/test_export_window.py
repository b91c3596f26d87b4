"""What an export writes beside its events, without event ids (store/export_window.py)."""

from __future__ import annotations

import io
import json

from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.store.export import write_jsonl

ON = Evaluation(True, "boolean", "default", True)


def event(key: str, env: str, at: float) -> FlagEvent:
    return FlagEvent("flag.updated", key, env, 1, 100, None, at)


def exported(**options: object) -> list[tuple[str, object, object]]:
    events = [event("a", "env-p", 10.0), event("b", "env-s", 11.0), event("a", "env-p", 40.0)]
    changes = [
        ValueTransition("a", None, ON, None, 10.3),  # its event's answer
        ValueTransition("b", None, ON, None, 11.2),
        ValueTransition("a", None, ON, None, 200.0),  # long after any event: a re-evaluation
    ]
    out = io.StringIO()
    outage = Outage(20.0, 30.0, None, True, 30.0)
    write_jsonl(
        events, out, {"env-p": "production"}, transitions=changes, outages=[outage], **options
    )  # type: ignore[arg-type]
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    return [(r["kind"], r.get("flag_key"), r.get("environment_key")) for r in rows]


def test_a_change_without_an_id_goes_with_the_event_it_answered() -> None:
    assert exported() == [
        ("event", "a", "production"),
        ("transition", "a", "production"),
        ("event", "b", None),
        ("transition", "b", None),
        ("outage", None, None),
        ("event", "a", "production"),
        ("transition", "a", None),  # tied to no event: its environment is not known
    ]


def test_a_filtered_export_keeps_every_outage_and_the_changes_of_its_events() -> None:
    assert exported(keep=lambda e: e.flag_key == "a") == [
        ("event", "a", "production"),
        ("transition", "a", "production"),
        ("outage", None, None),
        ("event", "a", "production"),
    ]
