"""A restarted server numbers its events from 1 again: an old row's answer (view/answers.py)
stays with it when the new server's event of that id and flag is answered, on the row, in the
detail's per-context states and in what `e` marks "evaluated with the next change"."""

from __future__ import annotations

from togul_monitor.core.updates import ValueUpdated
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import Evaluation, FlagValue
from togul_monitor.ui.view.batch import take_batch
from togul_monitor.ui.view.contexts import context_states
from togul_monitor.ui.view.feed_layout import row_change
from togul_monitor.ui.view.feed_store import FeedStore

ENV = "env-p"
OFF = Evaluation(False, "boolean", "default", True)
ON = Evaluation(True, "boolean", "rule_match", True)
# The old server's events 23 and 24 (one burst, one answer), then the new server's 23.
OLD = FlagEvent("flag.updated", "ctx-probe", ENV, 5, 100.0, "23", 100.0)
NEXT = FlagEvent("flag.updated", "ctx-probe", ENV, 6, 100.1, "24", 100.1)
NEW = FlagEvent("flag.updated", "ctx-probe", ENV, 2, 500.0, "23", 500.0)


def value(current: Evaluation, context: str, *, stale: bool = False) -> ValueUpdated:
    return ValueUpdated(
        FlagValue("ctx-probe", current, None, 1.0, None, stale, False, None, context)
    )


def feed(store: FeedStore, *updates: object) -> None:
    take_batch(updates, store, environment_names={ENV: "production"}, selected=None, watched=set())


def lives(contexts: tuple[str, ...]) -> FeedStore:
    store = FeedStore()
    store.answers.contexts = contexts
    feed(store, *(value(OFF, c) for c in contexts))  # the flag's value before the events
    feed(store, OLD, NEXT, *(value(OFF, c, stale=True) for c in contexts))
    feed(store, *(value(OFF, c) for c in contexts))  # one answer for both: 23 "with the next"
    feed(store, NEW, *(value(ON, c, stale=True) for c in contexts))  # after the restart
    feed(store, *(value(ON, c) for c in contexts))
    return store


def said(store: FeedStore, event: FlagEvent) -> str:
    return "".join(part.text for part in row_change(event, store)[0])


def test_an_old_row_keeps_its_answer_when_the_new_server_reuses_its_id() -> None:
    store = lives(("default",))
    assert said(store, OLD) == "evaluated with the next change"  # before: blank
    assert said(store, NEXT) == "value unchanged for your context"
    assert said(store, NEW) == "value unchanged for your context"
    assert store.answers.with_next(OLD) == ("default",)  # what `e` writes after it
    assert store.answers.with_next(NEW) == ()


def test_each_event_of_a_reused_id_keeps_its_own_answer_in_every_context() -> None:
    store = lives(("premium", "free"))
    with_next = "evaluated with the next change"
    assert context_states(OLD, store.answers, ()) == {"premium": with_next, "free": with_next}
    assert context_states(NEW, store.answers, ()) == {"premium": "unchanged", "free": "unchanged"}
    assert (said(store, OLD), said(store, NEW)) == (with_next, "unchanged for all 2 contexts")
    assert store.answers.with_next(OLD) == ("free", "premium")
