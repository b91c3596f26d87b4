"""The flag limit (core/evaluation.py, `max_flags`): flag keys come from the server, so the
monitor keeps values for at most that many; the events of further flags are counted."""

from __future__ import annotations

from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

from togul_monitor.core.batch_flags import _event_by_event, _in_c
from togul_monitor.core.evaluation import Evaluations
from togul_monitor.core.updates import MonitorUpdate, ValueUpdated
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


def reference_on_events(e: Evaluations, events: list[FlagEvent]) -> None:
    """The rule, event by event, as the monitor applied it before batches were read in C
    (core/batch_flags.py): the reference the batch reading must match, side effects and all."""
    latest: dict[str, str | None] = {}
    values = e.values.mapping
    room = e.max_flags - len(values)
    for event in events:
        if event.flag_key not in values and event.flag_key not in latest:
            if room <= 0:
                e.unmonitored_events += 1
                continue
            room -= 1
        if event.type == "flag.deleted":
            latest.pop(event.flag_key, None)
            if e._reevaluator is not None:
                e._reevaluator.cancel(event.flag_key)
            e._apply_deleted(event.flag_key, event.event_id)
        else:
            latest[event.flag_key] = event.event_id
    for key, event_id in latest.items():
        current = values.get(key)
        if current is None or not current.stale:
            changed = e.values.mark_stale(key)
            if changed is not None:
                e._publish(ValueUpdated(changed))
        if e._reevaluator is not None:
            e._reevaluator.request(key, event_id, event=True, new=current is None)


class Calls:
    """Stands in for the re-evaluator: what was asked of it, in order."""

    def __init__(self, log: list[object]) -> None:
        self.log = log

    def request(self, key: str, trigger: str | None, *, event: bool, new: bool) -> None:
        self.log.append(("request", key, trigger, event, new))

    def cancel(self, key: str) -> None:
        self.log.append(("cancel", key))


@settings(max_examples=300)
@given(
    st.lists(
        st.lists(
            st.tuples(
                st.sampled_from(["a", "b", "c", "d", "e", "f"]),
                st.sampled_from(["flag.updated", "flag.created", "flag.deleted"]),
                st.one_of(st.none(), st.sampled_from(["1", "2", "3"])),
            ),
            max_size=12,
        ),
        max_size=4,
    ),
    st.integers(1, 6),
    st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.booleans(), max_size=4),
)
def test_batches_do_what_the_rule_event_by_event_did(
    batches: list[list[tuple[str, str, str | None]]], max_flags: int, known: dict[str, bool]
) -> None:
    logs: list[list[object]] = [[], []]
    monitors = []
    for log in logs:
        e = Evaluations(log.append, lambda: 0.0, watched=(), retry_delay=0, max_flags=max_flags)
        e.seed({k: LastValue(k, ON, 0.0, deleted) for k, deleted in known.items()}, [])
        e._reevaluator = Calls(log)  # type: ignore[assignment]
        monitors.append(e)
    new, reference = monitors
    for batch in batches:
        events = [FlagEvent(t, key, "env", 1, 0.0, event_id, 0.0) for key, t, event_id in batch]
        new.on_events(events)
        reference_on_events(reference, events)
    assert logs[0] == logs[1]  # publications, cancels and requests, in the same order
    assert list(new.values.mapping.items()) == list(reference.values.mapping.items())
    assert new.unmonitored_events == reference.unmonitored_events
