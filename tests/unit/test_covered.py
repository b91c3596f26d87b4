"""Whether another recorder of a shared journal watched through an outage of this one
(core/covered.py): only one whose unbroken watch began by the outage's start and whose own
mark reaches its end; never this recorder's own earlier marks."""

from __future__ import annotations

import pytest

from togul_monitor.core.covered import watched_through
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
