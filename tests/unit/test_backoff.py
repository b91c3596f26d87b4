"""The reconnect delay policy, with an injected random source."""

from __future__ import annotations

import pytest

from togul_monitor.client.backoff import Backoff


def delays(backoff: Backoff, n: int) -> list[float]:
    return [backoff.next_delay() for _ in range(n)]


def test_doubles_from_one_second_up_to_thirty_without_jitter() -> None:
    assert delays(Backoff(random=lambda: 0.0), 8) == [1, 2, 4, 8, 16, 30, 30, 30]


def test_jitter_subtracts_up_to_half() -> None:
    assert delays(Backoff(random=lambda: 1.0), 6) == [0.5, 1, 2, 4, 8, 15]
    assert delays(Backoff(random=lambda: 0.5), 3) == [0.75, 1.5, 3]


def test_a_connection_that_delivered_events_resets_the_delay() -> None:
    # Before: only 60 s of connection forgave the failures, so a server that ends every stream
    # after 20 s drove the delay to the cap although each connection worked.
    backoff = Backoff(random=lambda: 0.0)
    delays(backoff, 6)
    backoff.connection_ended(lived=0.2, delivered=1)
    assert backoff.next_delay() == 1


def test_a_connection_that_lived_a_few_seconds_resets_the_delay() -> None:
    backoff = Backoff(random=lambda: 0.0)
    delays(backoff, 4)
    backoff.connection_ended(lived=4.9, delivered=0)
    assert backoff.next_delay() == 16  # short and empty: still a failure
    backoff.connection_ended(lived=5.0, delivered=0)
    assert backoff.next_delay() == 1


def test_jitter_stays_after_a_reset() -> None:
    backoff = Backoff(random=lambda: 1.0)
    delays(backoff, 5)
    backoff.connection_ended(lived=30.0, delivered=3)
    assert backoff.next_delay() == 0.5


def test_a_server_that_drops_every_connection_at_once_still_backs_off() -> None:
    backoff = Backoff(random=lambda: 0.0)
    got = []
    for _ in range(6):
        got.append(backoff.next_delay())
        backoff.connection_ended(lived=0.01, delivered=0)
    assert got == [1, 2, 4, 8, 16, 30]


def test_server_retry_sets_the_base_clamped() -> None:
    backoff = Backoff(random=lambda: 0.0)
    backoff.set_server_retry(3000)
    assert delays(backoff, 5) == [3, 6, 12, 24, 30]
    backoff = Backoff(random=lambda: 0.0)
    backoff.set_server_retry(10)
    assert backoff.next_delay() == 0.5
    backoff = Backoff(random=lambda: 0.0)
    backoff.set_server_retry(99_999_999_999)
    assert delays(backoff, 2) == [300, 300]  # cap = max(30 s, base)


@pytest.mark.parametrize(("retry_after", "expected"), [(2.0, 2.0), (0.1, 1.0), (10_000, 300)])
def test_retry_after_is_a_floor(retry_after: float, expected: float) -> None:
    assert Backoff(random=lambda: 0.0).next_delay(retry_after=retry_after) == expected


def test_many_failures_do_not_overflow() -> None:
    assert delays(Backoff(random=lambda: 0.0), 2000)[-1] == 30
