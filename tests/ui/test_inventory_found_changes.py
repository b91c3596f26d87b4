"""A value change a re-evaluation of its own found (no event says it: after an outage, `r`, a
start) is a change of its flag: the inventory shows it as the flag's last change, and while the
token is refused it marks the row when the change is the one the refusal met, or came since
(view/inventory.py, view/config_stop.py `found_since_read`, view/config_diffs.py)."""

from __future__ import annotations

from togul_monitor.core.config_reads import ConfigReads
from togul_monitor.core.updates import ConfigChanged, ConfigsStopped
from togul_monitor.domain.event_log import EventLog
from togul_monitor.domain.flag_config import Change, ConfigDiff
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.ui.view.config_diffs import ConfigDiffs
from togul_monitor.ui.view.config_stop import OLD_MARK
from togul_monitor.ui.view.feed_store import FeedStore

from .test_inventory_old_configs import EVENT, LAST_READ, START, flag, source, updated

OFF = Evaluation(True, "boolean", "disabled", False)
ON = Evaluation(True, "boolean", "default", True)
RESUMED = 1060.0  # the stream came back after an outage: values asked again, the re-fetch refused


def found(key: str, at: float, context: str = "default") -> ValueTransition:
    return ValueTransition(key, OFF, ON, None, at, context, includes_unseen=True)


def the_run() -> tuple[ConfigReads, ConfigDiffs]:
    """dark-mode switched off (its event, its configuration read again); then the server
    restarted with it on, and the outage's re-fetch was refused."""
    reads = ConfigReads()
    reads.read("dark-mode", flag("dark-mode", True), START)
    reads.read("other", flag("other", False), START)
    reads.read("dark-mode", flag("dark-mode", True, version=2), LAST_READ)
    diffs = ConfigDiffs()
    diffs.saw([updated("dark-mode", LAST_READ - 0.2)])
    return reads, diffs


def test_a_value_change_found_with_the_refusal_marks_its_row_and_is_its_last_change() -> None:
    reads, diffs = the_run()
    stopped = ConfigsStopped("HTTP 401", at=RESUMED + 0.3)
    diffs.found([found("dark-mode", RESUMED + 0.1)])  # answered just before the refusal came
    inventory = source(reads, diffs, stopped).read("key")
    # Was: no mark, no count, and its last change the event that switched it off.
    assert inventory.stale_configs.endswith(
        f"(diffs stopped) · {OLD_MARK} 1 flag changed since read"
    )
    rows = {row.key: row for row in inventory.rows}
    assert [key for key, row in rows.items() if row.old_config] == ["dark-mode"]
    assert rows["dark-mode"].changed_at == RESUMED + 0.1
    assert rows["dark-mode"].change == "re-evaluated: true (disabled → default) +unseen"
    # One after the refusal is marked as well; followed again, nothing is.
    diffs.found([found("other", RESUMED + 30)])
    assert sum(row.old_config for row in source(reads, diffs, stopped).read("key").rows) == 2
    assert not any(row.old_config for row in source(reads, diffs, None).read("key").rows)


def test_one_found_long_before_the_refusal_is_a_last_change_but_no_mark() -> None:
    """A start's (or an earlier outage's) values were asked with the configurations, whose
    answers already hold the change whatever their time: the refusal an hour later met none."""
    reads, diffs = the_run()
    diffs.found([found("other", START + 0.2, context="premium")])
    stopped = ConfigsStopped("HTTP 401", at=START + 3600)
    rows = {row.key: row for row in source(reads, diffs, stopped).read("key").rows}
    assert not rows["other"].old_config
    assert rows["other"].change == "re-evaluated: [premium] true (disabled → default) +unseen"


def test_a_refetchs_diff_of_the_same_re_evaluation_says_the_change() -> None:
    reads, diffs = the_run()
    switched = (Change("enabled", "changed", False, True),)
    diff = ConfigDiff("other", "env", None, None, switched, fetched_version=2)
    diffs.add(ConfigChanged(diff, None, EVENT))  # found by the outage's re-fetch
    diffs.found([found("other", EVENT + 0.5)])
    row = next(r for r in source(reads, diffs, None).read("key").rows if r.key == "other")
    assert (row.changed_at, row.change.split(":")[0]) == (EVENT, "re-fetched")
    diffs.found([found("other", EVENT + 60)])  # a later change of the value alone
    row = next(r for r in source(reads, diffs, None).read("key").rows if r.key == "other")
    assert row.changed_at == EVENT + 60 and row.change.startswith("re-evaluated: ")


def test_the_view_keeps_the_found_changes_live_and_recorded() -> None:
    store = FeedStore(view_size=10, source=EventLog(100))
    store.add_transition(found("dark-mode", 5.0))
    assert store.diffs.last_found["dark-mode"].at == 5.0
    store.last_changes_anew(100)  # a new monitor: the found rows shown so far count again
    assert list(store.diffs.last_found) == ["dark-mode"]
