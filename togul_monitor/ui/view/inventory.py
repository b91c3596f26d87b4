"""The flag inventory's rows, without Textual: every flag of the environment with its switch,
default, rules, the profile's value and its last change, sorted three ways.

Where each part comes from:
- the configuration (type, on/off, default, rules): the monitor's snapshot of the flags'
  configurations (`MonitorSnapshot.flag_configs`, core/configs.py), which needs a token
  profile; without one the flags known from the values and the events are listed, with what
  those say;
- the value: what the monitor holds for the profile's (first) context (`MonitorSnapshot.values`;
  with several the header names it); while the stream is silent or not live it may be out of
  date, and the header says so as the values pane's title does (`Doubt.note`, view/doubt.py);
- while the server refuses the token, the configuration is the last one read, no longer followed:
  the header says how long ago it was last read (`stale_configs`, view/config_stop.py) and the
  screen marks its columns; a row whose flag had an event after its own read (the refused
  re-fetch's, or any since), or whose value a re-evaluation of its own found changed then, is
  marked too (`old_config`): its columns predate that change;
- the last change: the newest of the flag's last event the view received, with its diff when
  known (view/config_diffs.py), a change found by a re-fetch, and a value change found by a
  re-evaluation of its own (view/found.py); else the server's `updated_at`. A re-fetch's diff
  and a found value change of one re-evaluation of everything are one change: the diff, which
  says what changed in the configuration, is shown.
  The events name flags the server chooses: only the `max_flags` most recently changed flags
  are remembered (`ConfigDiffs`), so flags known from events alone are at most that many.
- deleted flags stay listed (their value or their last event says so) but are not flags of the
  environment: the header counts them apart (`state_line`).

Server text is escaped here (`safe_text`, `show`); the screen appends it as plain Text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import msgspec

from togul_monitor.domain.flag_config import FlagConfig, rule_condition, rule_to_json, show, summary
from togul_monitor.domain.values import FlagValue, ValueTransition
from togul_monitor.support.isotime import from_iso
from togul_monitor.support.text import safe_text
from togul_monitor.ui.handle import MonitorHandle
from togul_monitor.ui.view.change import value_text
from togul_monitor.ui.view.config_diffs import ConfigDiffs
from togul_monitor.ui.view.config_stop import (
    MET_WITHIN,
    found_since_read,
    older_than_change,
    stale_configs,
)
from togul_monitor.ui.view.doubt import Doubt, doubt_of
from togul_monitor.ui.view.found import TYPE_CELL, change_alone
from togul_monitor.ui.view.status import silence
from togul_monitor.ui.view.value_columns import NOT_EVALUATED, WAITING, shows_stale

if TYPE_CHECKING:  # the monitor's modules load after the first frame (ui/app.py)
    from togul_monitor.core import MonitorSnapshot
    from togul_monitor.core.updates import ConfigsStopped

SORTS: tuple[str, ...] = ("key", "last change", "type")
SHOWN = 24  # characters of a default or a rule's return value


class InventoryRow(msgspec.Struct, frozen=True):
    key: str  # the flag key as the server sent it (the row's id)
    label: str  # the key, safe to print
    value_type: str  # "" when not known
    enabled: bool | None  # None: no configuration known
    default: str
    rules: int | None
    rules_line: str
    value: str  # what the profile's context gets
    changed_at: float | None
    change: str  # what the last change was
    stale: bool = False  # the value is asked for again: the cell marks it (`STALE_MARK`)
    old_config: bool = False  # diffs stopped, and the flag changed since its configuration's read
    deleted: bool = False  # listed, but gone from the server: counted apart (`state_line`)


class Inventory(msgspec.Struct, frozen=True):
    rows: list[InventoryRow]
    state: str  # one line: how complete the list is, and why
    stale: str = ""  # while the stream is silent or not live: the values may be out of date
    stale_configs: str = ""  # while the token is refused: the configuration is not followed


def rules_line(config: FlagConfig) -> str:
    """The rules in one line, in the order they are tried: `plan in premium → true; …`."""
    parts = []
    for rule in config.rules:
        text = rule_condition(rule_to_json(rule))
        if rule.rule_type == "percentage" and rule.rollout_percentage is not None:
            text += f" {show(rule.rollout_percentage)}%"
        text += f" → {show(rule.return_value, SHOWN)}"
        parts.append(text if rule.is_active else f"(off) {text}")
    return "; ".join(parts) if parts else "no rules"


def value_of(value: FlagValue | None, evaluates: bool = True) -> str:
    """The profile's value as a row shows it: `WAITING` while it is asked for (the values
    pane's mark: a cut value ends with `…`), `not evaluated` when it never will be (the profile
    cannot evaluate). Without the stale mark: the screen cuts the value to leave it room
    (`marked_value`, as the values pane does), where a mark appended here would be cut."""
    if value is None:
        return ""
    if value.deleted:
        return "deleted"
    if value.current is None:
        if value.error:
            return "error"
        return WAITING if evaluates else NOT_EVALUATED
    return value_text(value.current)


def _server_time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return from_iso(text).timestamp()
    except ValueError:
        return None


def found_text(found: ValueTransition) -> str:
    """A value change no event explains, in words: `re-evaluated: false → true`, its context
    named when the profile names its contexts."""
    return f"{TYPE_CELL.text}: " + "".join(part.text for part in change_alone(found))


def last_change(
    key: str, diffs: ConfigDiffs, config: FlagConfig | None
) -> tuple[float | None, str]:
    event = diffs.last_event.get(key)
    at, what = (None, "")
    if event is not None:
        diff = diffs.for_event(event)
        at = event.received_at
        what = safe_text(event.type) + (f": {summary(diff)}" if diff is not None else "")
    event_at, value = at, diffs.last_found.get(key)
    if value is not None and (at is None or value.at > at):
        at, what = value.at, found_text(value)
    found = diffs.last_diff.get(key)
    if (
        found is not None
        and found.event is None
        and (event_at is None or found.at > event_at)
        and (at is None or found.at > at - MET_WITHIN)  # a value change it caused came after
    ):
        at, what = found.at, f"re-fetched: {summary(found.diff)}"
    if at is None and config is not None:
        at = _server_time(config.updated_at)
        what = "updated (server)" if at is not None else ""
    return at, what


def inventory_rows(
    configs: Mapping[str, FlagConfig],
    values: Mapping[str, FlagValue],
    diffs: ConfigDiffs,
    evaluates: bool = True,
    read_at: Mapping[str, float] | None = None,  # diffs stopped: when each configuration was read
    stopped: ConfigsStopped | None = None,  # diffs stopped: since when
) -> list[InventoryRow]:
    keys = set(configs) | set(values) | set(diffs.last_event)
    rows = []
    for key in keys:
        config = configs.get(key)
        at, what = last_change(key, diffs, config)
        event = diffs.last_event.get(key)
        old = (
            read_at is not None
            and config is not None
            and (
                older_than_change(event, read_at.get(key), config.environment_id)
                or (
                    stopped is not None
                    and found_since_read(diffs.last_found.get(key), read_at.get(key), stopped)
                )
            )
        )
        value = values.get(key)
        # A configuration is a flag of the server now; without one, its value or (none known)
        # its last event says whether it went.
        gone = config is None and (
            value.deleted
            if value is not None
            else event is not None and event.type == "flag.deleted"
        )
        value_type = config.value_type if config is not None else None
        if value_type is None and value is not None and value.current is not None:
            value_type = value.current.value_type
        rows.append(
            InventoryRow(
                key=key,
                label=safe_text(key),
                value_type=safe_text(value_type or ""),
                enabled=config.enabled if config is not None else None,
                default=show(config.default_value, SHOWN) if config is not None else "",
                rules=len(config.rules) if config is not None else None,
                rules_line=rules_line(config) if config is not None else "",
                value=value_of(value, evaluates),
                changed_at=at,
                change=what,
                stale=shows_stale(value, evaluates),
                old_config=old,
                deleted=gone,
            )
        )
    return rows


def sorted_rows(rows: list[InventoryRow], sort: str) -> list[InventoryRow]:
    if sort == "last change":  # newest first; never changed last, by key
        return sorted(rows, key=lambda r: (r.changed_at is None, -(r.changed_at or 0), r.key))
    if sort == "type":
        return sorted(rows, key=lambda r: (r.value_type == "", r.value_type, r.key))
    return sorted(rows, key=lambda r: r.key)


def state_line(snapshot: MonitorSnapshot | None, count: int, deleted: int = 0) -> str:
    """`count` the flags that exist; the `deleted` ones still listed are said apart: a run that
    saw flags come and go would otherwise count more flags than the environment has."""
    counted = f"{count:,} flag{'' if count == 1 else 's'}"
    gone = f" · {deleted:,} deleted" if deleted else ""
    flags = counted + gone
    if snapshot is None:
        return f"{flags} · no monitor running"
    from togul_monitor.core.configs import NEEDS_TOKEN

    state = snapshot.config_state
    if state == NEEDS_TOKEN:
        known = f"{counted} known from values and events{gone}"
        return f"{known} · rules and defaults need a token profile"
    if state == "loading":
        done, total = snapshot.configs_loaded, snapshot.configs_total
        return f"{flags} · loading configurations… {done:,} of {total:,}"
    stopped = snapshot.configs_stopped
    if stopped is not None:  # read before the refusal: shown, marked (`stale_configs`)
        return f"{flags} · the token was refused: {safe_text(stopped.error)}"
    if state.startswith("failed"):
        return f"{flags} · configurations unavailable: {safe_text(state)}"
    return flags


def value_note(snapshot: MonitorSnapshot | None) -> str:
    """Whose value `your value` is when the profile evaluates for several contexts: the first's
    (the values pane has a column each)."""
    contexts = snapshot.contexts if snapshot is not None else ()
    if len(contexts) <= 1:
        return ""
    return f" · your value: context {safe_text(contexts[0])} (of {len(contexts)})"


class InventorySource:
    """What the inventory screen reads: the running monitor's snapshot and the view's diffs."""

    def __init__(
        self,
        monitor: Callable[[], MonitorHandle | None],
        diffs: ConfigDiffs,
        clock: Callable[[], float],
        evaluates: Callable[[], bool] = lambda: True,  # the profile's values are evaluated
        heartbeat: float | None = None,  # the profile's: a silence is said as the bar says it
    ) -> None:
        self.monitor, self.diffs, self.clock = monitor, diffs, clock
        self.evaluates, self.heartbeat = evaluates, heartbeat

    def _doubt(self, snapshot: MonitorSnapshot | None) -> Doubt | None:
        """Why the values may be out of date, by the values pane's rule (its title says it)."""
        heartbeat = self.heartbeat
        if snapshot is None or heartbeat is None:
            return doubt_of(snapshot, None)
        return doubt_of(snapshot, silence(snapshot, heartbeat, self.clock()))

    def _snapshot(self) -> MonitorSnapshot | None:
        monitor = self.monitor()
        return monitor.snapshot() if monitor is not None else None

    def stamp(self) -> tuple[object, ...]:
        """Changes whenever what the inventory shows may have (cheap: no rows are built)."""
        snapshot = self._snapshot()
        if snapshot is None:
            return (self.diffs.version,)
        doubt = self._doubt(snapshot)
        return (
            self.diffs.version,
            id(snapshot.flag_configs),
            id(snapshot.values),
            snapshot.config_state,
            snapshot.configs_loaded,
            snapshot.status.state,  # the header's note comes and goes with the connection
            doubt.kind if doubt is not None else None,  # and a silence (its age: once a second)
            snapshot.configs_stopped,  # and with the token's refusal
        )

    def read(self, sort: str) -> Inventory:
        snapshot = self._snapshot()
        configs = snapshot.flag_configs if snapshot is not None else {}
        values = snapshot.values if snapshot is not None else {}
        stopped = snapshot.configs_stopped if snapshot is not None else None
        read = snapshot.configs_read if snapshot is not None and stopped is not None else None
        read_at = read.at if read is not None else None
        rows = inventory_rows(configs, values, self.diffs, self.evaluates(), read_at, stopped)
        rows = sorted_rows(rows, sort)
        deleted = sum(row.deleted for row in rows)
        state = state_line(snapshot, len(rows) - deleted, deleted) + value_note(snapshot)
        older = sum(row.old_config for row in rows) if stopped is not None else 0
        last_read = read.latest if read is not None else None
        configs_note = stale_configs(stopped, last_read, self.clock(), older)
        doubt = self._doubt(snapshot)
        return Inventory(rows, state, doubt.note if doubt is not None else "", configs_note)
