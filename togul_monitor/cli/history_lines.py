"""The lines of `togul-monitor history FLAG` (cli/journal.py): each entry as text or JSON, the
journal's configuration diffs merged in above the events they explain.

An event whose own re-evaluation was merged into the next one's (a burst: core/coalesce.py) gets
`  ↳ checkout-v2 (production): v7 evaluated with the next change` under it, as `tail` prints it
(cli/tail_marks.py), and `--json` its contexts (`"evaluated_with_next"`): without it, "nothing
changed" and "not evaluated on its own" read alike. Only what the journal's answers say
(domain/merged.py): an event journalled before they were kept gets nothing, as before.

A value transition is of one of the profile's contexts: `history` names it (`value       [premium]
false → true`) when the profile or its journal has several contexts, or a transition shown is of
a named one, and `--json` always carries it (`"context"`).

A value change that names no event and that no event explains, by the rule `export` and the
TUI tie changes by (domain/change_owners.py), reads `(found on re-evaluation)`: decided for each
change, not for the journal (`found_by_reevaluation`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar, cast

from togul_monitor.cli.times import clock, replay_words, stamp
from togul_monitor.domain.change_owners import ChangeOwners
from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.flag_config import CONDITION_SHOWN, describe, summary
from togul_monitor.domain.history import (
    FoundCopies,
    FoundDiff,
    HistoryEntry,
    Replays,
    entry_time,
)
from togul_monitor.domain.merged import WITH_NEXT
from togul_monitor.domain.values import (
    DEFAULT_CONTEXT,
    UNSEEN_NOTE,
    Evaluation,
    ValueTransition,
    evaluation_to_json,
)
from togul_monitor.store.model import StoredDiff
from togul_monitor.support.text import safe_text

E = TypeVar("E")


def _show_value(evaluation: Evaluation | None, missing: str = "deleted") -> str:
    """`missing`: a value before (`∅`: created, or back) or after (`deleted`, as `tail` says)."""
    data = evaluation_to_json(evaluation)
    if data is None:
        return missing
    value = json.dumps(data["value"], ensure_ascii=True)
    extra = [data["reason"] or "?", "enabled" if data["enabled"] else "disabled"]
    if data["value_type"] is None:
        extra.append("unknown type")
    return f"{value} ({', '.join(extra)})"


def found_by_reevaluation(
    entries: Iterable[object],
    environment_id: str | None = None,
    environment_names: Mapping[str, str] | None = None,
) -> Callable[[ValueTransition], bool]:
    """Whether a value change was found by a re-evaluation of its own (after an outage, `r`, a
    start): it names no event, and no event among `entries` explains it, by the rule `export`
    (`found`) and the TUI's rows tie it by (domain/change_owners.py; `environment_id` the
    profile's, `environment_names` the journal's). Decided per change: a journal may hold a
    server's life with ids and one without, and a change of an event sent without an id is
    that event's."""
    owners = ChangeOwners(environment_id, environment_names=environment_names)
    events = [e for e in entries if isinstance(e, FlagEvent)]
    for event in sorted(events, key=lambda e: e.received_at):  # in the order received
        owners.add(event)
    return lambda change: change.event_id is None and owners.owner(change) is None


def history_line(
    entry: FlagEvent | ValueTransition | Outage,
    environment_names: Mapping[str, str] | None = None,
    *,
    show_context: bool = False,
    found: bool = False,
    happened: float | None = None,
) -> str:
    """One row of `history`; `show_context`: a transition names its context (see
    `names_contexts`); `found`: the transition was found on a re-evaluation of its own (see
    `found_by_reevaluation`), and says so. `happened`: the event came in the
    replay after an outage, and happened then (domain/history.py `Replays.happened_at`): it is
    dated so, as the list is ordered, and its note keeps the server's time and when it came."""
    if isinstance(entry, FlagEvent):
        ident = f"  id {safe_text(entry.event_id)}" if entry.event_id is not None else ""
        # The environment's key, from the journal; the start of its id when it never learnt it.
        env = (environment_names or {}).get(entry.environment_id) or entry.environment_id[:8]
        at, note = entry.received_at, ""
        if happened is not None:
            at, note = happened, _replay_note(entry)
        return (
            f"{stamp(at)}  event       {safe_text(entry.type):<13} "
            f"v{entry.version}  env {safe_text(env)}{ident}{note}"
        )
    if isinstance(entry, ValueTransition):
        cause = ""
        if entry.event_id is not None:
            cause = f"  by event {safe_text(entry.event_id)}"
        elif found:
            cause = "  (found on re-evaluation)"
        if entry.includes_unseen and not found:
            cause += f"  ({UNSEEN_NOTE})"
        context = f"[{safe_text(entry.context)}] " if show_context else ""
        return (
            f"{stamp(entry.at)}  value       {context}{_show_value(entry.before, '∅')} → "
            f"{_show_value(entry.after)}{cause}"
        )
    missed = "may have missed events" if entry.may_have_missed else "nothing missed"
    return (
        f"{stamp(entry.received_at)}  outage      disconnected {clock(entry.started_at)}"
        f"–{clock(entry.ended_at)} ({missed})"
    )


def merged_line(
    event: FlagEvent,
    contexts: tuple[str, ...],
    environment_names: Mapping[str, str] | None = None,
    all_contexts: Iterable[str] = (),
) -> str:
    """The line under an event evaluated with its flag's next change in `contexts`
    (domain/merged.py `merged_events`); they are named when the profile has several
    (`all_contexts`) and they are not all of them, as `tail` names them."""
    env = (environment_names or {}).get(event.environment_id) or event.environment_id[:8]
    every = set(all_contexts)
    named = ""
    if len(every) > 1 and not every.issubset(contexts):
        named = f" [{', '.join(safe_text(name) for name in contexts)}]"
    lead = f"  ↳ {safe_text(event.flag_key)}{named} ({safe_text(env)})"
    return f"{lead}: v{event.version} {WITH_NEXT}"


def _replay_note(event: FlagEvent) -> str:
    return f"  ({replay_words(event.timestamp, event.received_at)})"


def history_json(
    entry: FlagEvent | ValueTransition | Outage,
    environment_names: Mapping[str, str] | None = None,
    *,
    replayed: bool = False,
    with_next: tuple[str, ...] = (),
    found: bool = False,
) -> dict[str, object]:
    """`with_next`: the contexts the event was evaluated with the next change in (a key only
    then: a journal that does not say leaves it out, claiming nothing); `found`: a value change
    no event explains (`found_by_reevaluation`), a `found` line as `export` and `tail --json`
    write one: a transition's fields but the event's id."""
    from togul_monitor.domain.values import transition_to_json
    from togul_monitor.store.export_json import with_environment_key, with_next_json

    if isinstance(entry, FlagEvent):
        data = {
            **with_environment_key(entry, environment_names, kind="event"),
            "replayed": replayed,
        }
        return with_next_json(data, with_next)
    if isinstance(entry, ValueTransition):
        if found:
            fields = transition_to_json(entry)
            del fields["event_id"]
            return {"kind": "found", **fields}
        return {"kind": "transition", **transition_to_json(entry)}
    return {"kind": "outage", **entry.to_json()}


def names_contexts(entries: Iterable[object], contexts: Iterable[str] = ()) -> bool:
    """Whether the transitions among `entries` need their context named: there are several
    `contexts` (the profile's, the journal's), or some transition is of a named one. A journal
    of a profile with its single context only reads as it always did."""
    return len(set(contexts)) > 1 or any(
        isinstance(entry, ValueTransition) and entry.context != DEFAULT_CONTEXT for entry in entries
    )


def in_context_order(entries: Sequence[E], order: Sequence[str]) -> list[E]:
    """`entries` with each event's value changes (adjacent, of one flag and event id) in the
    profile's context order (`order`: `default` first, then as the file lists them; contexts
    only the journal knows after those, by name), whatever order the contexts answered in.
    A change of no event (found by a re-evaluation) stays where its time puts it."""
    rank = {context: index for index, context in enumerate(order)}
    out: list[E] = []
    run: list[ValueTransition] = []

    def flush() -> None:
        run.sort(key=lambda t: (rank.get(t.context, len(rank)), t.context))
        out.extend(cast("list[E]", run))
        run.clear()

    for entry in entries:
        if isinstance(entry, ValueTransition) and entry.event_id is not None:
            if run and (run[0].flag_key, run[0].event_id) != (entry.flag_key, entry.event_id):
                flush()
            run.append(entry)
            continue
        flush()
        out.append(entry)
    flush()
    return out


MAX_DIFF_LINES = 10  # lines of one configuration diff `history` shows under its summary
_INDENT = " " * 21  # under the kind column


def diff_lines(stored: StoredDiff) -> list[str]:
    """A configuration diff: its summary, then a line per change (indented); one change only
    when it is a rule's, whose line names the rule by its condition too."""
    d = stored.diff
    cause = f"  by event {safe_text(d.event_id)}" if d.event_id is not None else ""
    if not cause:
        cause = f"  (v{d.version})" if d.version is not None else "  (found on a re-fetch)"
    lines = [f"{stamp(stored.at)}  config      {summary(d)}{cause}"]
    named = any(change.rule_id is not None for change in d.changes)
    details = describe(d, CONDITION_SHOWN) if len(d.changes) > 1 or named else []
    lines += [f"{_INDENT}{line}" for line in details[:MAX_DIFF_LINES]]
    if len(details) > MAX_DIFF_LINES:
        lines.append(f"{_INDENT}… {len(details) - MAX_DIFF_LINES} more changes")
    return lines


def with_diffs(
    entries: list[HistoryEntry],
    diffs: list[StoredDiff],
    limit: int,
    replays: Replays | None = None,
) -> list[FlagEvent | ValueTransition | Outage | StoredDiff]:
    """Both lists (newest first) merged newest first; a diff above the event it explains. The
    journal's history holds no `FoundDiff`: its diffs are `diffs`, each once. `replays`: the
    outages' among `entries`, when the caller has them already."""

    def when(item: FlagEvent | ValueTransition | Outage | StoredDiff) -> float:
        return item.at if isinstance(item, StoredDiff) else entry_time(item, known)

    kept = [entry for entry in entries if not isinstance(entry, FoundDiff)]
    known = Replays(kept) if replays is None else replays
    copies = FoundCopies()  # one change two recorders found: one row, as in the history pane
    diffs = [
        d
        for d in diffs
        if not (d.diff.found_by_refetch and copies.is_copy(FoundDiff(d.diff, d.at)))
    ]
    merged: list[FlagEvent | ValueTransition | Outage | StoredDiff] = [*kept, *diffs]
    merged.sort(key=lambda item: (-when(item), not isinstance(item, StoredDiff)))
    return merged[:limit]
