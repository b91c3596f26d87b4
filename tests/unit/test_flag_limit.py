"""The flag limit (core/evaluation.py, `max_flags`): flag keys come from the server, so the
monitor keeps values for at most that many; the events of further flags are counted."""

from __future__ import annotations

from unittest.mock import patch

from hypothesis import given
from hypothesis import strategies as st

from togul_monitor.core.batch_flags import _event_by_event, _in_c
from togul_monitor.core.evaluation import Evaluations
from togul_monitor.core.updates import MonitorUpdate
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import Evaluation
from togul_monitor.store.journal import LastValue

ON = Evaluation(True, "boolean", "default", True)


def evaluations(max_flags: int, watched: tuple[str, ...] = ()) -> Evaluations:
    published: list[MonitorUpdate] = []
    return Evaluations(
        published.append, lambda: 0.0, watched=watched, retry_delay=0, max_flags=max_flags
    )


def ev(key: str, type_: str = "flag.updated") -> FlagEvent:
    return FlagEvent(type_, key, "env", 1, 0.0, None, 0.0)


def test_seeding_keeps_watched_flags_then_listed_then_remembered_up_to_the_limit() -> None:
    e = evaluations(3, watched=("w1", "w2"))
    remembered = {k: LastValue(k, ON, 0.0, False) for k in ("w1", "r1", "r2")}
    left_out = e.seed(remembered, ["l1", "l2"])
    assert sorted(e.values.keys()) == ["l1", "w1", "w2"]
    assert e.values.get("w1").current == ON  # type: ignore[union-attr]  # its last value
    assert left_out == 3  # l2, r1, r2


def test_events_of_flags_beyond_the_limit_are_counted_not_kept() -> None:
    e = evaluations(3, watched=("w",))
    e.seed({}, [])
    e.on_events([ev("a"), ev("b"), ev("c"), ev("a"), ev("d", "flag.deleted"), ev("b")])
    assert sorted(e.values.keys()) == ["a", "b", "w"]
    assert e.unmonitored_events == 2  # c, and d's deletion
    e.on_events([ev("a"), ev("e")])  # a known flag still counts as news
    assert e.values.get("a").stale  # type: ignore[union-attr]
    assert e.unmonitored_events == 3
    e.set_watched("x", True)  # what the user watches is monitored beyond the limit
    assert "x" in e.values


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", "d", "e"]),
            st.sampled_from(["flag.updated", "flag.created", "rule.updated", "flag.deleted"]),
            st.one_of(st.none(), st.sampled_from(["1", "2", "3", ""])),
        ),
        max_size=30,
    ),
    st.integers(0, 4),
    st.lists(st.sampled_from(["a", "b", "c"]), max_size=3, unique=True),
)
def test_a_batch_read_in_c_gives_what_event_by_event_gives(
    batch: list[tuple[str, str, str | None]], room: int, known: list[str]
) -> None:
    events = [FlagEvent(type_, key, "env", 1, 0.0, event_id, 0.0) for key, type_, event_id in batch]
    in_c = _in_c(events, set(known), room)
    by_event = _event_by_event(events, set(known), room)
    if in_c is None:  # only a deletion or too many new flags leave it to the slow path
        deletes = any(event.type == "flag.deleted" for event in events)
        new = {event.flag_key for event in events} - set(known)
        assert deletes or len(new) > room
    else:  # the same ids in the same order
        assert list(in_c.latest.items()) == list(by_event.latest.items())
        assert in_c == by_event
    # The monitor's values end the same either way.
    fast, slow = (evaluations(room + len(known)) for _ in range(2))
    for e in (fast, slow):
        e.seed({k: LastValue(k, ON, 0.0, False) for k in known}, [])
    fast.on_events(events)
    with patch("togul_monitor.core.batch_flags._in_c", return_value=None):
        slow.on_events(events)
    assert fast.values.mapping == slow.values.mapping
    assert fast.unmonitored_events == slow.unmonitored_events


def test_a_flag_deleted_and_made_again_in_one_batch_takes_one_place() -> None:
    e = evaluations(2)
    e.seed({}, [])
    e.on_events([ev("a", "flag.deleted"), ev("a", "flag.created"), ev("b"), ev("c")])
    assert sorted(e.values.keys()) == ["a", "b"]
    assert e.values.get("a").stale  # type: ignore[union-attr]  # made again: evaluated
    assert e.unmonitored_events == 1  # c
