"""Journal exports: JSONL (one event object per line) and CSV (the same fields as columns), and
reading JSONL back (re-import).

Each event is written as `FlagEvent.to_json()` plus the key of its environment
(`environment_key`, null when the journal never learnt it), with ISO-8601 times in UTC:
`timestamp` (the server's, whole seconds unless it had a fraction) as `2026-11-28T01:02:03Z`,
`received_at` with milliseconds, `2026-11-28T01:02:03.456Z`. The seconds are truncated, as
every clock the monitor shows them (cli/render.py, ui/view/format.py), so an export and a view
never disagree about the second an event arrived. A time no calendar can hold stays a number.

JSON is written with `ensure_ascii=True`: every control or non-ASCII character of a flag key is
an escape, so an export printed to a terminal can never move the cursor, and it round-trips:
JSONL is the exact export. CSV is for people and spreadsheets, on stdout or in a file: its text
is made safe to print (`cat changes.csv` runs no escape sequence), and a cell a spreadsheet
would take for a formula (starting with `=`, `+`, `-` or `@`: a flag key is the server's text)
starts with `'`.

An export carries what the monitor knew about the window its events cover, in time order
(store/export_window.py): every JSONL line has a `kind`. `event` (the event's fields),
`outage` (`started_at`, `ended_at`, `replayed`, `may_have_missed`, `received_at`: changes made
in it may be missing), `transition` (a value change, as `tail --json` prints it) and, with a
token profile, `diff` (what an event changed in a flag's rules, default or switch:
domain/flag_config.py; `at` an ISO time). A value change and a diff come after the event they
explain (they are computed after it arrives); a filtered export keeps those of the events it
exported, and every outage. CSV has a row per event, value change and outage (not the diffs):
the event's columns first, as they were when it held events only, then `kind` and the columns
of the other kinds (`CSV_COLUMNS`), empty where they do not apply.

`read_jsonl` takes back what `write_jsonl` wrote (and what `tail --json` prints: its event
lines, numeric times included; its other lines are skipped). The round trip keeps every field
but the sub-millisecond part of `received_at`; a second export of the re-imported events is
byte for byte the first.

A value transition written as JSON (`tail --json`, `history --json`: `transition_json`) names
the context it was evaluated for (`"context"`, always, `"default"` for a profile's single
context). `transition_from_json` reads either back; a line written before named contexts has no
`"context"`, and was evaluated for the single context: it reads as `default`.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO

from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.flag_config import diff_to_json
from togul_monitor.domain.values import (
    DEFAULT_CONTEXT,
    Evaluation,
    FlagValue,
    ValueTransition,
    evaluation_from_json,
    evaluation_to_json,
)
from togul_monitor.store.export_window import window_items
from togul_monitor.store.model import StoredDiff
from togul_monitor.support.isotime import from_iso
from togul_monitor.support.text import safe_text

#: An event's columns; the first eight of every CSV export, as they were when it held events only.
EVENT_COLUMNS = (
    "id",
    "type",
    "flag_key",
    "environment_id",
    "environment_key",
    "version",
    "timestamp",
    "received_at",
)
#: Then what the row is, and the columns of a value change and of an outage (empty elsewhere).
CSV_COLUMNS = (
    *EVENT_COLUMNS,
    "kind",
    "context",
    "before",
    "after",
    "includes_unseen",
    "started_at",
    "ended_at",
    "replayed",
    "may_have_missed",
)

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
    event: FlagEvent, environment_names: Mapping[str, str] | None = None
) -> dict[str, object]:
    """One exported event: `kind`, `to_json()`, the environment key after the id, ISO times."""
    data = with_environment_key(event, environment_names, kind="event")
    data["timestamp"] = iso_time(event.timestamp, millis=False)
    data["received_at"] = iso_time(event.received_at)
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


def write_jsonl(
    events: Iterable[FlagEvent],
    out: IO[str],
    environment_names: Mapping[str, str] | None = None,
    diffs: Iterable[StoredDiff] = (),
    *,
    all_diffs: bool = True,
    outages: Iterable[Outage] = (),
    transitions: Iterable[ValueTransition] = (),
    keep: Callable[[FlagEvent], bool] | None = None,
    tied: Iterable[tuple[FlagEvent, ValueTransition]] = (),
) -> int:
    """Events with the outages, value changes and diffs of their window, oldest first
    (store/export_window.py); the number of events. `keep`: the events a filter keeps;
    `all_diffs` False: `events` are a filter's, and only their changes go with them; `tied`:
    value changes with their events, as the caller knows them."""
    names = environment_names or {}
    n = 0
    for exported in window_items(
        events,
        outages=outages,
        diffs=diffs,
        transitions=transitions,
        tied=tied,
        keep=keep,
        filtered=not all_diffs,
    ):
        item = exported.item
        if type(item) is FlagEvent:
            row = event_json(item, names)
            n += 1
        elif isinstance(item, Outage):
            row = outage_json(item)
        elif isinstance(item, StoredDiff):
            row = diff_json(item, names)
        else:
            assert isinstance(item, ValueTransition)
            row = transition_json(item, names.get(exported.environment_id or ""))
        out.write(json.dumps(row, ensure_ascii=True, separators=(",", ":")))
        out.write("\n")
    return n


#: What a spreadsheet takes for the start of a formula in a cell it opens (`=HYPERLINK(…)`).
_FORMULA_STARTS = ("=", "+", "-", "@")


def csv_cell(value: object) -> object:
    """A cell's text as CSV holds it: control characters escaped (`cat` on the file must not
    run a server's escape sequence), and `'` before what would start a formula."""
    if isinstance(value, bool):
        return "true" if value else "false"  # as JSON writes it
    if not isinstance(value, str):
        return "" if value is None else value
    text = safe_text(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def write_csv(
    events: Iterable[FlagEvent],
    out: IO[str],
    *,
    environment_names: Mapping[str, str] | None = None,
    outages: Iterable[Outage] = (),
    transitions: Iterable[ValueTransition] = (),
    keep: Callable[[FlagEvent], bool] | None = None,
) -> int:
    """Events, value changes and outages, a row each (`CSV_COLUMNS`; the diffs are JSONL's
    only); the number of events."""
    names = environment_names or {}
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    n = 0
    for exported in window_items(events, outages=outages, transitions=transitions, keep=keep):
        item = exported.item
        if type(item) is FlagEvent:
            row = event_json(item, names)
            n += 1
        elif isinstance(item, Outage):
            row = outage_json(item)
        else:
            assert isinstance(item, ValueTransition)
            row = _transition_cells(item, exported.environment_id, names)
        writer.writerow([csv_cell(row.get(c)) for c in CSV_COLUMNS])
    return n


def _transition_cells(
    transition: ValueTransition, environment_id: str | None, names: Mapping[str, str]
) -> dict[str, object]:
    """A value change's CSV cells: its event's `id`, the values as JSON (`before` empty when
    there was none), `received_at` when the answer that found it came."""
    data = transition_json(transition, names.get(environment_id or ""))
    return {
        **data,
        "id": transition.event_id,
        "environment_id": environment_id,
        "received_at": data["at"],
        "before": _value_cell(transition.before),
        "after": _value_cell(transition.after),
    }


def _value_cell(evaluation: Evaluation | None) -> str | None:
    if evaluation is None:
        return None
    return json.dumps(evaluation.value, ensure_ascii=True)


class ImportError_(ValueError):
    """A JSONL line that is not an exported event (with its 1-based line number)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line


def read_jsonl(
    lines: Iterable[str], environment_names: dict[str, str] | None = None
) -> Iterator[FlagEvent]:
    """Events from an export, in order; blank lines skipped; a bad line raises ImportError_.

    `environment_names`, when given, learns each event's `environment_key` (id → key), for the
    journal the events go into (`Journal.set_environment_names`). Lines of another `kind` than
    `event` (a `tail --json` transition) are skipped."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise ImportError_(number, f"not JSON ({exc})") from None
        if not isinstance(data, dict):
            raise ImportError_(number, "not a JSON object")
        if data.get("kind", "event") != "event":
            continue
        for name in ("type", "flag_key", "environment_id"):
            if not isinstance(data.get(name), str):
                raise ImportError_(number, f"{name} must be a string")
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise ImportError_(number, "version must be an integer")
        timestamp, received_at = (
            parse_time(data.get("timestamp")),
            parse_time(data.get("received_at")),
        )
        if timestamp is None or received_at is None:
            raise ImportError_(
                number, "timestamp and received_at must be ISO-8601 times in UTC or numbers"
            )
        event_id = data.get("id")
        if event_id is not None and not isinstance(event_id, str):
            raise ImportError_(number, "id must be a string or null")
        key = data.get("environment_key")
        if key is not None and not isinstance(key, str):
            raise ImportError_(number, "environment_key must be a string or null")
        if key and environment_names is not None:
            environment_names[data["environment_id"]] = key
        yield FlagEvent(
            type=data["type"],
            flag_key=data["flag_key"],
            environment_id=data["environment_id"],
            version=version,
            timestamp=timestamp,
            event_id=event_id,
            received_at=received_at,
        )
