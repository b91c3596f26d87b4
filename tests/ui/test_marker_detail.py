"""`enter` on a marker row (an outage, a malformed event, a possible gap) says what the stream
item behind it says, in words: not a Python repr of it."""

from __future__ import annotations

from togul_monitor.domain.events import Malformed, Outage, PossibleGap
from togul_monitor.ui.screens.event_detail import marker_detail
from togul_monitor.ui.view.rows import MARKER_TITLES, marker_items

T0 = 1_700_000_000.0


def test_an_outage_detail_says_when_how_long_and_whether_changes_may_be_missing() -> None:
    outage = Outage(T0, T0 + 75, None, True, T0 + 75.2)
    item = marker_items(outage, "utc")[0]
    text = marker_detail(item, "utc").plain
    assert "Outage(" not in text and "may_have_missed" not in text
    assert "down from   2023-11-14 22:13:20Z" in text
    assert "live again  2023-11-14 22:14:35Z" in text
    assert "for         1m15s" in text
    assert "re-sent     unknown" in text
    assert "may miss    yes: values were re-evaluated after it" in text
    assert MARKER_TITLES[item.marker] == "outage: changes may be missing"
    proven = marker_detail(marker_items(Outage(T0, T0 + 5, 3, False, T0 + 5), "utc")[0], "utc")
    assert "re-sent     3 events" in proven.plain and "may miss    no" in proven.plain


def test_a_malformed_and_a_gap_detail_keep_server_text_as_data() -> None:
    bad = Malformed("not JSON", "{\x1b]2;title\x07", "9", T0, re_evaluate=False)
    text = marker_detail(marker_items(bad, "utc")[0], "utc").plain
    assert "\x1b" not in text and "\\x1b]2;title\\x07" in text
    assert "effect      skipped" in text and "event id    9" in text
    gap = PossibleGap("[red]flag[/]", "env-1", 4, 6, None, T0)
    text = marker_detail(marker_items(gap, "utc")[0], "utc").plain
    assert "flag        [red]flag[/]" in text  # plain text, not markup
    assert "expected    v4" in text and "got         v6" in text
