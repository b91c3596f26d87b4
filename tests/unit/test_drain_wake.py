"""The drain buffer's wake (core/updates.py): the reader is told when updates wait in a buffer
that was empty, once per drain, and no update is ever left waiting without a wake."""

from __future__ import annotations

import threading

from togul_monitor.core.updates import UpdateHub
from togul_monitor.domain.events import FlagEvent, Heartbeat


def ev(i: int) -> FlagEvent:
    return FlagEvent("flag.updated", f"f{i % 3}", "env", i, float(i), str(i), float(i))


def test_the_wake_fires_once_when_the_buffer_fills_and_again_only_after_a_drain() -> None:
    wakes: list[int] = []
    hub = UpdateHub(max_pending=100)
    hub.enable_drain(lambda: wakes.append(len(hub._buffer)))
    hub.commit()  # nothing staged: nothing to say
    assert wakes == []
    hub.publish(ev(1))
    hub.commit()
    assert wakes == [1]  # empty -> not empty: one wake, after the buffer holds the update
    for i in range(2, 5):
        hub.publish(ev(i))
        hub.commit()
    assert wakes == [1]  # not drained yet: the reader was already told
    assert [u.version for u in hub.drain()] == [1, 2, 3, 4]  # type: ignore[union-attr]
    hub.commit()
    assert wakes == [1]
    hub.publish(ev(5))
    hub.commit()
    assert wakes == [1, 1]  # drained, then filled again: told again


def test_a_full_buffer_that_only_dropped_still_wakes_once() -> None:
    wakes: list[None] = []
    hub = UpdateHub(max_pending=0)
    hub.enable_drain(lambda: wakes.append(None))
    hub.publish(ev(1))
    hub.commit()  # nothing fits, the loss is counted: the reader must still hear of it
    hub.publish(ev(2))
    hub.commit()
    assert len(wakes) == 1
    assert hub.drain()[-1].updates == 2  # type: ignore[union-attr]


def test_a_wake_given_late_fires_at_once_for_updates_already_waiting() -> None:
    hub = UpdateHub(max_pending=10)
    hub.enable_drain()
    hub.publish(ev(1))
    hub.commit()  # no reader's wake yet
    wakes: list[None] = []
    hub.enable_drain(lambda: wakes.append(None))
    assert wakes == [None]  # the update would otherwise wait for the next commit's wake


def test_commit_and_drain_hammered_from_two_threads_leave_no_update_without_a_wake() -> None:
    """The loop commits as fast as it can; the reader drains only when woken, forgetting the
    wake before it drains (as the TUI's pacer does). Every update is drained, and whenever the
    reader has no wake pending, the buffer is empty: nothing waits for a wake that was lost
    (it would wait forever here, the test's reader never polls)."""
    total, per_commit = 60_000, 3
    hub = UpdateHub(max_pending=10 * total)
    woken = threading.Event()
    hub.enable_drain(woken.set)
    got: list[int] = []
    stranded: list[int] = []
    done = threading.Event()

    def loop() -> None:
        for start in range(0, total, per_commit):
            for i in range(start, start + per_commit):
                hub.publish(ev(i))
            hub.commit()
        done.set()

    def reader() -> None:
        while len(got) < total:
            if not woken.wait(timeout=10):  # a lost wake: updates wait with nobody told
                with hub._lock:
                    stranded.append(len(hub._buffer))
                return
            woken.clear()  # before the drain: a commit after it wakes the reader again
            got.extend(u.version for u in hub.drain())  # type: ignore[union-attr]
            if done.is_set() and not woken.is_set():
                with hub._lock:  # no wake pending: then nothing may be waiting either
                    if hub._buffer:
                        stranded.append(len(hub._buffer))
                        return

    threads = [threading.Thread(target=loop), threading.Thread(target=reader)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert stranded == []
    assert got == list(range(total))  # every update, once, in order


def test_forgetting_the_wake_after_the_drain_would_strand_updates() -> None:
    """The order the reader must keep, shown deterministically: a commit between a drain and
    a late `clear()` wakes into a flag that is then cleared, and its update waits unseen."""
    hub = UpdateHub(max_pending=10)
    woken = threading.Event()
    hub.enable_drain(woken.set)
    hub.publish(ev(1))
    hub.commit()
    assert woken.is_set()
    assert len(hub.drain()) == 1
    hub.publish(ev(2))
    hub.commit()  # the loop commits right after the swap: the buffer was empty, it wakes
    woken.clear()  # the wrong order: forgotten after the drain
    assert not woken.is_set() and len(hub._buffer) == 1  # stranded: no wake will come
    # The right order (clear, then drain) keeps it: the wake stands for what the drain missed.
    woken.set()
    woken.clear()
    assert len(hub.drain()) == 1
    hub.publish(ev(3))
    hub.commit()
    assert woken.is_set()


def test_a_heartbeat_neither_wakes_the_reader_nor_waits_in_the_buffer() -> None:
    wakes: list[None] = []
    hub = UpdateHub(max_pending=100)
    hub.enable_drain(lambda: wakes.append(None))
    stream = hub.subscribe(ended=False)  # an update stream still gets it
    hub.publish(Heartbeat(1.0))
    hub.commit()
    assert wakes == [] and hub.drain() == []
    assert len(stream._queue) == 1
