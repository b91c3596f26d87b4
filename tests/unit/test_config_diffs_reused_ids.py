"""The view's configuration diffs (ui/view/config_diffs.py) after a restarted server reuses an
event id: each event's row, detail and export show its own diff, never the later event's."""

from __future__ import annotations

from togul_monitor.core.updates import ConfigChanged
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_config import Change, ConfigDiff
from togul_monitor.ui.view.config_diffs import ConfigDiffs


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
