"""The JSON shape of each line an export writes, and of `tail --json` and `history --json`:
an event, an outage, a value change, a flag's first value, a configuration diff; and the ISO-8601
times they carry (store/export.py says what an export holds and in what order).

Each event is written as `FlagEvent.to_json()` plus the key of its environment
(`environment_key`, null when the journal never learnt it), with ISO-8601 times in UTC:
`timestamp` (the server's, whole seconds unless it had a fraction) as `2026-11-28T01:02:03Z`,
`received_at` with milliseconds, `2026-11-28T01:02:03.456Z`. The seconds are truncated, as
every clock the monitor shows them (cli/render.py, ui/view/format.py), so an export and a view
never disagree about the second an event arrived. A time no calendar can hold stays a number.

A value transition written as JSON (`tail --json`, `history --json`: `transition_json`) names
the context it was evaluated for (`"context"`, always, `"default"` for a profile's single
context). `transition_from_json` reads either back; a line written before named contexts has no
`"context"`, and was evaluated for the single context: it reads as `default`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence

from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.flag_config import diff_to_json
from togul_monitor.domain.values import (
    DEFAULT_CONTEXT,
    FlagValue,
    ValueTransition,
    evaluation_from_json,
    evaluation_to_json,
)
from togul_monitor.store.model import StoredDiff
from togul_monitor.support.isotime import from_iso

_UTC = dt.timezone.utc


def iso_time(ts: float, *, millis: bool = True) -> str | float:
    """`ts` (Unix seconds) as ISO-8601 UTC: `…T01:02:03.456Z` (`millis`), else `…T01:02:03Z`
    for a whole second and milliseconds otherwise. Truncated to the millisecond (after the
    microsecond rounding of `datetime`, which keeps a re-read time stable). `ts` itself when no
    calendar can hold it (a server's timestamp is data: 1e300 is possible)."""
    try:
        moment = dt.datetime.fromtimestamp(ts, _UTC)
    except (OverflowError, OSError, ValueError):
        return ts
    # isoformat truncates to the millisecond, and writes a year before 1000 with four digits.
    spec = "milliseconds" if millis or moment.microsecond else "seconds"
    return moment.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def parse_time(value: object) -> float | None:
    """A time as `iso_time` writes it (or Unix seconds, as `tail --json` prints them); None if
    it is neither. A whole second comes back as an int, as the journal returns it."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if not isinstance(value, str):
        return None
    try:
        moment = from_iso(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None  # an export always names UTC: a time without a zone is not one of ours
    seconds = moment.timestamp()
    if moment.microsecond == 0 and math.isfinite(seconds):
        return int(seconds)
    return seconds


def with_environment_key(
    event: FlagEvent, environment_names: Mapping[str, str] | None, **first: object
) -> dict[str, object]:
    """`event.to_json()` after the fields `first`, with `environment_key` (None when unknown)
    after `environment_id`: the shape of `tail --json`, `history --json` and the exports."""
    key = (environment_names or {}).get(event.environment_id) or None
    data: dict[str, object] = dict(first)
    for name, value in event.to_json().items():
        data[name] = value
        if name == "environment_id":
            data["environment_key"] = key
    return data


def event_json(
    event: FlagEvent,
    environment_names: Mapping[str, str] | None = None,
    with_next: Sequence[str] = (),
) -> dict[str, object]:
    """One exported event: `kind`, `to_json()`, the environment key after the id, ISO times;
    `evaluated_with_next` as `with_next_json` says."""
    data = with_environment_key(event, environment_names, kind="event")
    data["timestamp"] = iso_time(event.timestamp, millis=False)
    data["received_at"] = iso_time(event.received_at)
    return with_next_json(data, with_next)


#: The contexts an event was evaluated with its flag's next change in, not on its own.
WITH_NEXT_KEY = "evaluated_with_next"


def with_next_json(data: dict[str, object], contexts: Sequence[str]) -> dict[str, object]:
    """An event's line with `"evaluated_with_next": [contexts]` when it was evaluated with its
    flag's next change in them (domain/merged.py), `history --json`'s and the exports' key.
    Only then: a journal that does not say leaves the key out, claiming nothing."""
    if contexts:
        data[WITH_NEXT_KEY] = list(contexts)
    return data


def diff_json(
    stored: StoredDiff, environment_names: Mapping[str, str] | None = None
) -> dict[str, object]:
    """One exported configuration diff: `diff_to_json` with the environment's key and `at`."""
    data: dict[str, object] = {"kind": "diff", **diff_to_json(stored.diff)}
    data["environment_key"] = (environment_names or {}).get(stored.diff.environment_id) or None
    data["at"] = iso_time(stored.at)
    return data


def outage_json(outage: Outage) -> dict[str, object]:
    """One exported outage: `history --json`'s, with ISO times. `may_have_missed`: changes
    made between `started_at` and `ended_at` may be missing from the export."""
    return {
        "kind": "outage",
        "started_at": iso_time(outage.started_at),
        "ended_at": iso_time(outage.ended_at),
        "replayed": outage.replayed,
        "may_have_missed": outage.may_have_missed,
        "received_at": iso_time(outage.received_at),
    }


def transition_json(
    transition: ValueTransition, environment_key: str | None = None
) -> dict[str, object]:
    """One value transition as `tail --json` prints it: `kind`, the flag, the environment's
    key, before and after, the event's id, `at` an ISO time, the context, and whether the
    change may hold some the stream did not show (`ValueTransition.includes_unseen`)."""
    return {
        "kind": "transition",
        "flag_key": transition.flag_key,
        "environment_key": environment_key or None,
        "before": evaluation_to_json(transition.before),
        "after": evaluation_to_json(transition.after),
        "event_id": transition.event_id,
        "at": iso_time(transition.at),
        "context": transition.context,
        "includes_unseen": transition.includes_unseen,
    }


def found_json(
    transition: ValueTransition, environment_key: str | None = None
) -> dict[str, object]:
    """A value change no event explains (`found`): found by a re-evaluation of its own, after
    an outage whose events were lost, `r` or a start. A transition's fields but the event's id
    (it has none), `at` when it was found; `environment_key` null when not known (a journal's
    row written before the journal recorded a change's environment). `tail --json` writes the
    same line of it, so that one change has one name (cli/render.py)."""
    line = transition_json(transition, environment_key)
    del line["event_id"]
    return {**line, "kind": "found"}  # the key keeps its place, first


def first_value_json(value: FlagValue, environment_key: str | None = None) -> dict[str, object]:
    """A flag's first value, which one of its events asked for (`tail --json`): as a
    transition with `value` for `before` and `after` (there is no before), `event_id` the
    event's when the stream sends ids."""
    return {
        "kind": "first_value",
        "flag_key": value.flag_key,
        "environment_key": environment_key or None,
        "value": evaluation_to_json(value.current),
        "event_id": value.trigger_event_id,
        "at": iso_time(value.evaluated_at) if value.evaluated_at is not None else None,
        "context": value.context,
    }


def transition_from_json(data: Mapping[str, object]) -> ValueTransition:
    """A transition object back (`transition_json`, or `history --json`'s with a numeric
    `at`); ValueError when it is not one. No `context` (written before named contexts): the
    profile's single context, `default`."""
    flag_key, event_id = data.get("flag_key"), data.get("event_id")
    if not isinstance(flag_key, str):
        raise ValueError("flag_key must be a string")
    if event_id is not None and not isinstance(event_id, str):
        raise ValueError("event_id must be a string or null")
    at = parse_time(data.get("at"))
    if at is None:
        raise ValueError("at must be an ISO-8601 time in UTC or a number")
    context = data.get("context", DEFAULT_CONTEXT)
    if not isinstance(context, str) or not context:
        raise ValueError("context must be a non-empty string")
    return ValueTransition(
        flag_key,
        evaluation_from_json(data.get("before")),
        evaluation_from_json(data.get("after")),
        event_id,
        at,
        context,
        data.get("includes_unseen") is True,
    )
