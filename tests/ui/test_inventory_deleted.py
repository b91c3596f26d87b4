"""The inventory's header counts the flags that exist: the deleted ones it still lists (their
value `deleted`, their last change `flag.deleted`) are counted apart (view/inventory.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from togul_monitor.core.configs import NEEDS_TOKEN
from togul_monitor.core.snapshot import MonitorSnapshot
from togul_monitor.domain.events import ConnectionState, FlagEvent, Status, StreamCounters
from togul_monitor.domain.values import Evaluation, FlagValue
from togul_monitor.ui.view.config_diffs import ConfigDiffs
from togul_monitor.ui.view.inventory import InventorySource

from .test_inventory_old_configs import flag


def value(key: str, deleted: bool = False) -> FlagValue:
    answer = Evaluation(True, "boolean", "default", True)
    current, previous = (None, answer) if deleted else (answer, None)
    return FlagValue(key, current, previous, 1.0, None, False, deleted, None)


def deleted_event(key: str) -> FlagEvent:
    return FlagEvent("flag.deleted", key, "env", 2, 1.0, None, 5.0)


def read_inventory(
    state: str, configs: dict[str, Any], values: dict[str, FlagValue], gone: bool = True
) -> Any:
    snapshot = MonitorSnapshot(
        "p",
        "production",
        Status(ConnectionState.LIVE, 0.0),
        None,
        StreamCounters(),
        0,
        0,
        config_state=state,
        flag_configs=configs,
        values=values,
    )
    monitor: Any = SimpleNamespace(snapshot=lambda: snapshot)
    diffs = ConfigDiffs()
    if gone:
        diffs.saw([deleted_event("sim-2"), deleted_event("sim-3")])
    return InventorySource(lambda: monitor, diffs, lambda: 10.0).read("key")


def test_the_header_counts_the_flags_that_exist_and_the_deleted_ones_apart() -> None:
    # sim-1 exists; sim-2 was deleted (its value says so), sim-3 too (known from its event).
    # The header said `5 flags` for the three flags of the environment and two deleted ones.
    configs = {key: flag(key, False) for key in ("a", "b", "sim-1")}
    values = {"a": value("a"), "sim-1": value("sim-1"), "sim-2": value("sim-2", deleted=True)}
    inventory = read_inventory("complete", configs, values)
    assert len(inventory.rows) == 5
    assert inventory.state == "3 flags · 2 deleted"
    assert [row.key for row in inventory.rows if row.deleted] == ["sim-2", "sim-3"]


def test_without_a_token_the_deleted_flags_are_counted_apart_too() -> None:
    values = {"a": value("a"), "sim-2": value("sim-2", deleted=True)}
    inventory = read_inventory(NEEDS_TOKEN, {}, values)
    assert inventory.state.startswith("1 flag known from values and events · 2 deleted · ")
    only_live = read_inventory("complete", {"a": flag("a", False)}, {"a": value("a")}, gone=False)
    assert only_live.state == "1 flag"
