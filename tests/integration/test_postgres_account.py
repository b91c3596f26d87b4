"""Two recorders of one profile on one PostgreSQL journal (the redundancy docs/journal.md
describes) keep one account of each flag's values per context: each value change starts from
the journal's last value of it, a change the other recorder journalled already is not written
again, an answer older than the journal's last change of its flag is not written after it, and
no event is said both to have changed the value itself and to have been evaluated with the next
change (docs/journal.md, "One account of each value").

Deterministic: each recorder's answers are appended as `core/evaluation.py` appends them (the
merged answer first, then the change) and committed before the other's, in the orders two
recorders' batches can take. Skipped without TOGUL_TEST_POSTGRES_URL (tests/journal_backends.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.journal_backends import postgres_url, scratch_profile
from togul_monitor.domain.change_owners import ChangeOwners
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.merged import MergedAnswer, merged_events
from togul_monitor.domain.values import Evaluation, ValueTransition
from togul_monitor.store.journal import Journal, open_journal_at, open_reader_at

ON = Evaluation(True, "boolean", "rule_match", True)
OFF = Evaluation(False, "boolean", "default", True)
ODD = Evaluation(False, "boolean", "disabled", False)
FLAG, ENV, CONTEXT = "checkout-v2", "env-p", "default"


@pytest.fixture
def url() -> str:
    return postgres_url()


@pytest.fixture
def profile(url: str) -> Iterator[str]:
    with scratch_profile(url) as name:
        yield name


def event(version: int, received: float, ids: bool = True) -> FlagEvent:
    event_id = str(50_000 + version) if ids else None
    return FlagEvent("flag.updated", FLAG, ENV, version, received, event_id, received)


def change(before: Evaluation, after: Evaluation, of: FlagEvent, at: float) -> ValueTransition:
    return ValueTransition(FLAG, before, after, of.event_id, at, CONTEXT)


def merged(first: FlagEvent, answered: FlagEvent, at: float) -> MergedAnswer:
    since = first.received_at - 0.001
    return MergedAnswer(
        FLAG, ENV, CONTEXT, since, first.version, answered.version, answered.received_at, at
    )


def commit(journal: Journal, *rows: object) -> None:
    """`rows` appended in order and committed: one recorder's batch. A change is followed by
    its last value, as core/evaluation.py appends them."""
    for row in rows:
        if isinstance(row, ValueTransition):
            journal.append_transition(row)
            journal.set_last_value(FLAG, row.after, row.at, context=CONTEXT)
        elif isinstance(row, MergedAnswer):
            journal.append_merged_answer(row)
        else:
            assert isinstance(row, FlagEvent)
            journal.append_event(row)
    assert journal.flush(timeout=20)
    assert (journal.dropped, journal.write_error) == (0, None)


def recorders(url: str, profile: str, t: float) -> tuple[Journal, Journal]:
    """Two recorders of `profile`, the flag's value on (journalled at their start) before `t`."""
    a, b = open_journal_at(profile, url), open_journal_at(profile, url)
    a.set_last_value(FLAG, ON, t - 10, context=CONTEXT)
    assert a.flush(timeout=20)
    return a, b


def account(url: str, profile: str) -> tuple[list[ValueTransition], set[int], dict[int, int]]:
    """What `history` and `export` read: the changes in journal order, the versions said to
    have been evaluated with the next change, and how many changes each version owns."""
    reader = open_reader_at(profile, url)
    try:
        events = list(reader.iter_events())
        changes = list(reader.iter_transitions())
        answers = reader.merged_answers(None, 0.0, 1000)
    finally:
        reader.close()
    owners = ChangeOwners(ENV)
    for e in sorted(events, key=lambda e: e.received_at):
        owners.add(e)
    owned: dict[int, int] = {}
    for t in changes:
        owner = owners.owner(t)
        if owner is not None:
            owned[owner.version] = owned.get(owner.version, 0) + 1
    return changes, {e.version for e in merged_events(events, answers)}, owned


def assert_one_account(changes: list[ValueTransition], claimed: set[int], owned: dict[int, int]):
    for earlier, later in zip(changes, changes[1:], strict=False):
        assert later.before == earlier.after, f"{later} does not follow {earlier}"
    assert not claimed & set(owned), "an event both changed the value and was merged"


@pytest.mark.parametrize("first_writer", ["alone", "merged"])
def test_two_recorders_that_answered_a_burst_differently_keep_one_account(
    url: str, profile: str, first_writer: str
) -> None:
    """The finding's burst: v1 and v2 of one flag. One recorder asked about each alone (v1
    turned the flag off, v2 left it so); the other asked once for both, and says v1 was
    evaluated with the next change. Whichever commits first, the journal tells one of the two
    accounts, not both."""
    t = time.time()
    v1, v2 = event(1, t), event(2, t + 0.1)
    alone = (change(ON, OFF, v1, t + 0.3),)
    together = (merged(v1, v2, t + 0.4), change(ON, OFF, v2, t + 0.4))
    a, b = recorders(url, profile, t)
    try:
        commit(a, v1, v2)
        commit(b, v1, v2)
        if first_writer == "alone":
            commit(a, *alone)
            commit(b, *together)
        else:
            commit(b, *together)
            commit(a, *alone)
    finally:
        a.close(), b.close()
    changes, claimed, owned = account(url, profile)
    assert_one_account(changes, claimed, owned)
    assert [(c.before, c.after) for c in changes] == [(ON, OFF)]
    if first_writer == "alone":
        assert (claimed, owned) == (set(), {1: 1})
    else:
        assert (claimed, owned) == ({1}, {2: 1})


def test_a_merged_answer_journalled_first_keeps_the_other_s_changes_of_its_events_out(
    url: str, profile: str
) -> None:
    """One recorder asked once for v1 and v2 and found the flag on, as before: v1 was evaluated
    with the next change, nothing changed. The other, later, journals v1 on → off and v2 off →
    on: that account of the burst is not mixed into the first one."""
    t = time.time()
    v1, v2 = event(1, t), event(2, t + 0.1)
    a, b = recorders(url, profile, t)
    try:
        commit(b, v1, v2, merged(v1, v2, t + 0.4))
        commit(a, v1, v2, change(ON, OFF, v1, t + 0.3), change(OFF, ON, v2, t + 0.5))
    finally:
        a.close(), b.close()
    changes, claimed, owned = account(url, profile)
    assert (changes, claimed) == ([], {1})


def test_a_change_both_recorders_saw_without_ids_is_journalled_once(url: str, profile: str) -> None:
    """The documented stream sends no ids: the two copies of one change share no key."""
    t = time.time()
    v1 = event(1, t, ids=False)
    a, b = recorders(url, profile, t)
    try:
        commit(a, v1, change(ON, OFF, v1, t + 0.2))
        commit(b, v1, change(ON, OFF, v1, t + 0.25))
    finally:
        a.close(), b.close()
    changes, claimed, owned = account(url, profile)
    assert [(c.before, c.after) for c in changes] == [(ON, OFF)]
    assert owned == {1: 1}


def test_a_lagging_recorder_s_older_answers_do_not_rewind_the_account(
    url: str, profile: str
) -> None:
    """One recorder journalled v1 (on → off) and v2 (off → on); the other's answers of the same
    events come later: its v1 change is older than the journal's last change, and its v2 change
    is one the journal holds."""
    t = time.time()
    v1, v2 = event(1, t, ids=False), event(2, t + 1.0, ids=False)
    a, b = recorders(url, profile, t)
    try:
        commit(a, v1, change(ON, OFF, v1, t + 0.2), v2, change(OFF, ON, v2, t + 1.2))
        commit(b, v1, v2, change(ON, OFF, v1, t + 0.3))
        commit(b, change(OFF, ON, v2, t + 1.3))
    finally:
        a.close(), b.close()
    changes, claimed, owned = account(url, profile)
    assert_one_account(changes, claimed, owned)
    assert [(c.before, c.after) for c in changes] == [(ON, OFF), (OFF, ON)]


def test_a_change_from_another_value_than_the_journal_s_starts_from_the_journal_s(
    url: str, profile: str
) -> None:
    """One recorder journalled v1 (on → off); the other asked once for v1 and v2 and found on →
    disabled: in the journal's account that change starts from off."""
    t = time.time()
    v1, v2 = event(1, t), event(2, t + 0.1)
    a, b = recorders(url, profile, t)
    try:
        commit(a, v1, v2, change(ON, OFF, v1, t + 0.3))
        commit(b, v1, v2, merged(v1, v2, t + 0.4), change(ON, ODD, v2, t + 0.4))
    finally:
        a.close(), b.close()
    changes, claimed, owned = account(url, profile)
    assert_one_account(changes, claimed, owned)
    assert [(c.before, c.after) for c in changes] == [(ON, OFF), (OFF, ODD)]
    assert owned == {1: 1, 2: 1}


@pytest.mark.parametrize("last", [True, False])
def test_a_newer_answer_to_an_event_the_journal_holds_a_change_of_keeps_the_chain(
    url: str, profile: str, last: bool
) -> None:
    """One recorder journalled v1's change (on → off); the other asked about v1 later, once the
    value had moved on (disabled). The event's change is the newest, from its own before, while
    it is the flag's last change; after a later change it is found on re-evaluation."""
    t = time.time()
    v1, v2 = event(1, t), event(2, t + 0.5)
    a, b = recorders(url, profile, t)
    try:
        commit(a, v1, v2, change(ON, OFF, v1, t + 0.2))
        if not last:
            commit(a, change(OFF, ON, v2, t + 0.6))
        commit(b, v1, v2, change(ON, ODD, v1, t + 0.8))
    finally:
        a.close(), b.close()
    changes, claimed, owned = account(url, profile)
    assert_one_account(changes, claimed, owned)
    moves = [(c.before, c.after, c.event_id) for c in changes]
    if last:
        assert moves == [(ON, ODD, v1.event_id)]
    else:
        assert moves == [(ON, OFF, v1.event_id), (OFF, ON, v2.event_id), (ON, ODD, None)]
