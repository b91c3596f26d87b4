"""While the token is refused the inventory's rules and defaults are the last ones read: its
header says how long ago that read was (not when the refusal came), and a row whose flag had an
event after its configuration was read is marked, since what it shows predates that change
(view/config_stop.py, view/inventory.py, core/config_reads.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from togul_monitor.core.config_reads import ConfigReads
from togul_monitor.core.configs import FlagConfigs
from togul_monitor.core.snapshot import MonitorSnapshot
from togul_monitor.core.updates import ConfigsStopped
from togul_monitor.domain.events import ConnectionState, FlagEvent, Status, StreamCounters
from togul_monitor.domain.flag_config import FlagConfig, parse_flag
from togul_monitor.ui.screens.inventory import OLD_STYLE, STALE_STYLE, row_cells
from togul_monitor.ui.view.config_diffs import ConfigDiffs
from togul_monitor.ui.view.config_stop import OLD_MARK, stale_configs
from togul_monitor.ui.view.inventory import InventorySource

from ..waits import until

START, LAST_READ, REFUSED, EVENT, NOW = 1000.0, 1011.0, 1039.0, 1051.0, 1069.0


def flag(key: str, default: object, env: str = "env", version: int = 1) -> FlagConfig:
    body = {"id": f"id-{key}", "key": key, "environment_id": env, "enabled": True, "name": key}
    body |= {"value_type": "boolean", "default_value": default, "version": version}
    return parse_flag({"flag": body, "rules": []})


def updated(key: str, at: float, env: str = "env") -> FlagEvent:
    return FlagEvent("flag.updated", key, env, 2, 1, "1", at)


def source(reads: ConfigReads, diffs: ConfigDiffs, stopped: ConfigsStopped | None) -> Any:
    configs, read = reads.copies()
    snapshot = MonitorSnapshot(
        "p",
        "production",
        Status(ConnectionState.LIVE, START),
        None,
        StreamCounters(),
        0,
        0,
        config_state="failed: refused" if stopped else "complete",
        flag_configs=configs,
        configs_read=read,
        configs_stopped=stopped,
    )
    monitor: Any = SimpleNamespace(snapshot=lambda: snapshot)
    return InventorySource(lambda: monitor, diffs, lambda: NOW)


def the_run() -> tuple[ConfigReads, ConfigDiffs]:
    """new-dashboard read at the start and changed after the refusal (its re-fetch refused);
    checkout changed while the token was valid (read again); other had no event."""
    reads = ConfigReads()
    reads.read("new-dashboard", flag("new-dashboard", False), START)
    reads.read("other", flag("other", False), START)
    reads.read("checkout", flag("checkout", False), START)
    reads.read("checkout", flag("checkout", True, version=2), LAST_READ)
    diffs = ConfigDiffs()
    diffs.saw([updated("checkout", LAST_READ - 0.2), updated("new-dashboard", EVENT)])
    return reads, diffs


def test_the_header_says_how_old_the_read_is_and_marks_the_rows_changed_since() -> None:
    reads, diffs = the_run()
    stopped = ConfigsStopped("HTTP 401", at=REFUSED)
    inventory = source(reads, diffs, stopped).read("key")
    # Was "as of 30s ago": the refusal's age, which reads as newer than new-dashboard's change.
    assert inventory.stale_configs == (
        f"rules and defaults last read 58s ago (diffs stopped) · {OLD_MARK} 1 flag changed since read"
    )
    old = {row.key: row.old_config for row in inventory.rows}
    assert old == {"checkout": False, "new-dashboard": True, "other": False}
    # Followed again: nothing is marked.
    current = source(reads, diffs, None).read("key")
    assert current.stale_configs == "" and not any(row.old_config for row in current.rows)


def test_an_event_of_another_environment_or_before_the_read_marks_nothing() -> None:
    reads, diffs = the_run()
    diffs.saw([updated("other", EVENT, env="staging"), updated("checkout", LAST_READ)])
    inventory = source(reads, diffs, ConfigsStopped("HTTP 401", at=REFUSED)).read("key")
    assert [row.key for row in inventory.rows if row.old_config] == ["new-dashboard"]
    assert stale_configs(ConfigsStopped("x", at=REFUSED), None, NOW) == (
        "no rules and defaults read (diffs stopped)"
    )
    two = stale_configs(ConfigsStopped("x", at=REFUSED), START, NOW, older=2)
    assert two.endswith(f"1m ago (diffs stopped) · {OLD_MARK} 2 flags changed since read"), two


def test_a_marked_row_says_its_default_and_rules_predate_the_change() -> None:
    reads, diffs = the_run()
    rows = source(reads, diffs, ConfigsStopped("HTTP 401", at=REFUSED)).read("key").rows
    marked = next(row for row in rows if row.key == "new-dashboard")
    plain = next(row for row in rows if row.key == "other")
    columns = [("on", 3), ("default", 10), ("rules", 5), ("rule summary", 12)]
    cells = row_cells(marked, NOW, columns, stale=True)
    assert [cell.plain for cell in cells] == [
        "on",
        f"{OLD_MARK} false",
        "0",
        f"{OLD_MARK} no rules",
    ]
    assert {str(cell.style) for cell in cells} == {OLD_STYLE}
    cut = row_cells(marked, NOW, [("default", 4)], stale=True)[0].plain
    assert cut == f"{OLD_MARK} f…"  # the mark is never what is cut
    others = row_cells(plain, NOW, columns, stale=True)
    assert [cell.plain for cell in others] == ["on", "false", "0", "no rules"]
    assert {str(cell.style) for cell in others} == {STALE_STYLE}


class Reader:
    requests = 0

    def __init__(self) -> None:
        self.current = flag("k", False)

    async def fetch_flag(self, flag_id: str) -> FlagConfig:
        return self.current

    async def list_flags(self, environment_id: str) -> dict[str, str]:
        return {"k": "id-k"}

    async def aclose(self) -> None:
        pass


async def test_each_configuration_is_timed_by_when_its_read_was_asked_for() -> None:
    clock = [START]
    configs = FlagConfigs(lambda update: None, lambda: clock[0])
    reader = Reader()
    configs.configure(reader, "env", {"k": "id-k"})  # type: ignore[arg-type]
    configs.start()
    await until(lambda: configs.state == "complete")
    assert dict(configs.reads.copies()[1].at) == {"k": START}
    clock[0] = LAST_READ
    reader.current = flag("k", True, version=2)
    configs.on_events([FlagEvent("flag.updated", "k", "env", 2, 1, "1", LAST_READ)])
    await until(lambda: configs.reads.read_at["k"] == LAST_READ)
    _, read = configs.reads.copies()
    assert (dict(read.at), read.latest) == ({"k": LAST_READ}, LAST_READ)
    await configs.aclose()
