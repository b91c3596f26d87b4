"""The view's configuration diffs (ui/view/config_diffs.py) after a restarted server reuses an
event id: each event's row, detail, export and history line show its own diff, never another
event's, even when the id, flag, environment and version are all the same."""

from __future__ import annotations

from togul_monitor.core.updates import ConfigChanged
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_config import Change, ConfigDiff, describe
from togul_monitor.store.model import StoredDiff
from togul_monitor.store.recorded import tie_changes
from togul_monitor.ui.view.config_diffs import ConfigDiffs
from togul_monitor.ui.view.feed_store import FeedStore


def test_each_event_of_a_reused_id_shows_its_own_diff() -> None:
    first = FlagEvent("flag.updated", "f", "env", 3, 100.0, "5", 100.2)
    again = FlagEvent("flag.updated", "f", "env", 4, 200.0, "5", 200.2)  # id 5 after a restart
    off = ConfigDiff("f", "env", "5", 3, (Change("enabled", "changed", True, False),))
    on = ConfigDiff("f", "env", "5", 4, (Change("enabled", "changed", False, True),))
    diffs = ConfigDiffs()
    diffs.add(ConfigChanged(off, first, 100.3))
    diffs.add(ConfigChanged(on, again, 200.3))
    assert diffs.for_event(first) == off and diffs.for_event(again) == on
    own = diffs.own_diffs()
    assert [own(e).diff for e in (first, again)] == [off, on]  # type: ignore[union-attr]


# A restarted server whose world starts again (the emulator's `--seed`): its event 1 of the flag
# has the id, flag, environment and version the earlier life's event 1 had; only the time tells
# them apart (docs/journal.md).
OLD = FlagEvent("flag.updated", "f", "env", 2, 100.0, "1", 100.2)
NEW = FlagEvent("flag.updated", "f", "env", 2, 130.0, "1", 130.2)
OLD_DIFF = ConfigDiff("f", "env", "1", 2, (Change("default_value", "changed", "a", "b"),))
NEW_DIFF = ConfigDiff("f", "env", "1", 2, (Change("default_value", "changed", "c", "d"),))


def copy_of(event: FlagEvent, later: float = 0.0) -> FlagEvent:
    """The journal's copy of `event` (the history pane's rows), stamped `later` by another
    recorder's clock."""
    return FlagEvent(
        event.type,
        event.flag_key,
        event.environment_id,
        event.version,
        event.timestamp,
        event.event_id,
        event.received_at + later,
    )


def test_a_new_life_s_event_without_a_diff_shows_none_of_the_old_life_s() -> None:
    diffs = ConfigDiffs()
    diffs.add(ConfigChanged(OLD_DIFF, OLD, 100.3))  # the new life's change had none (token refused)
    diffs.saw([NEW])
    assert diffs.for_event(NEW) is None and diffs.for_event(OLD) == OLD_DIFF
    own = diffs.own_diffs()
    assert own(NEW) is None and own(OLD) == StoredDiff(OLD_DIFF, 100.3)
    # The history pane's rows are the journal's copies: each its own event's diff only.
    assert diffs.lines_for(copy_of(NEW)) == [] and diffs.lines_for(copy_of(NEW, 1.0)) == []
    assert diffs.lines_for(copy_of(OLD)) == describe(OLD_DIFF)
    assert diffs.lines_for(copy_of(OLD, 1.0)) == describe(OLD_DIFF)  # another recorder's clock


def test_an_old_life_s_event_keeps_its_own_when_the_new_life_s_has_a_diff() -> None:
    diffs = ConfigDiffs()
    diffs.saw([OLD])  # no configuration change: nothing to say under it
    diffs.add(ConfigChanged(NEW_DIFF, NEW, 130.3))
    assert diffs.for_event(OLD) is None and diffs.for_event(NEW) == NEW_DIFF
    own = diffs.own_diffs()
    assert own(OLD) is None and own(NEW) == StoredDiff(NEW_DIFF, 130.3)
    assert diffs.lines_for(copy_of(OLD)) == [] and diffs.lines_for(copy_of(NEW)) == describe(
        NEW_DIFF
    )
    # Both lives with a diff: each its own, live and as the journal's copy.
    diffs.add(ConfigChanged(OLD_DIFF, OLD, 100.3))
    assert diffs.for_event(OLD) == OLD_DIFF and diffs.for_event(NEW) == NEW_DIFF
    assert diffs.lines_for(copy_of(OLD)) == describe(OLD_DIFF)
    assert diffs.lines_for(copy_of(NEW)) == describe(NEW_DIFF)


def test_a_recorded_diff_shows_on_its_own_life_s_row_only() -> None:
    """At a start, the journal's diffs of both lives, tied to their events (store/recorded.py)
    and kept by the view as live ones."""
    old_at, new_at = StoredDiff(OLD_DIFF, 100.3), StoredDiff(NEW_DIFF, 130.3)
    tied = tie_changes([OLD, NEW], [], [old_at])
    assert tied.diffs == ((OLD, old_at),) and tied.diffs[0][0] is OLD
    tied = tie_changes([OLD, NEW], [], [old_at, new_at])
    assert [e for e, _ in tied.diffs] == [OLD, NEW] and tied.diffs[1][0] is NEW
    # Another recorder's clock, a little ahead of the one that stamped the event.
    assert tie_changes([OLD, NEW], [], [StoredDiff(NEW_DIFF, 129.0)]).diffs[0][0] is NEW
    store = FeedStore()
    store.add_recorded(tie_changes([OLD, NEW], [], [old_at]))
    assert store.diffs.for_event(NEW) is None and store.diffs.for_event(OLD) == OLD_DIFF
