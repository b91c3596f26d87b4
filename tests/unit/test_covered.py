"""Whether another recorder of a shared journal watched through an outage of this one
(core/covered.py): only one whose unbroken watch began by the outage's start and whose own
mark reaches its end; never this recorder's own earlier marks."""

from __future__ import annotations

import pytest

from togul_monitor.core.covered import next_look, watched_through
from togul_monitor.core.watched import LIVE_MARK_SLACK, WATCHED_PACE, live_mark_due
from togul_monitor.domain.events import Outage
from togul_monitor.store.model import Watcher

OUTAGE = Outage(100.0, 110.0, None, True, 111.0)


@pytest.mark.parametrize(
    ("watcher", "through"),
    [
        (Watcher("other", 50.0, 120.0), True),
        (Watcher("other", 100.0, 110.0), True),  # exactly the window
        (Watcher("own", 50.0, 120.0), False),  # this run's own mark proves nothing
        (Watcher("other", 105.0, 120.0), False),  # began inside: it journals the time before
        (Watcher("other", 50.0, 108.0), False),  # stopped short: nobody watched the rest
    ],
)
def test_only_another_recorder_s_unbroken_watch_across_the_outage_covers_it(
    watcher: Watcher, through: bool
) -> None:
    assert watched_through(OUTAGE, [watcher], "own") is through


def test_no_watchers_cover_nothing() -> None:
    assert not watched_through(OUTAGE, [], "own")


def test_a_recorder_with_a_longer_heartbeat_is_looked_at_again_once_it_would_have_marked() -> None:
    """Another recorder that began before the outage and marks at a 100 s heartbeat may not
    have marked past its end at the first look (this recorder's pace and heartbeat after it),
    though it watches on: the outage is looked at again once it would have. One that stopped
    (its mark older than its own promise allows at the end), began inside, or is this run,
    or says nothing (judged by this heartbeat, already looked at), asks no further look."""
    slow = WATCHED_PACE + 100.0
    first = live_mark_due(OUTAGE.ended_at, 1.0)
    again = next_look(OUTAGE, [Watcher("other", 50.0, 108.0, slow)], "own", 1.0, first)
    assert again == live_mark_due(OUTAGE.ended_at, 1.0, slow)
    assert next_look(OUTAGE, [Watcher("other", 50.0, 108.0, slow)], "own", 1.0, again) is None
    for watcher in (
        Watcher("other", 50.0, 110.0 - slow - LIVE_MARK_SLACK - 1.0, slow),  # stopped
        Watcher("other", 105.0, 108.0, slow),  # began inside
        Watcher("own", 50.0, 108.0, slow),
        Watcher("other", 50.0, 108.0),  # said nothing
    ):
        assert next_look(OUTAGE, [watcher], "own", 1.0, first) is None
