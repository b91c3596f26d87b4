"""An event's detail on its flag's configuration (view/config_diffs.py `config_text`): the diff,
or why there is none, never a promise of one that is not coming."""

from __future__ import annotations

from togul_monitor.ui.view.config_diffs import config_text


def test_an_event_without_a_diff_of_its_own_says_where_its_change_may_be() -> None:
    # Reads are paced per flag: one read may cover several events of a burst, and its change
    # is tied to one of them. The others must not read as "nothing changed" or "not fetched yet".
    said = config_text(None, "complete").plain
    assert "not fetched yet" not in said
    assert "one read covered several of the flag's events" in said
    assert "a read after it found none" in said
