"""The feed's accounting without Textual: every event is shown, pending, trimmed or filtered."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from togul_monitor.domain.event_log import EventLog, Row
from togul_monitor.domain.events import FlagEvent, Malformed
from togul_monitor.domain.filters import parse_filter
from togul_monitor.protocol import EVENT_TYPES
from togul_monitor.ui.view.feed_predicate import FeedPredicate
from togul_monitor.ui.view.feed_store import FeedStore


def event(i: int, key: str = "k", kind: str = "flag.updated") -> FlagEvent:
    return FlagEvent(kind, key, "env-1", i, float(i), str(i), float(i))


class Feed:
    """A FeedStore over an event log of `keep` rows, fed the way the monitor feeds it: every
    row into the log, then through the drain into the store."""

    def __init__(self, view_size: int = 5_000, keep: int = 100_000) -> None:
        self.log = EventLog(keep)
        self.store = FeedStore(view_size=view_size, source=self.log)

    def add(self, row: Row) -> None:
        self.log.append(row)
        self.store.add_row(row)


def new_store(view_size: int = 5_000, keep: int = 100_000) -> tuple[FeedStore, Feed]:
    feed = Feed(view_size, keep)
    return feed.store, feed


def balanced(store: FeedStore) -> bool:
    return store.received == (store.shown + store.pending_events + store.trimmed + store.filtered)


def test_view_is_bounded_and_trims_are_counted() -> None:
    store, feed = new_store(view_size=3, keep=10)
    for i in range(5):
        feed.add(event(i))
    assert [row.version for row in store.view] == [2, 3, 4]  # type: ignore[union-attr]
    assert store.trimmed == 2 and store.front_removed == 2 and balanced(store)


def test_markers_are_rows_but_not_events() -> None:
    store, feed = new_store(view_size=10)
    feed.add(event(1))
    feed.add(Malformed("no flag_key", "{}", None, 2.0))
    assert len(store.view) == 2 and store.shown == 1 and store.received == 1


def test_pause_holds_rows_as_pending_and_resume_shows_them() -> None:
    store, feed = new_store(view_size=10)
    store.set_paused(True)
    for i in range(3):
        feed.add(event(i))
    assert store.shown == 0 and store.pending_events == 3 and balanced(store)
    store.set_paused(False)
    assert store.shown == 3 and store.pending_events == 0 and balanced(store)


def test_refilter_recounts_from_what_was_received() -> None:
    store, feed = new_store(view_size=2, keep=100)
    for i in range(6):
        feed.add(event(i, key="checkout-v2" if i % 2 else "new-dashboard"))
    store.refilter(FeedPredicate(parse_filter("flag:checkout-*")))
    assert store.filtered == 3 and store.shown == 2 and store.trimmed == 1 and balanced(store)
    store.refilter(FeedPredicate(hidden_types=frozenset(EVENT_TYPES)))
    assert store.filtered == 6 and store.shown == 0 and balanced(store)


def test_clear_empties_the_view_and_the_counts() -> None:
    store, feed = new_store(view_size=5)
    feed.add(event(1))
    generation = store.generation
    store.clear()
    assert store.received == store.shown == 0 and store.generation == generation + 1


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(
                st.just("event"), st.sampled_from(["a", "b", "c"]), st.sampled_from(EVENT_TYPES)
            ),
            st.tuples(st.just("pause"), st.booleans(), st.just("")),
            st.tuples(
                st.just("filter"), st.sampled_from(["", "a", "!b", "type:rule"]), st.just("")
            ),
            st.tuples(st.just("toggle"), st.integers(0, 5), st.just("")),
        ),
        max_size=80,
    ),
    st.integers(1, 8),
    st.integers(8, 20),
)
def test_every_event_is_always_accounted_for(
    steps: list[tuple[str, object, str]], view_size: int, keep: int
) -> None:
    store, feed = new_store(view_size=view_size, keep=keep)
    i = 0
    for op, arg, kind in steps:
        if op == "event":
            i += 1
            feed.add(event(i, key=str(arg), kind=kind))
        elif op == "pause":
            store.set_paused(bool(arg))
        elif op == "filter":
            text = str(arg)
            store.refilter(
                FeedPredicate(parse_filter(text) if text else None, store.predicate.hidden_types)
            )
        else:
            store.refilter(store.predicate.toggled(int(arg)))  # type: ignore[arg-type]
        assert balanced(store)
        assert len(store.view) <= view_size


def test_a_worker_refilter_takes_rows_that_arrived_meanwhile() -> None:
    store, feed = new_store(view_size=10)
    for i in range(3):
        feed.add(event(i, key="a"))
    rows, upto, clears = store.refilter_input()
    result = FeedStore.compute_refilter(rows, FeedPredicate(parse_filter("a")), upto)
    result.clears = clears
    feed.add(event(3, key="b"))  # while the worker ran
    feed.add(event(4, key="a"))
    store.apply_refilter(result)
    assert [r.version for r in store.view] == [0, 1, 2, 4]  # type: ignore[union-attr]
    assert store.filtered == 1 and balanced(store)


def test_a_refilter_computed_before_a_clear_does_not_bring_rows_back() -> None:
    store, feed = new_store(view_size=10)
    for i in range(3):
        feed.add(event(i))
    rows, upto, clears = store.refilter_input()
    result = FeedStore.compute_refilter(rows, FeedPredicate(), upto)
    result.clears = clears
    store.clear()
    feed.add(event(9))
    store.apply_refilter(result)
    assert [r.version for r in store.view] == [9]  # type: ignore[union-attr]
    assert balanced(store)


def test_a_view_behind_the_logs_oldest_row_counts_what_the_log_lost_as_trimmed() -> None:
    # The log (100 rows) runs ahead of the view and evicts rows the view has not drained yet.
    store, feed = new_store(view_size=10, keep=100)
    for i in range(150):
        feed.add(event(i))
    for i in range(150, 300):
        feed.log.append(event(i))  # in the log, still on their way through the drain
    assert list(store.export_rows()) == []  # 50..149 were evicted, 200..299 not received
    store.refilter(FeedPredicate(hidden_types=frozenset(EVENT_TYPES)))
    assert store.filtered == 0 and store.trimmed == 150 and balanced(store)
    for i in range(150, 300):
        store.add_row(event(i))  # the drain catches up
    assert store.received == 300 and store.filtered == 150 and balanced(store)


def test_pause_counts_every_new_event_and_says_how_many_it_kept() -> None:
    # More arrive while paused than the view holds: `+N new` is all of them, not the rows kept;
    # the rest are trimmed, and shown + kept + trimmed + filtered still add up to received.
    store, feed = new_store(view_size=4, keep=100)
    feed.add(event(0))
    store.set_paused(True)
    for i in range(1, 11):
        feed.add(event(i))
    assert store.paused_new == 10 and store.pending_events == 4 and store.trimmed == 6
    assert balanced(store)
    store.skip(3, 2)  # the drain lost rows while paused: their events came all the same
    assert store.paused_new == 12 and balanced(store)
    store.set_paused(False)
    assert store.paused_new == 0
    store.set_paused(True)
    assert store.paused_new == 0


def test_a_new_filter_while_paused_keeps_what_came_since_the_pause_held() -> None:
    # Paused to read, then a type hidden: the view is refiltered as it stood at the pause, and
    # what came since stays held (`+N new`), shown only when the feed follows again.
    store, feed = new_store(view_size=10, keep=100)
    feed.add(event(0, kind="flag.created"))
    feed.add(event(1))
    store.set_paused(True)
    feed.add(event(2, kind="flag.created"))
    feed.add(event(3))
    feed.add(event(4, kind="flag.created"))
    store.refilter(FeedPredicate(hidden_types=frozenset({"flag.updated"})))
    assert [row.version for row in store.view] == [0]  # type: ignore[union-attr]
    assert [row.version for row in store.pending] == [2, 4]  # type: ignore[union-attr]
    assert store.paused_new == 2 and store.pending_events == 2 and balanced(store)
    feed.add(event(5, kind="flag.created"))
    assert store.paused_new == 3 and balanced(store)
    store.set_paused(False)
    assert [row.version for row in store.view] == [0, 2, 4, 5]  # type: ignore[union-attr]
    assert store.filtered == 2 and balanced(store)


def test_a_pause_across_a_new_monitor_holds_that_monitors_rows() -> None:
    # Paused, the profile switches: the new monitor's log numbers its rows from 0 again, and
    # what it brings is news to a paused view, refiltered or not.
    store, feed = new_store(view_size=10, keep=100)
    for i in range(5):
        feed.add(event(i))
    store.set_paused(True)
    other = EventLog(100)
    store.attach(other, 0)
    for i in range(3):
        other.append(event(10 + i))
        store.add_row(other.rows_since(0)[0][-1])
    assert store.paused_new == 3
    store.refilter(FeedPredicate(hidden_types=frozenset({"flag.created"})))
    assert list(store.view) == [] and store.paused_new == 3 and store.pending_events == 3
    assert balanced(store)
