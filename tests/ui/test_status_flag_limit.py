"""The status bar says when the monitor reached its flag limit (core/evaluation.py,
`max_flags`): the further flags' events are in the feed but have no values."""

from __future__ import annotations

from togul_monitor.ui.view.status import StatusInfo, status_notes
from togul_monitor.ui.widgets.status_bar import render_status

from .test_status_bar import snapshot, texts


def test_no_note_below_the_limit() -> None:
    assert status_notes(snapshot(max_flags=10_000, unmonitored_events=0), 0.0) == ()


def test_the_overflow_is_counted_in_the_notes_line() -> None:
    notes = status_notes(snapshot(max_flags=10_000, unmonitored_events=190_000), 0.0)
    assert texts(notes) == [
        "flag limit (10,000) reached: 190,000 events of further flags shown, not evaluated"
    ]
    info = StatusInfo(profile="prod", environment="production", notes=notes)
    narrow = render_status(info, narrow=True, width=80).plain.split("\n")[2]
    assert narrow.strip() == "flag limit: 190,000 not evaluated"
