"""The status bar's events/s: the last complete second, never the one still counting."""

from __future__ import annotations

from togul_monitor.domain.rates import RateWindow


def test_a_steady_rate_reads_the_same_at_any_moment_of_the_second() -> None:
    window = RateWindow(60)
    for second in range(100, 110):  # 50 events in every second, spread over it
        for tenth in range(50):
            window.add(second + tenth / 50)
    # Read just after a second starts (one event in the new second), in the middle, at its end:
    # always 50, the last complete second, never the few events of the second still counting.
    window.add(110.0)
    for now in (110.0, 110.01, 110.5, 110.99):
        buckets = window.buckets(now)
        assert len(buckets) == 60
        assert buckets[-1] == 50
        assert buckets[-10:] == (50,) * 10
        assert buckets[-11] == 0


def test_the_current_second_shows_once_it_is_complete() -> None:
    window = RateWindow(60)
    window.add(200.2, 3)
    window.add(200.7, 4)
    assert window.buckets(200.9)[-1] == 0  # still counting
    assert window.buckets(201.0)[-1] == 7
    assert window.buckets(202.0)[-2:] == (7, 0)  # a quiet second after it reads 0
    assert window.buckets(260.5)[0] == 7  # the window's oldest second
    assert sum(window.buckets(261.0)) == 0  # and then out of it
