"""Journal exports: JSONL (one object per line) and CSV (the same fields as columns), and
reading JSONL back (re-import). Each line's JSON shape, and the ISO-8601 times in it, are
store/export_json.py's.

JSON is written with `ensure_ascii=True`: every control or non-ASCII character of a flag key is
an escape, so an export printed to a terminal can never move the cursor, and it round-trips:
JSONL is the exact export. CSV is for people and spreadsheets, on stdout or in a file: its text
is made safe to print (`cat changes.csv` runs no escape sequence), and a cell a spreadsheet
would take for a formula (starting with `=`, `+`, `-` or `@`: a flag key is the server's text)
starts with `'`.

An export carries what the monitor knew about the window its events cover, in time order
(store/export_window.py): every JSONL line has a `kind`. `event` (the event's fields),
`outage` (`started_at`, `ended_at`, `replayed`, `may_have_missed`, `received_at`: changes made
in it may be missing), `transition` (a value change, as `tail --json` prints it), `found` (a
value change no event explains, found by a re-evaluation of its own) and, with a token profile,
`diff` (what an event changed in a flag's rules, default or switch: domain/flag_config.py; `at`
an ISO time). A value change and a diff come after the event they explain (they are computed
after it arrives); a filtered export keeps those of the events it exported, the `found` ones
its filter keeps, and every outage. CSV has a row per event, value change and outage (not the
diffs): the event's columns first, as they were when it held events only, then `kind` and the
columns of the other kinds (`CSV_COLUMNS`), empty where they do not apply.

An event whose re-evaluation was merged into its flag's next one (a burst: a flag is asked
about at most once a second) was never evaluated on its own: its line has
`"evaluated_with_next": [contexts]`, as `history --json` has it, and its CSV row the contexts in
the last column (`evaluated_with_next`, space-separated). `togul-monitor export` knows it from
the journal's answers (domain/merged.py, the rule of `history`), the TUI's `e` from what its
feed rows say; an event nothing says it of (a journal recorded before the answers were kept)
has neither.

`read_jsonl` takes back what `write_jsonl` wrote (and what `tail --json` prints: its event
lines, numeric times included; its other lines are skipped). The round trip keeps every field
but the sub-millisecond part of `received_at`; a second export of the re-imported events is
byte for byte the first.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO

from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.merged import MergedAnswer
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.store.export_json import (
    WITH_NEXT_KEY,
    diff_json,
    event_json,
    found_json,
    outage_json,
    parse_time,
    transition_json,
)
from togul_monitor.store.export_window import Exported, Found, Tied, window_items
from togul_monitor.store.model import StoredDiff
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
#: Then what the row is, and the columns of a value change and of an outage (empty elsewhere),
#: and an event's contexts it was evaluated with its flag's next change in (space-separated).
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
    WITH_NEXT_KEY,
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
    tied: Iterable[Tied] = (),
    found: Iterable[Found] = (),
    environment_id: str | None = None,
    answers: Iterable[MergedAnswer] = (),
    with_next: Callable[[FlagEvent], tuple[str, ...]] | None = None,
) -> int:
    """Events with the outages, value changes and diffs of their window, oldest first
    (store/export_window.py); the number of events. `keep`: the events a filter keeps;
    `all_diffs` False: `events` are a filter's, and only their changes go with them; `tied`:
    value changes with their events, as the caller knows them; `found`: the caller's value
    changes of no event, with their environment's id; `environment_id`: the profile's, whose
    events alone explain a change of `transitions` that recorded no environment, as
    `environment_names` names those of one that did (None: not known; those no event explains
    are written with the environment they recorded: store/export_window.py); `answers` (the
    journal's) or `with_next` (the caller's): which events were evaluated with their flag's next
    change."""
    names = environment_names or {}
    n = 0
    for exported in window_items(
        events,
        outages=outages,
        diffs=diffs,
        transitions=transitions,
        tied=tied,
        found=found,
        keep=keep,
        filtered=not all_diffs,
        environment_id=environment_id,
        answers=answers,
        with_next=with_next,
        environment_names=names,
    ):
        n += type(exported.item) is FlagEvent
        out.write(json.dumps(_item_json(exported, names), ensure_ascii=True, separators=(",", ":")))
        out.write("\n")
    return n


def _item_json(exported: Exported, names: Mapping[str, str]) -> dict[str, object]:
    """An item of the window as its JSONL line says it (each `kind`'s shape: export_json.py)."""
    item = exported.item
    if type(item) is FlagEvent:
        return event_json(item, names, exported.with_next)
    if isinstance(item, Outage):
        return outage_json(item)
    if isinstance(item, StoredDiff):
        return diff_json(item, names)
    assert isinstance(item, ValueTransition)
    key = names.get(exported.environment_id or "")
    if not exported.found:
        return transition_json(item, key)
    # Of no event: the environment the caller names, else the one the journal recorded.
    return found_json(item, key if key is not None else item.environment_key)


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
    environment_id: str | None = None,
    answers: Iterable[MergedAnswer] = (),
) -> int:
    """Events, value changes and outages, a row each (`CSV_COLUMNS`; the diffs are JSONL's
    only); the number of events. `environment_id`, `answers`: as `write_jsonl`'s."""
    names = environment_names or {}
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    n = 0
    window = window_items(
        events,
        outages=outages,
        transitions=transitions,
        keep=keep,
        environment_id=environment_id,
        answers=answers,
        environment_names=names,
    )
    for exported in window:
        item = exported.item
        n += type(item) is FlagEvent
        row = _item_json(exported, names)
        if isinstance(item, ValueTransition):
            row = _transition_cells(exported, item, row)
        elif exported.with_next:
            row[WITH_NEXT_KEY] = " ".join(exported.with_next)  # a name has no space
        writer.writerow([csv_cell(row.get(c)) for c in CSV_COLUMNS])
    return n


def _transition_cells(
    exported: Exported, transition: ValueTransition, data: Mapping[str, object]
) -> dict[str, object]:
    """A value change's CSV cells from its JSONL line `data`: its event's `id` (none for one
    `found`), the values as JSON (`before` empty when there was none), `received_at` when the
    answer that found it came."""
    return {
        **data,
        "id": transition.event_id,
        "environment_id": exported.environment_id,
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
