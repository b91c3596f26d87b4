"""The flags' last changes the view keeps for the inventory (view/config_diffs.py): flag keys
come from the server, so a stream of ever new keys keeps at most `max_flags` of them."""

from __future__ import annotations

from togul_monitor.core import ConfigChanged
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_config import ConfigDiff
from togul_monitor.ui.view.batch import take_batch
from togul_monitor.ui.view.feed_store import FeedStore
from togul_monitor.ui.view.inventory import inventory_rows

CAP = 100


def event(n: int) -> FlagEvent:
    return FlagEvent("flag.updated", f"flag-{n}", "env", 1, 0.0, str(n), float(n))


def test_fifty_thousand_new_keys_keep_the_last_changes_at_the_cap() -> None:
    store = FeedStore(view_size=50)
    store.diffs.clear(CAP)

    for start in range(0, 50_000, 1_000):
        updates = [event(n) for n in range(start, start + 1_000)]
        take_batch(updates, store, environment_names={}, selected=None, watched=set())
        assert len(store.diffs.last_event) == CAP
    for n in range(50_000):
        diff = ConfigDiff(f"flag-{n}", "env", str(n), 1, ())
        store.diffs.add(ConfigChanged(diff, None, float(n)))
    assert len(store.diffs.last_diff) == CAP
    # The newest flags stay; the inventory lists those, not every key ever seen.
    assert list(store.diffs.last_event)[-1] == "flag-49999"
    assert "flag-0" not in store.diffs.last_event
    assert len(inventory_rows({}, {}, store.diffs)) == CAP


def test_a_flag_that_changes_again_is_the_newest_and_stays() -> None:
    store = FeedStore(view_size=10)
    store.diffs.clear(2)
    updates = [event(1), event(2), event(1), event(3)]
    take_batch(updates, store, environment_names={}, selected=None, watched=set())
    assert list(store.diffs.last_event) == ["flag-1", "flag-3"]


def test_a_value_that_is_never_evaluated_says_so_rather_than_waiting() -> None:
    from togul_monitor.domain.values import FlagValue
    from togul_monitor.ui.view.inventory import value_of
    from togul_monitor.ui.view.value_columns import WAITING

    never = FlagValue("f", None, None, 0.0, None, False, False, None)
    assert value_of(never, evaluates=False) == "not evaluated"
    # Asked for, its answer on its way: the values pane's mark, never a cut's `…`.
    assert value_of(never, evaluates=True) == WAITING != "…"
