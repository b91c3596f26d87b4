"""A restarted server numbers its events from 1 again: each event of a reused id and flag keeps
its own value changes in the view (ui/view/event_changes.py, by the rule of
ui/view/event_entries.py) on its row, in its detail and in what `e` writes, whatever order
their changes come in and whichever entries the bounded store has trimmed."""

from __future__ import annotations

from togul_monitor.core.updates import TransitionRecorded, ValueUpdated
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import Evaluation, FlagValue, ValueTransition
from togul_monitor.ui.view.batch import take_batch
from togul_monitor.ui.view.feed_store import FeedStore

OFF = Evaluation(False, "boolean", "default", True)
ON = Evaluation(True, "boolean", "rule_match", True)
# The old server's event 7 of `x`, then the new server's 7 of `x`.
OLD = FlagEvent("flag.updated", "x", "env-p", 3, 100.0, "7", 100.0)
NEW = FlagEvent("flag.updated", "x", "env-p", 9, 500.0, "7", 500.0)


def change(before: Evaluation, after: Evaluation, at: float, context: str) -> ValueTransition:
    return ValueTransition("x", before, after, "7", at, context=context)


def shown(store: FeedStore, event: FlagEvent) -> tuple[ValueTransition, ...]:
    """What the row and the detail show (`transitions_for`), checked against what `e` writes
    after the event (a copy for its worker thread): they never disagree."""
    said = store.transitions_for(event)
    assert store.transitions_copy()(event) == said
    return said


def test_an_old_events_change_that_comes_after_the_new_ones_stays_with_it() -> None:
    """The old event's change in `free` comes after the new event's in `premium` (the same id):
    before, the old event took the key back and its row lost its `premium` change."""
    store = FeedStore()
    store.answers.contexts = ("premium", "free")
    old_premium, new_premium = change(OFF, ON, 101.0, "premium"), change(ON, OFF, 501.0, "premium")
    old_free = change(OFF, ON, 502.0, "free")
    store.add_row(OLD)
    store.add_transition(old_premium, OLD)
    store.add_row(NEW)
    store.add_transition(new_premium, NEW)
    store.add_transition(old_free, OLD)
    assert shown(store, OLD) == (old_premium, old_free)  # before: (old_free,) only
    assert shown(store, NEW) == (new_premium,)
    store.add_transition(change(OFF, ON, 503.0, "free"), NEW)
    assert shown(store, OLD) == (old_premium, old_free)
    assert [t.at for t in shown(store, NEW)] == [501.0, 503.0]


def test_trimming_never_shows_one_events_change_on_the_other() -> None:
    """Each event's own change until its entry is trimmed (the oldest first: the earlier
    event's), then nothing; never the other's."""
    store = FeedStore(view_size=2)  # the changes of 4 events at most
    old_change, new_change = change(OFF, ON, 101.0, "default"), change(ON, OFF, 501.0, "default")
    store.add_transition(old_change, OLD)
    store.add_transition(new_change, NEW)
    others = [FlagEvent("flag.updated", f"y{n}", "env-p", 1, 600.0, "1", 600.0) for n in range(4)]
    held: list[tuple[tuple[ValueTransition, ...], ...]] = []
    for n, other in enumerate(others):
        store.add_transition(ValueTransition(other.flag_key, OFF, ON, "1", 601.0 + n), other)
        held.append((shown(store, OLD), shown(store, NEW)))
        assert shown(store, other)[0].flag_key == other.flag_key
    mine, theirs = (old_change,), (new_change,)
    assert held == [(mine, theirs), (mine, theirs), ((), theirs), ((), ())]


def test_a_live_change_is_its_answers_event_s_not_the_next_life_s() -> None:
    """The change comes right after the value whose answer answered OLD (view/batch.py): it is
    OLD's. Before, it was kept for "the id's newest event", which NEW became once the restarted
    server sent it: NEW's row and detail said OLD's change, though NEW changed nothing."""
    store = FeedStore()
    store.answers.contexts = ("premium", "free")

    def value(current: Evaluation, context: str, *, stale: bool = False) -> ValueUpdated:
        return ValueUpdated(FlagValue("x", current, None, 1.0, "7", stale, False, None, context))

    def feed(*updates: object) -> None:
        take_batch(updates, store, environment_names={}, selected=None, watched=set())

    contexts = ("premium", "free")
    feed(*(value(OFF, c) for c in contexts))
    feed(OLD, *(value(OFF, c, stale=True) for c in contexts))
    for at, c in enumerate(contexts):
        feed(value(ON, c), TransitionRecorded(change(OFF, ON, 101.0 + at, c), False))
    found = [ValueTransition("x", ON, OFF, None, 400.0, c, True) for c in contexts]
    feed(*(TransitionRecorded(t, False) for t in found))  # after the restart, no event's
    feed(NEW, *(value(OFF, c, stale=True) for c in contexts))
    feed(*(value(OFF, c) for c in contexts))  # NEW changed nothing
    assert shown(store, NEW) == ()  # before: OLD's two changes
    assert [t.context for t in shown(store, OLD)] == ["premium", "free"]
    assert store.answers.answered(NEW) and store.answers.answered(OLD)


def test_a_change_kept_before_an_answer_named_its_event_stays_beside_the_next() -> None:
    """`premium`'s change came with no answer naming its event (kept for the id's newest event),
    `free`'s with OLD's answer: OLD shows both."""
    store = FeedStore()
    store.answers.contexts = ("premium", "free")
    store.add_row(OLD)
    premium, free = change(OFF, ON, 101.0, "premium"), change(OFF, ON, 102.0, "free")
    store.add_transition(premium)
    store.add_transition(free, OLD)
    assert shown(store, OLD) == (premium, free)  # before: `free`'s only
