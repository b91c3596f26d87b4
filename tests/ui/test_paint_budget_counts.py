"""What a paint's row budget leaves out is still counted right: paused rows are all kept, an
event left out still waits for its answer."""

from __future__ import annotations

import collections
from types import SimpleNamespace

from togul_monitor.domain.events import FlagEvent
from togul_monitor.ui.view.batch import take_batch
from togul_monitor.ui.view.feed_store import FeedStore


def test_paused_rows_are_all_kept_and_a_left_out_row_still_waits_for_its_answer() -> None:
    def event(i: int, key: str) -> FlagEvent:
        return FlagEvent("flag.updated", key, "env", i, float(i), None, float(i))

    def take(store: FeedStore, updates: list[object]) -> None:
        take_batch(
            updates, store, environment_names={}, selected=None, watched=set(), row_budget=400
        )

    # Paused, rows wait in `pending` and cost no paint: the budget is the view's, not theirs.
    store = FeedStore(view_size=5_000)
    store.set_paused(True)
    take(store, [event(i, f"k{i}") for i in range(1_000)])
    assert store.pending_events == 1_000 and store.trimmed == 0
    # Left out under the budget, an event of a flag still waits for its answer: the value that
    # comes answers it, and the older shown row of the flag stays "with the next event".
    store = FeedStore(view_size=5_000)
    first, second = event(0, "f"), event(1, "f")
    take(store, [first])
    take(store, [second, *(event(i, f"k{i}") for i in range(2, 500))])
    assert store.skipped >= 1 and second not in store.view
    assert store.answers.waiting(first) and store.answers.waiting(second)


def test_the_status_bar_says_how_many_rows_a_burst_left_unpainted() -> None:
    from togul_monitor.config.profiles import Profile
    from togul_monitor.domain.events import ConnectionState, Status
    from togul_monitor.ui.view.status import status_info

    store = FeedStore(view_size=5_000)
    take_batch(
        [FlagEvent("flag.updated", f"k{i}", "env", i, float(i), None, float(i)) for i in range(900)],
        store, environment_names={}, selected=None, watched=set(), row_budget=400,
    )  # fmt: skip
    profile = Profile(name="p", base_url="http://x", environment_key="production")
    info = status_info(
        profile=profile, status=Status(ConnectionState.LIVE, 0.0), switching=False, store=store,
        snapshot=None, now=0.0,
    )  # fmt: skip
    assert info.notes[0].text.startswith("500 events of a burst not painted")


def test_a_queued_key_is_seen_waiting_and_a_mouse_move_is_not() -> None:
    # The paint steps aside for input by peeking at Textual's message queue (private): this
    # fails, rather than the peek silently finding nothing, if Textual renames it.
    from textual import events
    from textual.app import App

    from togul_monitor.ui.screens.main_support import input_waiting

    queue = App()._message_queue  # a real app's queue, under the name the peek reads
    assert isinstance(getattr(queue, "values", None), collections.deque)
    app = SimpleNamespace(_message_queue=queue, screen_stack=[], focused=None)
    assert not input_waiting(app)  # type: ignore[arg-type]
    queue.put_nowait(events.MouseMove(None, 1, 1, 0, 0, 0, False, False, False))
    assert not input_waiting(app)  # type: ignore[arg-type]
    queue.put_nowait(events.Key("t", "t"))
    assert input_waiting(app)  # type: ignore[arg-type]
