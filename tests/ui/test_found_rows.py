"""A value change found by a re-evaluation of its own (no event explains it) is a row of the feed:
the view's own, not the log's, placed where it came among the log's rows and filtered by its flag."""

from __future__ import annotations

import time
from typing import Any

import pytest

from togul_monitor.domain.event_log import EventLog
from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.filters import parse_filter
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.ui.screens.event_detail import marker_detail
from togul_monitor.ui.view.feed_expanded import full_text
from togul_monitor.ui.view.feed_layout import row_text
from togul_monitor.ui.view.feed_predicate import FeedPredicate
from togul_monitor.ui.view.feed_store import FeedStore
from togul_monitor.ui.view.found import FOUND_TOGETHER, FoundChange, row_parts

ENV = "env-1"
OFF = Evaluation(False, "boolean", "default", True)
ON = Evaluation(True, "boolean", "default", True)


def event(i: int, key: str = "other") -> FlagEvent:
    return FlagEvent("flag.updated", key, ENV, i, float(i), str(i), float(i))


def found(at: float, key: str = "beta-search", context: str = "default") -> ValueTransition:
    return ValueTransition(key, OFF, ON, None, at, context, includes_unseen=True)


class Feed:
    """A store fed as the monitor feeds it: each row into the log, then through the drain."""

    def __init__(self) -> None:
        self.log = EventLog(1_000)
        self.store = FeedStore(view_size=100, source=self.log)
        self.store.answers.environment_id = ENV

    def add(self, row: FlagEvent | Outage) -> None:
        self.log.append(row)
        self.store.add_row(row)


def shown(store: FeedStore) -> list[str]:
    return [
        row.flag_key if isinstance(row, FoundChange) else str(row.version) for row in store.view
    ]  # type: ignore[union-attr]


def balanced(store: FeedStore) -> bool:
    return store.received == store.shown + store.pending_events + store.trimmed + store.filtered


def test_a_change_no_event_explains_is_a_row_saying_what_was_found() -> None:
    feed = Feed()
    feed.add(event(1))
    feed.store.add_transition(found(5.0))
    (row,) = [row for row in feed.store.view if isinstance(row, FoundChange)]
    assert row.received_at == 5.0  # when it was found
    line = row_text(
        row, 100, time_mode="utc", now=10.0, environment_names={ENV: "production"}, store=feed.store
    ).plain
    assert "re-evaluated beta-search" in line and "false → true +unseen" in line
    assert line.endswith("· found, no event of its own")
    assert row.text == "beta-search: false → true +unseen, found on re-evaluation"
    whole = full_text(row, {ENV: "production"}, feed.store).plain
    assert "beta-search · production: false → true +unseen · found on re-evaluation" in whole
    detail = marker_detail(row, "utc").plain
    assert "before true" not in detail and "after  true" in detail
    assert "may include changes the stream did not show" in detail
    # Not a row of the log: the view still numbers the log's rows as the log does.
    assert feed.store.position == feed.log.end == 1
    assert feed.store.received == 1 and feed.store.shown == 1 and balanced(feed.store)


def test_the_filter_keeps_it_by_its_flag_as_it_keeps_the_flags_events() -> None:
    feed = Feed()
    feed.add(event(1, "beta-search"))
    feed.add(event(2))
    feed.store.add_transition(found(3.0))
    feed.add(event(4))
    assert shown(feed.store) == ["1", "2", "beta-search", "4"]
    feed.store.refilter(FeedPredicate(parse_filter("flag:other")))
    assert shown(feed.store) == ["2", "4"]
    feed.store.refilter(FeedPredicate(parse_filter("type:flag.updated")))  # it has no type
    assert shown(feed.store) == ["1", "2", "4"]
    feed.store.refilter(FeedPredicate(parse_filter("flag:beta-* env:env-1 !type:rule.*")))
    assert shown(feed.store) == ["1", "beta-search"]
    feed.store.refilter(FeedPredicate())  # back where it came, among the log's rows
    assert shown(feed.store) == ["1", "2", "beta-search", "4"] and balanced(feed.store)
    # A filter in force when it comes applies to it.
    feed.store.refilter(FeedPredicate(parse_filter("other")))
    feed.store.add_transition(found(5.0))
    assert shown(feed.store) == ["2", "4"]


def test_before_the_environment_id_is_known_env_matches_the_profiles_key() -> None:
    feed = Feed()
    feed.store.answers.reset(evaluates=True, environment_key="production")  # no id yet
    feed.store.refilter(FeedPredicate(parse_filter("env:prod")))
    feed.store.add_transition(found(1.0))  # added live, while the filter is in force
    assert shown(feed.store) == ["beta-search"]
    for hides in ("env:staging", "!env:production"):
        feed.store.refilter(FeedPredicate(parse_filter(hides)))
        assert shown(feed.store) == [], hides
    # Once the id is known, the filter matches it through the id → key map, as event rows.
    feed.store.answers.environment_id = ENV
    feed.store.refilter(
        FeedPredicate(parse_filter("env:prod"), environment_names={ENV: "production"})
    )
    assert shown(feed.store) == ["beta-search"]


def test_a_worker_refilter_places_one_found_while_it_ran() -> None:
    feed = Feed()
    feed.add(event(1))
    rows, upto, clears = feed.store.refilter_input()
    result = FeedStore.compute_refilter(rows, FeedPredicate(), upto)
    result.clears = clears
    feed.add(event(2))  # while the worker ran
    feed.store.add_transition(found(3.0))
    feed.add(event(4))
    feed.store.apply_refilter(result)
    assert shown(feed.store) == ["1", "2", "beta-search", "4"] and balanced(feed.store)


def test_contexts_finding_it_together_read_as_one_row() -> None:
    feed = Feed()
    feed.store.answers.contexts = ("premium", "free")
    feed.add(event(1))
    feed.store.add_transition(found(5.0, context="free"))
    feed.add(event(2))  # another flag's event between the answers
    feed.store.add_transition(found(5.5, context="premium"))
    (row,) = [row for row in feed.store.view if isinstance(row, FoundChange)]
    assert [t.context for t in row.transitions] == ["premium", "free"]  # the profile's order
    assert row.text == (
        "beta-search: [premium] false → true +unseen; [free] false → true +unseen, "
        "found on re-evaluation"
    )
    # Found again after an event of the flag, an outage, or much later: another row.
    feed.add(event(6, "beta-search"))
    feed.store.add_transition(found(7.0, context="free"))
    feed.add(Outage(8.0, 9.0, None, True, 9.0))
    feed.store.add_transition(found(9.5, context="premium"))
    feed.store.add_transition(found(9.5 + FOUND_TOGETHER + 1, context="free"))
    rows = [row for row in feed.store.view if isinstance(row, FoundChange)]
    assert [len(row.transitions) for row in rows] == [2, 1, 1, 1]


def price(at: float, context: str, before: int, after: int, reason: str) -> ValueTransition:
    was, now = (
        Evaluation(before, "number", "default", True),
        Evaluation(after, "number", reason, True),
    )
    return ValueTransition("price", was, now, None, at, context)


def short(row: FoundChange) -> str:
    return "".join(part.text for part in row_parts(row)[1])


def test_it_names_and_counts_contexts_as_an_events_row_does() -> None:
    feed = Feed()
    feed.store.answers.contexts = ("default", "free", "eu")
    feed.store.add_transition(price(1.0, "default", 30, 15, "rule_match"))
    feed.store.add_transition(price(1.5, "free", 30, 30, "rule_match"))  # its reason only
    (row,) = [row for row in feed.store.view if isinstance(row, FoundChange)]
    # A context called `default` in brackets: it does not read as the flag's default value.
    assert row.text.startswith("price: [default] 30 → 15; [free] 30 (default → rule_match)")
    # The context left out changed only its reason: `more`, not `changed` (view/contexts.py).
    assert short(row) == "[default] 30 → 15 +1 more"
    other = Feed()
    other.store.answers.contexts = ("default", "eu")
    other.store.add_transition(price(1.0, "default", 30, 15, "rule_match"))
    other.store.add_transition(price(1.5, "eu", 30, 20, "rule_match"))
    (row,) = [row for row in other.store.view if isinstance(row, FoundChange)]
    assert short(row) == "[default] 30 → 15 +1 changed"


def test_paused_it_waits_with_the_rows_and_a_clear_drops_it() -> None:
    feed = Feed()
    feed.store.set_paused(True)
    feed.store.add_transition(found(1.0))
    assert not feed.store.view and len(feed.store.pending) == 1
    feed.store.set_paused(False)
    assert shown(feed.store) == ["beta-search"]
    feed.store.clear()
    feed.store.refilter(FeedPredicate())
    assert shown(feed.store) == []


def test_a_change_of_an_event_is_still_that_events_not_a_row() -> None:
    feed = Feed()
    feed.add(event(1, "beta-search"))
    tied = ValueTransition("beta-search", OFF, ON, "1", 2.0)
    feed.store.add_transition(tied)
    assert shown(feed.store) == ["1"]
    assert feed.store.transitions_for(feed.store.view[0]) == (tied,)  # type: ignore[arg-type]


async def test_the_tui_opens_on_recorded_found_changes_without_refiltering_the_view(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The changes an earlier run found come back among the rows it recorded, placed as the
    start shows those rows: no refilter of the whole view (up to 10,000 rows, on the UI
    thread, which held the TUI still at start) and no second read of the log."""
    from togul_monitor.config.profiles import Profile
    from togul_monitor.core import Monitor
    from togul_monitor.store.files import journal_path
    from togul_monitor.store.journal import Journal
    from togul_monitor.ui.screens.main import MainScreen

    from .helpers import feed_lines, make_app, wait_for

    t = time.time() - 600  # within the journal's retention
    journal = Journal.open(journal_path("p"))
    journal.append_events([FlagEvent("flag.updated", "a", ENV, 1, 1, "1", t)])
    journal.append_transition(found(t + 20, "checkout"))  # its event was lost in an outage
    journal.append_events([FlagEvent("flag.updated", "b", ENV, 2, 2, "2", t + 30)])
    journal.close()
    monkeypatch.setattr(Monitor, "_start_stream", lambda self: None)  # no server: no stream
    at_start: list[tuple[int, int]] = []  # (refilters, log reads) while the monitor started
    counts = [0, 0]
    compute, rows_until = FeedStore.compute_refilter, FeedStore._rows_until

    def counted_compute(*args: Any, **kwargs: Any) -> Any:
        counts[0] += 1
        return compute(*args, **kwargs)

    def counted_rows_until(self: FeedStore, since: int, upto: int) -> Any:
        counts[1] += 1
        return rows_until(self, since, upto)

    def started(self: MainScreen, *args: Any, **kwargs: Any) -> None:
        counts[:] = [0, 0]
        started_monitor(self, *args, **kwargs)
        at_start.append((counts[0], counts[1]))

    started_monitor = MainScreen.monitor_started
    monkeypatch.setattr(FeedStore, "compute_refilter", staticmethod(counted_compute))
    monkeypatch.setattr(FeedStore, "_rows_until", counted_rows_until)
    monkeypatch.setattr(MainScreen, "monitor_started", started)
    app = make_app(Profile("p", "http://127.0.0.1:9", "", api_key="k"))
    async with app.run_test(size=(140, 30)) as pilot:
        store = app.main.store
        await wait_for(pilot, lambda: store.recorded == 3, what="the recorded rows")
        first = list(store.view)[:3]  # among them, where it was found
        assert [getattr(row, "flag_key", None) for row in first] == ["a", "checkout", "b"]
        assert "re-evaluated checkout" in feed_lines(app)[1]
        assert sum(isinstance(row, FoundChange) for row in store.view) == 1  # shown once
    assert at_start == [(0, 1)]


def test_a_found_row_shown_before_a_pause_stays_in_the_paused_view_through_a_refilter() -> None:
    feed = Feed()
    feed.add(event(1))
    feed.store.add_transition(found(2.0))  # shown: it came before the pause
    feed.store.set_paused(True)
    feed.store.add_transition(found(3.0, key="checkout"))  # after it: held
    feed.store.refilter(FeedPredicate())
    assert shown(feed.store) == ["1", "beta-search"]
    assert [row.flag_key for row in feed.store.pending] == ["checkout"]  # type: ignore[union-attr]
    assert balanced(feed.store)
