"""A server that restarts numbers its events from 1 again: the feed's rows, their detail and
their configuration diffs show a change only on the event of its own flag (and environment)."""

from __future__ import annotations

from togul_monitor.core.updates import ConfigChanged
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_config import Change, ConfigDiff
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.ui.view.config_diffs import ConfigDiffs
from togul_monitor.ui.view.feed_store import FeedStore

OFF = Evaluation(False, "boolean", "default", True)
ON = Evaluation(True, "boolean", "default", True)
# The first server life's event 4, which changed nothing, and the second life's event 4.
EARLIER = FlagEvent("flag.updated", "new-dashboard", "env-1", 5, 100, "4", 100.0)
LATER = FlagEvent("flag.updated", "beta-search", "env-1", 5, 200, "4", 200.0)
ELSEWHERE = FlagEvent("flag.updated", "beta-search", "env-2", 5, 300, "4", 300.0)
CHANGE = ValueTransition("beta-search", OFF, ON, "4", 200.5)
DIFF = ConfigDiff("beta-search", "env-1", "4", 5, (Change("default_value", "changed", 0, 1),))


def test_a_value_change_shows_on_its_own_flags_event_of_that_id_only() -> None:
    store = FeedStore()
    store.add_transition(CHANGE)
    assert store.transitions_for(EARLIER) == ()
    assert store.transitions_for(LATER) == (CHANGE,)


def test_a_value_change_shows_on_no_event_of_another_environment() -> None:
    store = FeedStore()
    store.answers.environment_id = "env-1"  # a token's stream brings every environment's
    store.add_transition(CHANGE)
    assert store.transitions_for(ELSEWHERE) == ()
    assert store.transitions_for(LATER) == (CHANGE,)


def test_a_recorded_change_shows_on_its_own_flags_event_of_that_id_only() -> None:
    store = FeedStore()
    store.add_transition(CHANGE, LATER)  # as the journal's changes come at a start
    assert store.transitions_for(EARLIER) == ()
    assert store.transitions_for(LATER) == (CHANGE,)


def test_a_configuration_diff_shows_on_its_own_flags_event_of_that_id_only() -> None:
    with_event, without = ConfigDiffs(), ConfigDiffs()
    with_event.add(ConfigChanged(DIFF, LATER, 200.5))
    without.add(ConfigChanged(DIFF, None, 200.5))  # named by its diff's id alone
    for diffs in (with_event, without):
        assert diffs.for_event(EARLIER) is None
        assert diffs.for_event(ELSEWHERE) is None
        assert diffs.for_event(LATER) is DIFF
