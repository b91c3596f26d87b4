"""The feed's accounting without Textual: every event is shown, pending, trimmed or filtered."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.filters import parse_filter
from togul_monitor.protocol import EVENT_TYPES
from togul_monitor.ui.view.feed_store import FeedPredicate, FeedStore


def event(i: int, key: str = "k", kind: str = "flag.updated") -> FlagEvent:
    return FlagEvent(kind, key, "env-1", i, float(i), str(i), float(i))


def balanced(store: FeedStore) -> bool:
    return store.received == (store.shown + store.pending_events + store.trimmed + store.filtered)


def test_view_is_bounded_and_trims_are_counted() -> None:
    store = FeedStore(view_size=3, keep=10)
    for i in range(5):
        store.add_event(event(i))
    assert [row.version for row in store.view] == [2, 3, 4]  # type: ignore[union-attr]
    assert store.trimmed == 2 and store.front_removed == 2 and balanced(store)


def test_markers_are_rows_but_not_events() -> None:
    store = FeedStore(view_size=10)
    store.add_event(event(1))
    store.add_marker("outage", "── disconnected ──", 2.0)
    assert len(store.view) == 2 and store.shown == 1 and store.received == 1


def test_pause_holds_rows_as_pending_and_resume_shows_them() -> None:
    store = FeedStore(view_size=10)
    store.set_paused(True)
    for i in range(3):
        store.add_event(event(i))
    assert store.shown == 0 and store.pending_events == 3 and balanced(store)
    store.set_paused(False)
    assert store.shown == 3 and store.pending_events == 0 and balanced(store)


def test_refilter_recounts_from_what_was_received() -> None:
    store = FeedStore(view_size=2, keep=100)
    for i in range(6):
        store.add_event(event(i, key="checkout-v2" if i % 2 else "new-dashboard"))
    store.refilter(FeedPredicate(parse_filter("flag:checkout-*")))
    assert store.filtered == 3 and store.shown == 2 and store.trimmed == 1 and balanced(store)
    store.refilter(FeedPredicate(hidden_types=frozenset(EVENT_TYPES)))
    assert store.filtered == 6 and store.shown == 0 and balanced(store)


def test_clear_empties_the_view_and_the_counts() -> None:
    store = FeedStore(view_size=5)
    store.add_event(event(1))
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
    store = FeedStore(view_size=view_size, keep=keep)
    i = 0
    for op, arg, kind in steps:
        if op == "event":
            i += 1
            store.add_event(event(i, key=str(arg), kind=kind))
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
    store = FeedStore(view_size=10)
    for i in range(3):
        store.add_event(event(i, key="a"))
    rows, upto, clears = store.refilter_input()
    result = FeedStore.compute_refilter(rows, FeedPredicate(parse_filter("a")), upto)
    result.clears = clears
    store.add_event(event(3, key="b"))  # while the worker ran
    store.add_event(event(4, key="a"))
    store.apply_refilter(result)
    assert [r.version for r in store.view] == [0, 1, 2, 4]  # type: ignore[union-attr]
    assert store.filtered == 1 and balanced(store)


def test_a_refilter_computed_before_a_clear_does_not_bring_rows_back() -> None:
    store = FeedStore(view_size=10)
    for i in range(3):
        store.add_event(event(i))
    rows, upto, clears = store.refilter_input()
    result = FeedStore.compute_refilter(rows, FeedPredicate(), upto)
    result.clears = clears
    store.clear()
    store.add_event(event(9))
    store.apply_refilter(result)
    assert [r.version for r in store.view] == [9]  # type: ignore[union-attr]
    assert balanced(store)
